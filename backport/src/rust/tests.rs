//! The Rust API against a real interpreter (`embed::run`), one test per
//! code path of the callback protocol.

use super::*;
use pyo3_ffi::*;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

mod async_with;

const HELPERS: &str = r#"
import types

async def value(x):
    return x

async def fail(exc):
    raise exc

@types.coroutine
def suspend(x):
    yield x
    return x

class Stop(Exception):
    pass
"#;

/// Runs a test body with the helpers defined in `__main__`.
fn with_python(f: impl for<'py> FnOnce(Attached<'py>)) {
    embed::run(|a| {
        embed::exec(a, HELPERS).unwrap();
        f(a)
    })
}

fn eval<'py>(a: Attached<'py>, expr: &str) -> Object<'py> {
    embed::eval(a, expr).unwrap_or_else(|e| panic!("{expr}: {}", e.message(a)))
}

fn int(o: &Object<'_>) -> i64 {
    let v = unsafe { PyLong_AsLong(o.as_ptr()) };
    assert!(v != -1 || unsafe { PyErr_Occurred() }.is_null());
    v as i64
}

fn int_obj(a: Attached<'_>, v: i64) -> Object<'_> {
    unsafe { Object::from_owned_ptr(a, PyLong_FromLongLong(v)) }.unwrap()
}

fn run<'py>(aw: &Awaitable<'py>) -> Result<Object<'py>, Error> {
    embed::drive(aw.as_object())
}

/// The type name and message of a failed run.
fn failure(a: Attached<'_>, result: Result<Object<'_>, Error>) -> String {
    match result {
        Ok(v) => panic!("expected an exception, got {v:?}"),
        Err(e) => e.message(a),
    }
}

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

fn entries(log: &Log) -> Vec<String> {
    log.borrow().clone()
}

#[test]
fn result_closure_sets_the_result() {
    with_python(|a| {
        let aw = Awaitable::new(a).unwrap();
        aw.await_(&eval(a, "value(20)"), |aw, v| {
            aw.set_result(&int_obj(aw.attached(), 2 * int(&v) + 2))
        })
        .unwrap();
        assert_eq!(int(&run(&aw).unwrap()), 42);
    });
}

#[test]
fn the_awaitable_is_the_runtimes() {
    with_python(|a| {
        let aw = Awaitable::new(a).unwrap();
        let runtime_type = eval(
            a,
            "__import__('pyawaitable_backport._runtime').\
                                    _runtime.awaitable",
        );
        assert_eq!(
            unsafe { Py_TYPE(aw.as_ptr()) }.cast::<PyObject>(),
            runtime_type.as_ptr()
        );
        aw.cancel();
    });
}

#[test]
fn captured_state_and_chained_awaits_across_suspensions() {
    with_python(|a| {
        let seen = log();
        let aw = Awaitable::new(a).unwrap();
        let second = eval(a, "suspend(2)").unwrap_or_owned();
        let (s1, s2) = (seen.clone(), seen.clone());
        aw.await_(&eval(a, "suspend(1)"), move |aw, v| {
            s1.borrow_mut().push(format!("first {v:?}"));
            // An Object<'py> cannot outlive the callback; Owned can.
            let v = v.unbind();
            aw.await_(&second.bind(aw.attached()), move |aw, w| {
                s2.borrow_mut().push(format!("second {w:?}"));
                let v = v.bind(aw.attached());
                aw.set_result(&int_obj(aw.attached(), int(&v) * 10 + int(&w)))
            })
        })
        .unwrap();
        assert_eq!(int(&run(&aw).unwrap()), 12);
        assert_eq!(entries(&seen), ["first 1", "second 2"]);
    });
}

/// `Object::unbind` spelled for the tests.
trait UnwrapOrOwned {
    fn unwrap_or_owned(self) -> Owned;
}
impl UnwrapOrOwned for Object<'_> {
    fn unwrap_or_owned(self) -> Owned {
        self.unbind()
    }
}

#[test]
fn captureless_closures_take_the_direct_path() {
    with_python(|a| {
        let aw = Awaitable::new(a).unwrap();
        aw.await_with_error(
            &eval(a, "fail(Stop('x'))"),
            |_, _| unreachable!(),
            |aw, exc| {
                assert!(exc.is_instance(aw.attached(), &eval(aw.attached(), "Stop")));
                aw.set_result(&int_obj(aw.attached(), 7))
            },
        )
        .unwrap();
        // No child awaitable: the parent's own queue holds the coroutine.
        let referents = eval(a, "__import__('gc').get_referents");
        let items = unsafe {
            Object::from_owned_ptr(a, PyObject_CallOneArg(referents.as_ptr(), aw.as_ptr()))
        }
        .unwrap();
        assert!(
            format!("{items:?}").contains("coroutine object fail"),
            "{items:?}"
        );
        assert_eq!(int(&run(&aw).unwrap()), 7);
    });
}

#[test]
fn result_err_goes_to_the_same_items_error_closure() {
    with_python(|a| {
        let seen = log();
        let (s1, s2) = (seen.clone(), seen.clone());
        let aw = Awaitable::new(a).unwrap();
        aw.await_with_error(
            &eval(a, "value(1)"),
            move |aw, _| {
                s1.borrow_mut().push("result".into());
                Err(Error::builtin(aw.attached(), "KeyError", "from result"))
            },
            move |aw, exc| {
                s2.borrow_mut().push(exc.message(aw.attached()));
                Ok(()) // swallowed: the next item runs
            },
        )
        .unwrap();
        aw.await_(&eval(a, "value(5)"), |aw, v| aw.set_result(&v))
            .unwrap();
        assert_eq!(int(&run(&aw).unwrap()), 5);
        assert_eq!(entries(&seen), ["result", "KeyError: 'from result'"]);
    });
}

#[test]
fn result_err_propagate_skips_the_error_closure() {
    with_python(|a| {
        let called = Rc::new(Cell::new(false));
        let flag = called.clone();
        let aw = Awaitable::new(a).unwrap();
        aw.await_with_error(
            &eval(a, "value(1)"),
            |aw, _| Err(Error::builtin(aw.attached(), "KeyError", "past").propagate()),
            move |_, exc| {
                flag.set(true);
                drop(exc);
                Ok(())
            },
        )
        .unwrap();
        aw.await_(&eval(a, "value(5)"), |_, _| unreachable!())
            .unwrap();
        assert_eq!(failure(a, run(&aw)), "KeyError: 'past'");
        assert!(!called.get());
    });
}

#[test]
fn result_err_without_error_closure_propagates() {
    with_python(|a| {
        let aw = Awaitable::new(a).unwrap();
        aw.await_(&eval(a, "value(1)"), |aw, _| {
            Err(Error::builtin(aw.attached(), "ValueError", "no handler"))
        })
        .unwrap();
        assert_eq!(failure(a, run(&aw)), "ValueError: no handler");
    });
}

#[test]
fn error_closure_swallows() {
    with_python(|a| {
        let aw = Awaitable::new(a).unwrap();
        let n = Rc::new(Cell::new(0));
        let m = n.clone();
        aw.await_with_error(
            &eval(a, "fail(Stop('s'))"),
            |_, _| unreachable!(),
            move |_, _| {
                m.set(m.get() + 1);
                Ok(())
            },
        )
        .unwrap();
        aw.await_(&eval(a, "value(3)"), |aw, v| aw.set_result(&v))
            .unwrap();
        assert_eq!(int(&run(&aw).unwrap()), 3);
        assert_eq!(n.get(), 1);
    });
}

#[test]
fn error_closure_returning_its_error_reraises_it_unchanged() {
    with_python(|a| {
        embed::exec(a, "reraised = Stop('same')").unwrap();
        let aw = Awaitable::new(a).unwrap();
        let state = Rc::new(());
        aw.await_with_error(
            &eval(a, "fail(reraised)"),
            |_, _| unreachable!(),
            move |_, exc| {
                let _ = &state; // a capture: the child path
                Err(exc)
            },
        )
        .unwrap();
        let err = run(&aw).unwrap_err();
        assert_eq!(err.value(a).as_ptr(), eval(a, "reraised").as_ptr());
        assert!(err.value(a).as_ptr() != Object::none(a).as_ptr());
        let context = eval(a, "reraised.__context__");
        assert_eq!(context.as_ptr(), Object::none(a).as_ptr());
    });
}

#[test]
fn error_closure_raising_another_chains_the_original() {
    with_python(|a| {
        let aw = Awaitable::new(a).unwrap();
        aw.await_with_error(
            &eval(a, "fail(Stop('first'))"),
            |_, _| unreachable!(),
            |aw, _| Err(Error::builtin(aw.attached(), "RuntimeError", "second")),
        )
        .unwrap();
        let err = run(&aw).unwrap_err();
        assert_eq!(err.message(a), "RuntimeError: second");
        let context = unsafe { PyException_GetContext(err.value(a).as_ptr()) };
        let context = unsafe { Object::from_owned_ptr(a, context) }.expect("a __context__");
        assert_eq!(format!("{context:?}"), "Stop('first')");
    });
}

#[test]
fn a_panic_in_a_result_closure_raises_and_skips_the_error_closure() {
    with_python(|a| {
        let aw = Awaitable::new(a).unwrap();
        let state = Rc::new(());
        aw.await_with_error(
            &eval(a, "value(1)"),
            move |_, _| {
                let _ = &state;
                panic!("boom")
            },
            |_, _| unreachable!("a panic is -2"),
        )
        .unwrap();
        let message = failure(a, run(&aw));
        assert!(
            message.ends_with("a Rust callback panicked: boom"),
            "{message}"
        );
    });
}

#[test]
fn a_panic_in_an_error_closure_raises() {
    with_python(|a| {
        let aw = Awaitable::new(a).unwrap();
        aw.await_with_error(
            &eval(a, "fail(Stop())"),
            |_, _| Ok(()),
            |_, _| panic!("in error"),
        )
        .unwrap();
        let message = failure(a, run(&aw));
        assert!(
            message.ends_with("a Rust callback panicked: in error"),
            "{message}"
        );
    });
}

#[test]
fn cancel_from_a_closure_discards_the_rest() {
    with_python(|a| {
        let aw = Awaitable::new(a).unwrap();
        let later = Rc::new(Cell::new(false));
        let flag = later.clone();
        aw.await_(&eval(a, "value(1)"), |aw, v| {
            aw.set_result(&v)?;
            aw.cancel();
            Ok(())
        })
        .unwrap();
        aw.await_(&eval(a, "suspend(2)"), move |_, _| {
            flag.set(true);
            Ok(())
        })
        .unwrap();
        assert_eq!(int(&run(&aw).unwrap()), 1);
        assert!(!later.get());
    });
}

/// Counts drops of the closures that capture it.
struct Counted(Rc<Cell<u32>>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn closures_are_dropped_when_they_never_run() {
    with_python(|a| {
        let drops = Rc::new(Cell::new(0));
        let add = |aw: &Awaitable<'_>, expr: &str| {
            let (c1, c2) = (Counted(drops.clone()), Counted(drops.clone()));
            aw.await_with_error(
                &eval(a, expr),
                move |_, _| {
                    let _ = &c1;
                    Ok(())
                },
                move |_, e| {
                    let _ = &c2;
                    Err(e)
                },
            )
            .unwrap();
        };
        // Cancelled before it starts.
        let aw = Awaitable::new(a).unwrap();
        add(&aw, "value(1)");
        aw.cancel();
        run(&aw).unwrap();
        drop(aw);
        assert_eq!(drops.get(), 2);
        // Closed while suspended in an earlier item.
        let aw = Awaitable::new(a).unwrap();
        aw.await_ignore(&eval(a, "suspend(0)")).unwrap();
        add(&aw, "value(1)");
        let mut out = std::ptr::null_mut();
        unsafe { PyIter_Send(aw.as_ptr(), Py_None(), &mut out) };
        unsafe { Py_DECREF(out) };
        let closed =
            unsafe { PyObject_CallMethod(aw.as_ptr(), c"close".as_ptr(), std::ptr::null()) };
        drop(unsafe { Object::from_owned_ptr(a, closed) }.unwrap());
        drop(aw);
        assert_eq!(drops.get(), 4);
        // Never awaited (the runtime warns about the parent only).
        embed::exec(
            a,
            "import warnings; warnings.simplefilter('ignore', RuntimeWarning)",
        )
        .unwrap();
        let aw = Awaitable::new(a).unwrap();
        add(&aw, "value(1)");
        drop(aw);
        assert_eq!(drops.get(), 6);
        // Run: each closure dropped once, after its call.
        let aw = Awaitable::new(a).unwrap();
        add(&aw, "value(1)");
        run(&aw).unwrap();
        drop(aw);
        assert_eq!(drops.get(), 8);
    });
}

#[test]
fn a_non_awaitable_is_a_type_error_now_and_the_closure_is_dropped() {
    with_python(|a| {
        let drops = Rc::new(Cell::new(0));
        let aw = Awaitable::new(a).unwrap();
        let c = Counted(drops.clone());
        let err = aw
            .await_(&int_obj(a, 1), move |_, _| {
                let _ = &c;
                Ok(())
            })
            .unwrap_err();
        assert!(
            err.message(a)
                .starts_with("TypeError: PyAwaitable_AddAwait"),
            "{err:?}"
        );
        assert_eq!(drops.get(), 1);
        // Nothing was queued: the parent finishes at once.
        assert_eq!(run(&aw).unwrap().as_ptr(), Object::none(a).as_ptr());
    });
}

#[test]
fn items_added_by_a_closure_go_to_the_end_of_the_queue() {
    with_python(|a| {
        let seen = log();
        let aw = Awaitable::new(a).unwrap();
        let push = |s: &Log, what: &'static str| {
            let s = s.clone();
            move |_: &Awaitable<'_>, _: Object<'_>| {
                s.borrow_mut().push(what.into());
                Ok(())
            }
        };
        let (s, late) = (seen.clone(), push(&seen, "added by a"));
        aw.await_(&eval(a, "suspend('a')"), move |aw, _| {
            s.borrow_mut().push("a".into());
            aw.await_(&eval(aw.attached(), "value(0)"), late)
        })
        .unwrap();
        aw.await_(&eval(a, "suspend('b')"), push(&seen, "b"))
            .unwrap();
        run(&aw).unwrap();
        assert_eq!(entries(&seen), ["a", "b", "added by a"]);
    });
}

#[test]
fn defer_runs_in_queue_order_and_can_add() {
    with_python(|a| {
        let seen = log();
        let aw = Awaitable::new(a).unwrap();
        let s = seen.clone();
        aw.await_(&eval(a, "suspend(1)"), move |_, _| {
            s.borrow_mut().push("await".into());
            Ok(())
        })
        .unwrap();
        let s = seen.clone();
        aw.defer(move |aw| {
            s.borrow_mut().push("deferred".into());
            aw.await_(&eval(aw.attached(), "value(9)"), |aw, v| aw.set_result(&v))
        })
        .unwrap();
        // A captureless one: the direct path.
        aw.defer(|aw| aw.set_result(&Object::none(aw.attached())))
            .unwrap();
        assert_eq!(int(&run(&aw).unwrap()), 9);
        assert_eq!(entries(&seen), ["await", "deferred"]);
    });
}

#[test]
fn a_deferred_err_propagates() {
    with_python(|a| {
        let aw = Awaitable::new(a).unwrap();
        aw.defer(|aw| Err(Error::builtin(aw.attached(), "ValueError", "deferred")))
            .unwrap();
        assert_eq!(failure(a, run(&aw)), "ValueError: deferred");
    });
}

#[test]
fn throw_reaches_the_error_closure_of_the_running_item() {
    with_python(|a| {
        let aw = Awaitable::new(a).unwrap();
        let state = Rc::new(());
        aw.await_with_error(
            &eval(a, "suspend(1)"),
            |_, _| unreachable!(),
            move |aw, exc| {
                let _ = &state;
                assert_eq!(exc.message(aw.attached()), "Stop: thrown");
                aw.set_result(&int_obj(aw.attached(), 99))
            },
        )
        .unwrap();
        let mut out = std::ptr::null_mut();
        unsafe { PyIter_Send(aw.as_ptr(), Py_None(), &mut out) };
        unsafe { Py_DECREF(out) };
        let throw = eval(a, "lambda aw: aw.throw(Stop('thrown'))");
        let result = unsafe { PyObject_CallOneArg(throw.as_ptr(), aw.as_ptr()) };
        assert!(result.is_null());
        let err = Error::fetch(a);
        assert!(
            err.is_instance(a, &Object::builtin(a, "StopIteration").unwrap()),
            "{err:?}"
        );
        assert_eq!(
            format!("{:?}", eval(a, "__import__('sys').last_value if 0 else 0")),
            "0"
        );
        let value = unsafe { PyObject_GetAttrString(err.value(a).as_ptr(), c"value".as_ptr()) };
        assert_eq!(
            int(&unsafe { Object::from_owned_ptr(a, value) }.unwrap()),
            99
        );
    });
}

#[test]
fn from_object_checks_the_type() {
    with_python(|a| {
        let err = Awaitable::from_object(eval(a, "value(1)")).unwrap_err();
        assert!(
            err.message(a)
                .starts_with("TypeError: expected a PyAwaitable"),
            "{err:?}"
        );
        let null = unsafe { Awaitable::from_borrowed_ptr(a, std::ptr::null_mut()) };
        assert!(null
            .unwrap_err()
            .is_instance(a, &Object::builtin(a, "SystemError").unwrap()));
        embed::exec(
            a,
            "import warnings; warnings.simplefilter('ignore', RuntimeWarning)",
        )
        .unwrap();
    });
}

#[test]
fn init_is_idempotent() {
    with_python(|a| {
        init(a).unwrap();
        init(a).unwrap();
    });
}

#[cfg(feature = "pyo3")]
mod with_pyo3 {
    use super::*;
    use ::pyo3::exceptions::PyValueError;
    use ::pyo3::prelude::*;

    #[test]
    fn closures_use_pyo3_types_and_question_marks() {
        with_python(|a| {
            let py = a.py();
            let aw = Awaitable::new(a).unwrap();
            let factor: Py<PyAny> = 3i32.into_pyobject(py).unwrap().into_any().unbind();
            let coro = eval(a, "value(14)").into_bound();
            aw.await_(&coro, move |aw, v| {
                let py = aw.py();
                let product = v.into_bound().mul(factor.bind(py))?;
                let n: i64 = product.extract()?;
                aw.set_result(&n.into_pyobject(py)?)
            })
            .unwrap();
            let result: i64 = run(&aw).unwrap().into_bound().extract().unwrap();
            assert_eq!(result, 42);
        });
    }

    #[test]
    fn a_pyerr_from_a_closure_is_raised() {
        with_python(|a| {
            let aw = Awaitable::new(a).unwrap();
            aw.await_(&eval(a, "value('x')"), |aw, v| {
                let _: i64 = v.into_bound().extract()?; // TypeError
                aw.set_result(&Object::none(aw.attached()))
            })
            .unwrap();
            let err: PyErr = run(&aw).unwrap_err().into();
            assert!(err.is_instance_of::<pyo3::exceptions::PyTypeError>(a.py()));
            let aw = Awaitable::new(a).unwrap();
            aw.await_(&eval(a, "value(1)"), |_, _| {
                Err(PyValueError::new_err("v").into())
            })
            .unwrap();
            assert_eq!(failure(a, run(&aw)), "ValueError: v");
        });
    }

    #[test]
    fn a_captured_py_is_released_with_the_closure_at_once() {
        with_python(|a| {
            embed::exec(
                a,
                "class Thing: pass\nthing = Thing()\nimport weakref\n\
                            thing_ref = weakref.ref(thing)",
            )
            .unwrap();
            embed::exec(
                a,
                "import warnings; warnings.simplefilter('ignore', RuntimeWarning)",
            )
            .unwrap();
            let thing: Py<PyAny> = eval(a, "thing").into_bound().unbind();
            let aw = Awaitable::new(a).unwrap();
            aw.await_(&eval(a, "value(1)"), move |_, _| {
                let _ = &thing;
                Ok(())
            })
            .unwrap();
            embed::exec(a, "del thing").unwrap();
            let main = eval(a, "__import__('__main__')");
            let rc =
                unsafe { PyObject_SetAttrString(main.as_ptr(), c"pending".as_ptr(), aw.as_ptr()) };
            assert_eq!(rc, 0);
            drop(aw);
            // Freed on a thread PyO3 never attached (as when the runtime
            // frees it from C): the capsule's destructor must still
            // release the Py at once, not defer it to PyO3's pool.
            let freed = a.py().detach(|| {
                std::thread::spawn(|| unsafe {
                    let gstate = PyGILState_Ensure();
                    let code = c"del pending\nfreed = thing_ref() is None";
                    let main = PyImport_AddModule(c"__main__".as_ptr());
                    let globals = PyModule_GetDict(main);
                    let r = PyRun_String(code.as_ptr(), Py_file_input, globals, globals);
                    assert!(!r.is_null());
                    Py_DECREF(r);
                    let freed = PyDict_GetItemString(globals, c"freed".as_ptr()) == Py_True();
                    PyGILState_Release(gstate);
                    freed
                })
                .join()
                .unwrap()
            });
            assert!(freed);
        });
    }

    #[test]
    fn extracting_an_awaitable_checks_its_type() {
        with_python(|a| {
            let py = a.py();
            let aw = Awaitable::new(a).unwrap().into_bound();
            assert!(aw.extract::<Awaitable<'_>>().is_ok());
            let err = 1i32
                .into_pyobject(py)
                .unwrap()
                .extract::<Awaitable<'_>>()
                .unwrap_err();
            assert!(err.is_instance_of::<pyo3::exceptions::PyTypeError>(py));
            aw.extract::<Awaitable<'_>>().unwrap().cancel();
        });
    }
}

unsafe extern "C" fn never_called(
    _: *mut PyObject,
    _: *mut PyObject,
    _: *mut PyObject,
) -> *mut PyObject {
    unreachable!("registration fails")
}

#[test]
fn add_functions_rejects_invalid_flags() {
    static mut BAD: [PyMethodDef; 2] = [
        PyMethodDef {
            ml_name: c"bad".as_ptr(),
            ml_meth: PyMethodDefPointer {
                PyCFunctionWithKeywords: never_called,
            },
            ml_flags: METH_O | METH_CLASS | METH_STATIC | crate::METH_ASYNC,
            ml_doc: std::ptr::null(),
        },
        PyMethodDef::zeroed(),
    ];
    with_python(|a| {
        let module = unsafe { Object::from_owned_ptr(a, PyModule_New(c"m".as_ptr())) }.unwrap();
        let err =
            unsafe { add_functions(&module, std::ptr::addr_of_mut!(BAD).cast()) }.unwrap_err();
        assert!(
            err.is_instance(a, &Object::builtin(a, "SystemError").unwrap()),
            "{err:?}"
        );
        assert!(err.message(a).contains("bad"), "{}", err.message(a));
    });
}

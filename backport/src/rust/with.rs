//! `async with` for the Rust API: closures as the callbacks of
//! `PyAwaitable_AsyncWith`.
//!
//! The body closure has to run with the user's awaitable and inside the
//! statement's block, so that what it queues runs before `__aexit__`.  Only
//! the awaitable's own `AsyncWith` item gives that: a child awaitable (the
//! way `await_` keeps capturing closures) would open the block on the
//! child.  So the statement always goes on the user's awaitable, and its C
//! callbacks have to find the closures from what they get:
//!
//! - Closures that capture nothing: the trampolines conjure them, as for
//!   `await_`, and `ctx` goes to `AsyncWith` unchanged.
//!
//! - Otherwise `AsyncWith` gets a small wrapper context manager (a class
//!   made once per interpreter) whose `__aenter__` and `__aexit__` are Rust
//!   functions over the statement's state, a capsule.  The wrapped
//!   `__aenter__` awaits the real one, keeps its value and gives the
//!   capsule as the block's value, where the body trampoline finds the
//!   closure and the real value.  The error callback gets only the
//!   awaitable and the exception, and the runtime calls it right after the
//!   wrapped `__aenter__` fails or the wrapped `__aexit__` finishes with an
//!   exception to propagate: at that moment the wrapper records the state
//!   in a per-thread list, keyed by the awaitable, and the error trampoline
//!   takes it from there.  The runtime thus decides, as for C callbacks,
//!   when each closure runs and what its return means.

use super::callbacks::{self, borrow, error_code, guarded, result_code, stateless};
use super::table::{call, loaded};
use super::{Attached, Awaitable, Error, Object, Owned};
use crate::bindings::PyAwaitable_Error;
use pyo3_ffi::*;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::ffi::CStr;
use std::mem;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::rc::Rc;

const CAPSULE: &CStr = c"pyawaitable_backport.rust.async_with";
/// The wrapper class's key in the interpreter's state dict.
const CLASS_KEY: &CStr = c"pyawaitable_backport.rust.AsyncWith";
const CLASS_SOURCE: &CStr = c"
from operator import attrgetter

class AsyncWith:
    '''The context manager an `async with` of the pyawaitable_backport Rust
    API queues when its closures capture state: __aenter__ and __aexit__
    are Rust functions over the statement's closures.'''
    __slots__ = ('aenter', 'aexit')
    # Special methods are looked up on the type; these bind per instance.
    __aenter__ = property(attrgetter('aenter'))
    __aexit__ = property(attrgetter('aexit'))
";

pub(crate) fn async_with<'py, F, G>(
    parent: &Awaitable<'py>,
    ctx: *mut PyObject,
    on_enter: F,
    on_error: Option<G>,
) -> Result<(), Error>
where
    F: for<'a> FnOnce(&Awaitable<'a>, Object<'a>) -> Result<(), Error> + 'static,
    G: for<'a> FnOnce(&Awaitable<'a>, Error) -> Result<(), Error> + 'static,
{
    let attached = parent.attached();
    if stateless::<F>() && (on_error.is_none() || stateless::<G>()) {
        let err_cb = on_error.as_ref().map(|_| callbacks::direct_error::<G> as _);
        // SAFETY: attached; live objects; AsyncWith borrows `ctx`.
        let rc = unsafe {
            call!(
                loaded(),
                AsyncWith(
                    parent.as_ptr(),
                    ctx,
                    Some(callbacks::direct_result::<F>),
                    err_cb
                )
            )
        };
        if rc < 0 {
            return Err(Error::fetch(attached));
        }
        // The trampolines conjure them when (if) they run.
        mem::forget(on_enter);
        mem::forget(on_error);
        return Ok(());
    }
    // Looked up now, with AsyncWith's own TypeError, as the statement does.
    // SAFETY: attached; `ctx` is live.
    let (enter, exit) = unsafe { crate::with::lookup(c"PyAwaitable_AsyncWith", ctx) }
        .map_err(|()| Error::fetch(attached))?;
    let has_error = on_error.is_some();
    // SAFETY: attached; new references are owned by `Object`s.
    unsafe {
        let [enter, exit] = [enter, exit].map(|o| {
            Object::from_owned_ptr(attached, o.into_ptr())
                .expect("non-NULL")
                .unbind()
        });
        // Without an error closure nothing needs to watch the exit.
        let real_exit = (!has_error).then(|| exit.bind(attached));
        // Weak: the statement is queued on the parent, and must not keep it.
        let weak =
            Object::from_owned_ptr(attached, PyWeakref_NewRef(parent.as_ptr(), ptr::null_mut()))
                .ok_or_else(|| Error::fetch(attached))?;
        let state: Rc<dyn Statement> = Rc::new(State {
            parent: weak.unbind(),
            enter,
            exit,
            has_error,
            on_enter: Cell::new(Some(on_enter)),
            on_error: Cell::new(on_error),
            value: Cell::new(None),
        });
        let state = Box::into_raw(Box::new(state));
        let capsule = PyCapsule_New(state.cast(), CAPSULE.as_ptr(), Some(free_state));
        let Some(capsule) = Object::from_owned_ptr(attached, capsule) else {
            drop(Box::from_raw(state));
            return Err(Error::fetch(attached));
        };
        let function = |def: &MethodDef| {
            Object::from_owned_ptr(
                attached,
                PyCFunction_NewEx(def.0.get(), capsule.as_ptr(), ptr::null_mut()),
            )
            .ok_or_else(|| Error::fetch(attached))
        };
        let aenter = function(&AENTER)?;
        let aexit = match real_exit {
            Some(exit) => exit,
            None => function(&AEXIT)?,
        };
        let proxy = Object::from_owned_ptr(
            attached,
            PyObject_CallNoArgs(wrapper_class(attached)?.as_ptr()),
        )
        .ok_or_else(|| Error::fetch(attached))?;
        if PyObject_SetAttrString(proxy.as_ptr(), c"aenter".as_ptr(), aenter.as_ptr()) < 0
            || PyObject_SetAttrString(proxy.as_ptr(), c"aexit".as_ptr(), aexit.as_ptr()) < 0
        {
            return Err(Error::fetch(attached));
        }
        let err_cb: PyAwaitable_Error = if has_error { Some(with_error) } else { None };
        let rc = call!(
            loaded(),
            AsyncWith(parent.as_ptr(), proxy.as_ptr(), Some(with_body), err_cb)
        );
        if rc < 0 {
            return Err(Error::fetch(attached));
        }
    }
    Ok(())
}

/// One statement's closures and context manager, behind `dyn` so the
/// wrapper's functions and the trampolines need no type parameters.
trait Statement {
    /// The wrapped `__aenter__()`: an awaitable of the real one whose value
    /// is `capsule` (the real value is kept for the body).
    fn aenter<'py>(self: Rc<Self>, capsule: &Object<'py>) -> Result<Object<'py>, Error>;
    /// The wrapped `__aexit__(*args)` (only with an error closure).
    fn aexit<'py>(self: Rc<Self>, args: &Object<'py>) -> Result<Object<'py>, Error>;
    /// The body closure, with `__aenter__`'s value.
    fn body<'py>(&self, parent: &Awaitable<'py>) -> Result<(), Error>;
    /// The error closure.
    fn error<'py>(&self, parent: &Awaitable<'py>, exc: Error) -> Result<(), Error>;
    /// The awaitable the statement is queued on, NULL once it is freed
    /// (only compared, never dereferenced).
    fn parent(&self, attached: Attached<'_>) -> *mut PyObject;
}

struct State<F, G> {
    parent: Owned,
    enter: Owned,
    exit: Owned,
    has_error: bool,
    on_enter: Cell<Option<F>>,
    on_error: Cell<Option<G>>,
    value: Cell<Option<Owned>>,
}

impl<F, G> State<F, G> {
    /// The runtime calls the error callback next: leave this statement for
    /// it (if there is an error closure; else the runtime calls nothing).
    fn failing(self: &Rc<Self>, attached: Attached<'_>)
    where
        Self: Statement + 'static,
    {
        if self.has_error {
            push_failing(attached, self.clone());
        }
    }
}

impl<F, G> Statement for State<F, G>
where
    F: for<'a> FnOnce(&Awaitable<'a>, Object<'a>) -> Result<(), Error> + 'static,
    G: for<'a> FnOnce(&Awaitable<'a>, Error) -> Result<(), Error> + 'static,
{
    fn aenter<'py>(self: Rc<Self>, capsule: &Object<'py>) -> Result<Object<'py>, Error> {
        let attached = capsule.attached();
        // SAFETY: attached; a new reference or NULL.
        let entered =
            unsafe { Object::from_owned_ptr(attached, PyObject_CallNoArgs(self.enter.as_ptr())) };
        let Some(entered) = entered else {
            let err = Error::fetch(attached);
            self.failing(attached);
            return Err(err);
        };
        let inner = Awaitable::new(attached)?;
        let (state, capsule) = (self.clone(), capsule.clone().unbind());
        inner.await_with_error(
            &entered,
            move |inner, value| {
                state.value.set(Some(value.unbind()));
                inner.set_result(&capsule.bind(inner.attached()))
            },
            move |inner, exc| {
                self.failing(inner.attached());
                Err(exc) // unchanged
            },
        )?;
        Ok(inner.into_object())
    }

    fn aexit<'py>(self: Rc<Self>, args: &Object<'py>) -> Result<Object<'py>, Error> {
        let attached = args.attached();
        // SAFETY: attached; the runtime passes (type, value, traceback).
        let exc_given = unsafe { PyTuple_GetItem(args.as_ptr(), 1) } != unsafe { Py_None() };
        // SAFETY: attached; a new reference or NULL.
        let exiting = unsafe {
            Object::from_owned_ptr(
                attached,
                PyObject_Call(self.exit.as_ptr(), args.as_ptr(), ptr::null_mut()),
            )
        };
        let Some(exiting) = exiting else {
            let err = Error::fetch(attached);
            self.failing(attached);
            return Err(err);
        };
        let inner = Awaitable::new(attached)?;
        let state = self.clone();
        inner.await_with_error(
            &exiting,
            move |inner, suppress| {
                let attached = inner.attached();
                if !exc_given {
                    return Ok(()); // the runtime ignores the value
                }
                // Decided here, once, so that the runtime's own test is of a
                // bool and runs no code between this and the error callback.
                // SAFETY: attached; a live object.
                match unsafe { PyObject_IsTrue(suppress.as_ptr()) } {
                    1 => inner.set_result(&boolean(attached, true)),
                    0 => {
                        state.failing(attached);
                        inner.set_result(&boolean(attached, false))
                    }
                    _ => {
                        let err = Error::fetch(attached);
                        state.failing(attached);
                        Err(err.propagate())
                    }
                }
            },
            move |inner, exc| {
                self.failing(inner.attached());
                Err(exc)
            },
        )?;
        Ok(inner.into_object())
    }

    fn body<'py>(&self, parent: &Awaitable<'py>) -> Result<(), Error> {
        let attached = parent.attached();
        let (Some(f), Some(value)) = (self.on_enter.take(), self.value.take()) else {
            return Err(callbacks::called_twice(attached));
        };
        f(parent, value.into_bound(attached))
    }

    fn error<'py>(&self, parent: &Awaitable<'py>, exc: Error) -> Result<(), Error> {
        match self.on_error.take() {
            Some(g) => g(parent, exc),
            None => Err(callbacks::called_twice(parent.attached())),
        }
    }

    fn parent(&self, _: Attached<'_>) -> *mut PyObject {
        let mut parent = ptr::null_mut();
        // SAFETY: attached; a weak reference.  Only the address is kept:
        // the new reference is released at once.
        unsafe {
            if compat::PyWeakref_GetRef(self.parent.as_ptr(), &mut parent) < 0 {
                PyErr_Clear();
                return ptr::null_mut();
            }
            Py_XDECREF(parent);
        }
        parent
    }
}

thread_local! {
    /// Statements whose error closure the runtime is about to call.  An
    /// entry is normally taken at once; one whose call never comes (the
    /// awaitable was closed meanwhile) is dropped when another statement
    /// of the same awaitable fails, or once the awaitable is gone.
    static FAILING: RefCell<Vec<Rc<dyn Statement>>> = const { RefCell::new(Vec::new()) };
}

fn push_failing(attached: Attached<'_>, state: Rc<dyn Statement>) {
    let parent = state.parent(attached);
    let stale = FAILING.with(|failing| {
        let mut failing = failing.borrow_mut();
        let (keep, stale): (Vec<_>, Vec<_>) = mem::take(&mut *failing).into_iter().partition(|s| {
            let p = s.parent(attached);
            !p.is_null() && p != parent
        });
        *failing = keep;
        failing.push(state);
        stale
    });
    // Outside the borrow: dropping closures can run Python code.
    drop(stale);
}

fn take_failing(attached: Attached<'_>, parent: *mut PyObject) -> Option<Rc<dyn Statement>> {
    FAILING.with(|failing| {
        let mut failing = failing.borrow_mut();
        let index = failing.iter().rposition(|s| s.parent(attached) == parent)?;
        Some(failing.remove(index))
    })
}

/// The state a capsule of this module owns.
///
/// # Safety
/// Attached; `capsule` is a live object.
unsafe fn statement(
    attached: Attached<'_>,
    capsule: *mut PyObject,
) -> Result<Rc<dyn Statement>, Error> {
    let state = PyCapsule_GetPointer(capsule, CAPSULE.as_ptr()).cast::<Rc<dyn Statement>>();
    if state.is_null() {
        return Err(Error::fetch(attached));
    }
    Ok((*state).clone())
}

unsafe extern "C" fn free_state(capsule: *mut PyObject) {
    let state = PyCapsule_GetPointer(capsule, CAPSULE.as_ptr()).cast::<Rc<dyn Statement>>();
    if !state.is_null() {
        // As callbacks' capsules: attached the PyO3 way too, and a
        // panicking Drop must not unwind into C.
        let drop_state = AssertUnwindSafe(|| callbacks::attach(|_| drop(Box::from_raw(state))));
        let _ = panic::catch_unwind(drop_state);
    }
}

/// The `PyMethodDef` of a wrapper function; CPython never writes to it.
struct MethodDef(UnsafeCell<PyMethodDef>);
// SAFETY: immutable after initialization.
unsafe impl Sync for MethodDef {}

static AENTER: MethodDef = MethodDef(UnsafeCell::new(PyMethodDef {
    ml_name: c"__aenter__".as_ptr(),
    ml_meth: PyMethodDefPointer {
        PyCFunction: aenter,
    },
    ml_flags: METH_NOARGS,
    ml_doc: ptr::null(),
}));

static AEXIT: MethodDef = MethodDef(UnsafeCell::new(PyMethodDef {
    ml_name: c"__aexit__".as_ptr(),
    ml_meth: PyMethodDefPointer { PyCFunction: aexit },
    ml_flags: METH_VARARGS,
    ml_doc: ptr::null(),
}));

/// Runs a wrapper function: its object, or NULL with the error (or a
/// panic's) set.
fn function(f: impl for<'py> FnOnce(Attached<'py>) -> Result<Object<'py>, Error>) -> *mut PyObject {
    guarded(
        |attached| match f(attached) {
            Ok(object) => object.into_ptr(),
            Err(err) => {
                err.restore(attached);
                ptr::null_mut()
            }
        },
        ptr::null_mut(),
    )
}

fn boolean(attached: Attached<'_>, value: bool) -> Object<'_> {
    // SAFETY: attached; the singletons are immortal or held by the runtime.
    let ptr = unsafe {
        if value {
            Py_True()
        } else {
            Py_False()
        }
    };
    unsafe { Object::from_borrowed_ptr(attached, ptr) }.expect("a bool")
}

unsafe extern "C" fn aenter(capsule: *mut PyObject, _: *mut PyObject) -> *mut PyObject {
    function(|attached| {
        let state = statement(attached, capsule)?;
        state.aenter(&Object::from_borrowed_ptr(attached, capsule).expect("self"))
    })
}

unsafe extern "C" fn aexit(capsule: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    function(|attached| {
        let state = statement(attached, capsule)?;
        state.aexit(&Object::from_borrowed_ptr(attached, args).expect("args"))
    })
}

/// The body callback: `value` is the capsule the wrapped `__aenter__` gave.
unsafe extern "C" fn with_body(aw: *mut PyObject, value: *mut PyObject) -> std::ffi::c_int {
    callbacks::enter(|attached| {
        let result = statement(attached, value).and_then(|state| state.body(&borrow(attached, aw)));
        result_code(attached, result)
    })
}

/// The error callback of the statement the wrapper just recorded.
unsafe extern "C" fn with_error(aw: *mut PyObject, exc: *mut PyObject) -> std::ffi::c_int {
    callbacks::enter(|attached| {
        let exc = Object::from_borrowed_ptr(attached, exc).expect("an exception");
        let result = match take_failing(attached, aw) {
            Some(state) => state.error(&borrow(attached, aw), Error::from_exception(exc.clone())),
            None => Err(Error::raw(
                attached,
                PyExc_SystemError,
                "pyawaitable_backport: no Rust async with statement is failing here",
            )),
        };
        error_code(attached, &exc, result)
    })
}

/// The wrapper class of the current interpreter, made on first use.
fn wrapper_class(attached: Attached<'_>) -> Result<Object<'_>, Error> {
    let fail = || Error::fetch(attached);
    // SAFETY: attached; borrowed references are taken before any call that
    // could free them.
    unsafe {
        let dict = PyInterpreterState_GetDict(PyInterpreterState_Get());
        if dict.is_null() {
            return Err(Error::raw(
                attached,
                PyExc_SystemError,
                "pyawaitable_backport: no interpreter state dict",
            ));
        }
        let found = PyDict_GetItemString(dict, CLASS_KEY.as_ptr());
        if !found.is_null() {
            return Ok(Object::from_borrowed_ptr(attached, found).expect("non-NULL"));
        }
        let globals = Object::from_owned_ptr(attached, PyDict_New()).ok_or_else(fail)?;
        if PyDict_SetItemString(
            globals.as_ptr(),
            c"__builtins__".as_ptr(),
            PyEval_GetBuiltins(),
        ) < 0
            || PyDict_SetItemString(
                globals.as_ptr(),
                c"__name__".as_ptr(),
                Object::from_owned_ptr(
                    attached,
                    PyUnicode_FromString(c"pyawaitable_backport.rust".as_ptr()),
                )
                .ok_or_else(fail)?
                .as_ptr(),
            ) < 0
        {
            return Err(fail());
        }
        Object::from_owned_ptr(
            attached,
            PyRun_String(
                CLASS_SOURCE.as_ptr(),
                Py_file_input,
                globals.as_ptr(),
                globals.as_ptr(),
            ),
        )
        .ok_or_else(fail)?;
        let class = PyDict_GetItemString(globals.as_ptr(), c"AsyncWith".as_ptr());
        let class = Object::from_borrowed_ptr(attached, class).ok_or_else(fail)?;
        if PyDict_SetItemString(dict, CLASS_KEY.as_ptr(), class.as_ptr()) < 0 {
            return Err(fail());
        }
        Ok(class)
    }
}

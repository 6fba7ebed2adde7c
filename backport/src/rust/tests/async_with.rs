//! `Awaitable::async_with`: every test runs twice, with closures that
//! capture nothing (handed to `PyAwaitable_AsyncWith` directly) and with
//! the same closures capturing a token (through the wrapper context
//! manager), and expects the same behaviour from both.

use super::*;

const CTX: &str = r#"
class Ctx:
    """Logs its calls; enter_exc/exit_exc raise, suppress is __aexit__'s result."""
    def __init__(self, enter_exc=None, exit_exc=None, suppress=False, log=None,
                 exit_suspends=True):
        self.log = [] if log is None else log
        self.enter_exc, self.exit_exc, self.suppress = enter_exc, exit_exc, suppress
        self.exit_suspends = exit_suspends
    async def __aenter__(self):
        self.log.append('enter')
        await suspend(None)
        if self.enter_exc:
            raise self.enter_exc
        return self
    async def __aexit__(self, tp, exc, tb):
        self.log.append(f'exit {tp.__name__ if tp else None}')
        if self.exit_suspends:
            await suspend(None)
        if self.exit_exc:
            raise self.exit_exc
        return self.suppress

async def note(ctx, entry):
    ctx.log.append(entry)
"#;

fn setup(a: Attached<'_>) {
    embed::exec(a, CTX).unwrap();
}

/// `f(args...)` for a function named in `__main__`.
fn call<'py>(a: Attached<'py>, f: &str, args: &[&Object<'py>]) -> Object<'py> {
    let f = eval(a, f);
    let ptrs: Vec<_> = args.iter().map(|o| o.as_ptr()).collect();
    let result =
        unsafe { PyObject_Vectorcall(f.as_ptr(), ptrs.as_ptr(), ptrs.len(), std::ptr::null_mut()) };
    unsafe { Object::from_owned_ptr(a, result) }.unwrap_or_else(|| panic!("{:?}", Error::fetch(a)))
}

fn text<'py>(a: Attached<'py>, s: &str) -> Object<'py> {
    eval(a, &format!("{s:?}"))
}

/// `await note(ctx, entry)`, queued on `aw`.
fn queue_note(aw: &Awaitable<'_>, ctx: &Object<'_>, entry: &str) -> Result<(), Error> {
    let a = aw.attached();
    aw.await_ignore(&call(a, "note", &[ctx, &text(a, entry)]))
}

fn log_of(ctx: &Object<'_>) -> String {
    format!("{:?}", call(ctx.attached(), "lambda c: c.log", &[ctx]))
}

type Body = fn(&Awaitable<'_>, Object<'_>) -> Result<(), Error>;
type OnError = fn(&Awaitable<'_>, Error) -> Result<(), Error>;

/// Queues the statement, with `body` and `on_error` as they are
/// (captureless) or capturing a token.
fn queue(
    aw: &Awaitable<'_>,
    ctx: &Object<'_>,
    capture: bool,
    body: Body,
    on_error: Option<OnError>,
) {
    let result = match (capture, on_error) {
        (false, None) => aw.async_with(ctx, body),
        (false, Some(g)) => aw.async_with_error(ctx, body, g),
        (true, None) => {
            let token = Box::new(1u8);
            aw.async_with(ctx, move |aw, v| {
                assert_eq!(*token, 1);
                body(aw, v)
            })
        }
        (true, Some(g)) => {
            let (t1, t2) = (Box::new(1u8), Box::new(2u8));
            aw.async_with_error(
                ctx,
                move |aw, v| {
                    assert_eq!(*t1, 1);
                    body(aw, v)
                },
                move |aw, e| {
                    assert_eq!(*t2, 2);
                    g(aw, e)
                },
            )
        }
    };
    result.unwrap();
}

/// Runs `test` with captureless closures, then capturing ones.
fn both(test: impl for<'py> Fn(Attached<'py>, bool)) {
    with_python(|a| {
        setup(a);
        for capture in [false, true] {
            test(a, capture);
        }
    });
}

/// As `queue`, but the plain fn pointers themselves are not zero-sized:
/// these wrap them in captureless closures, so the direct path is tested.
macro_rules! statement {
    ($aw:expr, $ctx:expr, $capture:expr, $body:expr) => {
        if $capture {
            queue($aw, $ctx, true, $body, None)
        } else {
            $aw.async_with($ctx, $body).unwrap()
        }
    };
    ($aw:expr, $ctx:expr, $capture:expr, $body:expr, $on_error:expr) => {
        if $capture {
            queue($aw, $ctx, true, $body, Some($on_error))
        } else {
            $aw.async_with_error($ctx, $body, $on_error).unwrap()
        }
    };
}

#[test]
fn the_block_runs_between_aenter_and_aexit() {
    both(|a, capture| {
        let ctx = eval(a, "Ctx()");
        let aw = Awaitable::new(a).unwrap();
        queue_note(&aw, &ctx, "before").unwrap();
        statement!(&aw, &ctx, capture, |aw, ctx| {
            // The value is __aenter__'s (the Ctx); both notes are queued
            // inside the block, the second by a closure inside it.
            queue_note(aw, &ctx, "body")?;
            let ctx = ctx.unbind();
            aw.defer(move |aw| queue_note(aw, &ctx.bind(aw.attached()), "nested"))
        });
        queue_note(&aw, &ctx, "after").unwrap();
        run(&aw).unwrap();
        assert_eq!(
            log_of(&ctx),
            "['before', 'enter', 'body', 'nested', 'exit None', 'after']"
        );
    });
}

#[test]
fn an_aenter_failure_goes_to_the_error_closure_and_skips_the_block() {
    both(|a, capture| {
        let ctx = eval(a, "Ctx(enter_exc=Stop('no'))");
        let aw = Awaitable::new(a).unwrap();
        statement!(
            &aw,
            &ctx,
            capture,
            |_, _| unreachable!("the block never starts"),
            |aw, exc| {
                // Swallowed: the items after the statement run.
                aw.set_result(&exc.value(aw.attached()))
            }
        );
        queue_note(&aw, &ctx, "after").unwrap();
        let result = run(&aw).unwrap();
        assert_eq!(format!("{result:?}"), "Stop('no')");
        assert_eq!(log_of(&ctx), "['enter', 'after']");
        // Without an error closure it propagates, unchanged.
        let aw = Awaitable::new(a).unwrap();
        statement!(&aw, &ctx, capture, |_, _| unreachable!());
        assert_eq!(failure(a, run(&aw)), "Stop: no");
    });
}

#[test]
fn an_err_from_the_body_reaches_aexit_then_the_error_closure() {
    both(|a, capture| {
        let ctx = eval(a, "Ctx()");
        let aw = Awaitable::new(a).unwrap();
        statement!(
            &aw,
            &ctx,
            capture,
            |aw, ctx| {
                queue_note(aw, &ctx, "discarded")?;
                Err(Error::builtin(aw.attached(), "KeyError", "body"))
            },
            |aw, exc| {
                assert_eq!(exc.message(aw.attached()), "KeyError: 'body'");
                Err(exc) // re-raised unchanged
            }
        );
        queue_note(&aw, &ctx, "not reached").unwrap();
        assert_eq!(failure(a, run(&aw)), "KeyError: 'body'");
        assert_eq!(log_of(&ctx), "['enter', 'exit KeyError']");
    });
}

#[test]
fn an_exception_aexit_suppresses_skips_the_error_closure() {
    both(|a, capture| {
        let ctx = eval(a, "Ctx(suppress=True)");
        let aw = Awaitable::new(a).unwrap();
        statement!(
            &aw,
            &ctx,
            capture,
            |aw, _| Err(Error::builtin(aw.attached(), "KeyError", "body")),
            |_, _| unreachable!("suppressed")
        );
        queue_note(&aw, &ctx, "after").unwrap();
        run(&aw).unwrap();
        assert_eq!(log_of(&ctx), "['enter', 'exit KeyError', 'after']");
    });
}

#[test]
fn an_aexit_failure_is_chained_and_the_error_closure_can_raise_another() {
    both(|a, capture| {
        let ctx = eval(a, "Ctx(exit_exc=Stop('exit'))");
        let aw = Awaitable::new(a).unwrap();
        statement!(
            &aw,
            &ctx,
            capture,
            |aw, _| Err(Error::builtin(aw.attached(), "KeyError", "body")),
            |aw, exc| {
                assert_eq!(exc.message(aw.attached()), "Stop: exit");
                Err(Error::builtin(aw.attached(), "ValueError", "other"))
            }
        );
        let err = run(&aw).unwrap_err();
        assert_eq!(err.message(a), "ValueError: other");
        // other <- Stop('exit') <- KeyError('body'), as C callbacks get it.
        let chain = call(
            a,
            "lambda e: (e.__context__, e.__context__.__context__)",
            &[&err.value(a)],
        );
        assert_eq!(format!("{chain:?}"), "(Stop('exit'), KeyError('body'))");
    });
}

#[test]
fn the_error_closure_swallows_and_the_next_item_runs() {
    both(|a, capture| {
        let ctx = eval(a, "Ctx()");
        let aw = Awaitable::new(a).unwrap();
        statement!(
            &aw,
            &ctx,
            capture,
            |aw, _| Err(Error::builtin(aw.attached(), "KeyError", "body")),
            |_, _| Ok(())
        );
        queue_note(&aw, &ctx, "after").unwrap();
        run(&aw).unwrap();
        assert_eq!(log_of(&ctx), "['enter', 'exit KeyError', 'after']");
    });
}

#[test]
fn statements_nest() {
    both(|a, capture| {
        let outer = eval(a, "Ctx()");
        embed::exec(a, "def nest(outer): outer.inner = Ctx(log=outer.log)").unwrap();
        call(a, "nest", &[&outer]);
        let aw = Awaitable::new(a).unwrap();
        statement!(&aw, &outer, capture, |aw, outer| {
            let attached = aw.attached();
            let inner = call(attached, "lambda c: c.inner", &[&outer]);
            // The inner statement captures: the two paths nest both ways.
            let token = Box::new(());
            aw.async_with(&inner, move |aw, inner| {
                let _ = &token;
                queue_note(aw, &inner, "inner body")
            })?;
            queue_note(aw, &outer, "outer body")
        });
        run(&aw).unwrap();
        // The inner statement is the outer block's first item.
        assert_eq!(
            log_of(&outer),
            "['enter', 'enter', 'inner body', 'exit None', 'outer body', 'exit None']"
        );
    });
}

#[test]
fn a_panic_in_the_body_reaches_aexit() {
    both(|a, capture| {
        let ctx = eval(a, "Ctx()");
        let aw = Awaitable::new(a).unwrap();
        statement!(&aw, &ctx, capture, |_, _| panic!("in the block"));
        let message = failure(a, run(&aw));
        assert!(
            message.ends_with("a Rust callback panicked: in the block"),
            "{message}"
        );
        // PyO3's PanicException with the pyo3 feature.
        let raised = if cfg!(feature = "pyo3") {
            "PanicException"
        } else {
            "RuntimeError"
        };
        assert_eq!(log_of(&ctx), format!("['enter', 'exit {raised}']"));
    });
}

#[test]
fn closing_inside_the_block_runs_aexit_and_no_closure() {
    both(|a, capture| {
        // An __aexit__ that suspends while closing is an error of its own.
        let ctx = eval(a, "Ctx(exit_suspends=False)");
        let aw = Awaitable::new(a).unwrap();
        statement!(
            &aw,
            &ctx,
            capture,
            |aw, _| aw.await_ignore(&eval(aw.attached(), "suspend('in the block')")),
            |_, _| unreachable!("no callback while closing")
        );
        // Send until the block's own await suspends (__aenter__ first),
        // then close.
        let mut yielded = Vec::new();
        for _ in 0..2 {
            let mut out = std::ptr::null_mut();
            let status = unsafe { PyIter_Send(aw.as_ptr(), Py_None(), &mut out) };
            assert!(matches!(status, PySendResult::PYGEN_NEXT));
            yielded.push(format!(
                "{:?}",
                unsafe { Object::from_owned_ptr(a, out) }.unwrap()
            ));
        }
        assert_eq!(yielded, ["None", "'in the block'"]);
        let closed =
            unsafe { PyObject_CallMethod(aw.as_ptr(), c"close".as_ptr(), std::ptr::null()) };
        let closed = unsafe { Object::from_owned_ptr(a, closed) };
        assert!(closed.is_some(), "{:?}", Error::fetch(a));
        assert_eq!(log_of(&ctx), "['enter', 'exit GeneratorExit']");
    });
}

#[test]
fn not_a_context_manager_is_a_type_error_now_and_the_closures_are_dropped() {
    with_python(|a| {
        setup(a);
        let drops = Rc::new(Cell::new(0));
        let aw = Awaitable::new(a).unwrap();
        let (c1, c2) = (Counted(drops.clone()), Counted(drops.clone()));
        let err = aw
            .async_with_error(
                &int_obj(a, 1),
                move |_, _| {
                    let _ = &c1;
                    Ok(())
                },
                move |_, e| {
                    let _ = &c2;
                    Err(e)
                },
            )
            .unwrap_err();
        assert_eq!(
            err.message(a),
            "TypeError: PyAwaitable_AsyncWith: 'int' object does not support the \
             asynchronous context manager protocol (missed __aenter__ method)"
        );
        assert_eq!(drops.get(), 2);
        // The direct path: the runtime's own check, the same message.
        let err = aw.async_with(&int_obj(a, 1), |_, _| Ok(())).unwrap_err();
        assert!(err.message(a).contains("missed __aenter__"), "{err:?}");
        assert_eq!(run(&aw).unwrap().as_ptr(), Object::none(a).as_ptr());
    });
}

#[test]
fn closures_of_a_statement_that_never_runs_are_dropped() {
    with_python(|a| {
        setup(a);
        let drops = Rc::new(Cell::new(0));
        let add = |aw: &Awaitable<'_>| {
            let (c1, c2) = (Counted(drops.clone()), Counted(drops.clone()));
            aw.async_with_error(
                &eval(a, "Ctx()"),
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
        let aw = Awaitable::new(a).unwrap();
        add(&aw);
        aw.cancel();
        run(&aw).unwrap();
        drop(aw);
        assert_eq!(drops.get(), 2);
        // Run to the end: both dropped once.
        let aw = Awaitable::new(a).unwrap();
        add(&aw);
        run(&aw).unwrap();
        drop(aw);
        assert_eq!(drops.get(), 4);
    });
}

#[test]
fn the_wrapper_passes_aexit_the_real_exception() {
    // __aexit__ of a capturing statement gets the block's exception
    // itself, with its traceback, as it would from C callbacks.
    with_python(|a| {
        embed::exec(
            a,
            r#"
class Seen:
    async def __aenter__(self):
        return 'value'
    async def __aexit__(self, tp, exc, tb):
        self.seen = (tp, exc, tb is exc.__traceback__)
"#,
        )
        .unwrap();
        let ctx = eval(a, "Seen()");
        let token = Box::new(());
        let aw = Awaitable::new(a).unwrap();
        aw.async_with(&ctx, move |aw, value| {
            let _ = &token;
            assert_eq!(format!("{value:?}"), "'value'");
            Err(Error::builtin(aw.attached(), "KeyError", "k"))
        })
        .unwrap();
        assert_eq!(failure(a, run(&aw)), "KeyError: 'k'");
        let seen = call(a, "lambda c: c.seen", &[&ctx]);
        assert_eq!(
            format!("{seen:?}"),
            "(<class 'KeyError'>, KeyError('k'), True)"
        );
    });
}

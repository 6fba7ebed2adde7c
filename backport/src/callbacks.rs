//! The callback return-code protocol, in one place for every item kind.
//!
//! | callback | returns | meaning |
//! |----------|---------|---------|
//! | result   | 0       | continue with the next item |
//! | result   | -1      | the exception it set goes to this item's error callback (or propagates if there is none) |
//! | result   | -2      | the exception it set propagates past the error callback |
//! | error    | 0       | the exception is swallowed; continue |
//! | error    | -1      | the original exception propagates |
//! | error    | -2      | the exception it set propagates instead (the original is its `__context__`) |
//! | defer    | 0       | continue with the next item |
//! | defer    | -1, -2  | the exception it set propagates |
//!
//! Anything else is a bug in the callback and becomes a SystemError that
//! propagates: a negative return without an exception, 0 with an exception
//! still set, or a value outside the table.  Never a silent None, never a
//! crash.

use crate::bindings::{PyAwaitable_Callback, PyAwaitable_Error};
use crate::exceptions::{self, chain, system_error};
use crate::queue::DeferFn;
use crate::refs::Owned;
use pyo3_ffi::*;
use std::ffi::c_int;

/// What the awaitable does after an item's callbacks ran.
pub enum Flow {
    Continue,
    Raise(Owned),
}

/// Runs the result callback for `value`, then the error callback if the
/// result callback asked for it.
#[inline(always)]
pub unsafe fn on_result(
    aw: *mut PyObject,
    on_result: PyAwaitable_Callback,
    on_error: PyAwaitable_Error,
    value: Owned,
) -> Flow {
    let Some(cb) = on_result else {
        return Flow::Continue;
    };
    let rc = cb(aw, value.as_ptr());
    drop(value);
    if rc == 0 && PyErr_Occurred().is_null() {
        return Flow::Continue; // the common case, without a fetch
    }
    result_failed(aw, on_error, rc)
}

/// A result callback returned an error code, or 0 with an exception set.
#[cold]
#[inline(never)]
unsafe fn result_failed(aw: *mut PyObject, on_error: PyAwaitable_Error, rc: c_int) -> Flow {
    let exc = exceptions::fetch();
    match (rc, exc) {
        (0, None) => Flow::Continue,
        (-1, Some(exc)) => self::on_error(aw, on_error, exc),
        (-2, Some(exc)) => Flow::Raise(exc),
        (0, Some(exc)) => Flow::Raise(system_error(
            c"PyAwaitable result callback returned 0 with an exception set",
            Some(exc),
        )),
        (-1 | -2, None) => Flow::Raise(system_error(
            c"PyAwaitable result callback returned an error without setting an exception",
            None,
        )),
        (_, exc) => Flow::Raise(system_error(
            c"PyAwaitable result callback returned a value other than 0, -1 or -2",
            exc,
        )),
    }
}

/// Hands `exc` to the error callback, called with no exception set.
pub unsafe fn on_error(aw: *mut PyObject, on_error: PyAwaitable_Error, exc: Owned) -> Flow {
    let Some(cb) = on_error else {
        return Flow::Raise(exc);
    };
    let rc = cb(aw, exc.as_ptr());
    let new = exceptions::fetch();
    match (rc, new) {
        (0, None) => Flow::Continue,
        (-1, None) => Flow::Raise(exc),
        (-1, Some(stray)) => {
            // The callback asked for the original; what it left set has
            // nowhere to go, so report it rather than lose it silently.
            exceptions::write_unraisable(stray, aw);
            Flow::Raise(exc)
        }
        (-2, Some(new)) => {
            chain(&new, exc);
            Flow::Raise(new)
        }
        (0, Some(new)) => {
            chain(&new, exc);
            Flow::Raise(system_error(
                c"PyAwaitable error callback returned 0 with an exception set",
                Some(new),
            ))
        }
        (-2, None) => Flow::Raise(system_error(
            c"PyAwaitable error callback returned -2 without setting an exception",
            Some(exc),
        )),
        (_, new) => {
            // The exception being handled is the SystemError's context.
            let context = match new {
                Some(new) => {
                    chain(&new, exc);
                    new
                }
                None => exc,
            };
            Flow::Raise(system_error(
                c"PyAwaitable error callback returned a value other than 0, -1 or -2",
                Some(context),
            ))
        }
    }
}

/// Runs a deferred callback: its items are queued by now, or it raised.
pub unsafe fn on_defer(aw: *mut PyObject, cb: DeferFn) -> Flow {
    let rc = cb(aw);
    let exc = exceptions::fetch();
    match (rc, exc) {
        (0, None) => Flow::Continue,
        (-1 | -2, Some(exc)) => Flow::Raise(exc),
        (0, Some(exc)) => Flow::Raise(system_error(
            c"PyAwaitable defer callback returned 0 with an exception set",
            Some(exc),
        )),
        (-1 | -2, None) => Flow::Raise(system_error(
            c"PyAwaitable defer callback returned an error without setting an exception",
            None,
        )),
        (_, exc) => Flow::Raise(system_error(
            c"PyAwaitable defer callback returned a value other than 0, -1 or -2",
            exc,
        )),
    }
}

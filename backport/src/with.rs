//! `PyAwaitable_AsyncWith`: the `async with` statement.
//!
//! Like the statement, the special methods are looked up when it is
//! queued (a TypeError then if either is missing), `__aenter__()` is awaited
//! when the queue reaches it, and `__aexit__` is awaited when the block's
//! items are done, with the exception that ended the block if one did; a
//! true result suppresses that exception.  The block itself is a queue
//! scope (see `queue`); `object` drives the awaits.

use crate::bindings::PyAwaitable_Error;
use crate::callbacks::{self, Flow};
use crate::exceptions::{self, chain, type_name};
use crate::object::{self, Outcome};
use crate::queue;
use crate::refs::Owned;
use pyo3_ffi::*;
use std::ffi::CStr;
use std::ptr;

/// `type(obj).name` bound to `obj`, as the interpreter looks up special
/// methods (`_PyObject_LookupSpecial`): in the dicts of the type's MRO
/// only (not the instance, not the metaclass), then through the
/// attribute's `__get__`.  None, with no exception set, if not found.
unsafe fn lookup_special(obj: *mut PyObject, name: &CStr) -> Result<Option<Owned>, ()> {
    let tp = Py_TYPE(obj);
    let Some(attr) = type_lookup(tp, name)? else {
        return Ok(None);
    };
    match (*Py_TYPE(attr.as_ptr())).tp_descr_get {
        Some(get) => Owned::from_new(get(attr.as_ptr(), obj, tp.cast()))
            .map(Some)
            .ok_or(()),
        None => Ok(Some(attr)),
    }
}

/// `name` in the first dict of `tp`'s MRO that has it, unbound, as
/// `_PyType_Lookup` finds it (that function is private, so walked here).
unsafe fn type_lookup(tp: *mut PyTypeObject, name: &CStr) -> Result<Option<Owned>, ()> {
    let key = Owned::from_new(PyUnicode_InternFromString(name.as_ptr())).ok_or(())?;
    // A ready type always has its MRO; hold it, lookups may run code.
    let mro = Owned::from_borrowed((*tp).tp_mro);
    for i in 0..PyTuple_GET_SIZE(mro.as_ptr()) {
        let base = PyTuple_GET_ITEM(mro.as_ptr(), i).cast::<PyTypeObject>();
        let Some(dict) = type_dict(base) else {
            continue; // not reached: a ready type has its dict
        };
        let found = PyDict_GetItemWithError(dict.as_ptr(), key.as_ptr());
        if !found.is_null() {
            return Ok(Some(Owned::from_borrowed(found)));
        }
        if !PyErr_Occurred().is_null() {
            return Err(());
        }
    }
    Ok(None)
}

/// The dict of `tp` (3.12 keeps those of static builtin types elsewhere).
unsafe fn type_dict(tp: *mut PyTypeObject) -> Option<Owned> {
    #[cfg(Py_3_12)]
    let dict = PyType_GetDict(tp);
    #[cfg(not(Py_3_12))]
    let dict = {
        let dict = (*tp).tp_dict;
        Py_XINCREF(dict);
        dict
    };
    Owned::from_new(dict)
}

/// The bound `__aenter__` and `__aexit__` of `ctx`, or Err with TypeError
/// (naming `func`) if `ctx` is not an asynchronous context manager.
pub unsafe fn lookup(func: &CStr, ctx: *mut PyObject) -> Result<(Owned, Owned), ()> {
    let enter = lookup_special(ctx, c"__aenter__")?;
    let exit = lookup_special(ctx, c"__aexit__")?;
    match (enter, exit) {
        (Some(enter), Some(exit)) => Ok((enter, exit)),
        (enter, _) => {
            PyErr_Format(
                PyExc_TypeError,
                c"%s: '%.100s' object does not support the asynchronous context manager protocol (missed %s method)".as_ptr(),
                func.as_ptr(),
                type_name(ctx),
                if enter.is_none() { c"__aenter__" } else { c"__aexit__" }.as_ptr(),
            );
            Err(())
        }
    }
}

/// `exit(None, None, None)`, or `exit(type(exc), exc, exc.__traceback__)`:
/// the awaitable it returns, or None with an exception set.
pub unsafe fn call_exit(exit: &Owned, exc: Option<&Owned>) -> Option<Owned> {
    let none = Py_None();
    let (tp, value, tb) = match exc {
        None => (none, none, None),
        Some(exc) => (
            Py_TYPE(exc.as_ptr()).cast(),
            exc.as_ptr(),
            Owned::from_new(PyException_GetTraceback(exc.as_ptr())),
        ),
    };
    let args = [tp, value, tb.as_ref().map_or(none, Owned::as_ptr)];
    Owned::from_new(PyObject_Vectorcall(
        exit.as_ptr(),
        args.as_ptr(),
        args.len(),
        ptr::null_mut(),
    ))
}

/// The block is over: `__aexit__` returned `outcome`.  A block left by
/// `exc` re-raises it unless `__aexit__` returned a true value; whatever
/// propagates out of the statement goes to its error callback.
pub unsafe fn exited(
    aw: *mut PyObject,
    outcome: Result<Owned, Owned>,
    exc: Option<Owned>,
    on_error: PyAwaitable_Error,
) -> Flow {
    let raised = match (outcome, exc) {
        (Ok(_), None) => return Flow::Continue,
        (Ok(suppress), Some(exc)) => match PyObject_IsTrue(suppress.as_ptr()) {
            1 => return Flow::Continue,
            0 => exc,
            _ => {
                let error = exceptions::fetch_or_system_error(c"__aexit__ result");
                chain(&error, exc);
                error
            }
        },
        (Err(error), exc) => {
            if let Some(exc) = exc {
                chain(&error, exc);
            }
            error
        }
    };
    callbacks::on_error(aw, on_error, raised)
}

/// Exits a block of an awaitable that is being closed or failed without
/// running anything more: `__aexit__` gets `error` (a new GeneratorExit
/// if None) and must finish without suspending, as a coroutine must when
/// closed.  Its result cannot resume the awaitable, so it is ignored.
/// Returns the exception left to raise: `error` (or the GeneratorExit made
/// for it), or what `__aexit__` raised instead.
pub unsafe fn exit_while_closing(exit: &Owned, error: Option<Owned>) -> Owned {
    let exc = match error {
        Some(exc) => exc,
        None => {
            PyErr_SetNone(PyExc_GeneratorExit);
            exceptions::fetch_or_system_error(c"GeneratorExit")
        }
    };
    let outcome = match call_exit(exit, Some(&exc)) {
        None => Outcome::Raise(exceptions::fetch_or_system_error(c"__aexit__")),
        Some(awaitable) => match queue::await_iter(awaitable) {
            None => Outcome::Raise(exceptions::fetch_or_system_error(c"await")),
            Some(iter) => match object::send(&iter, Py_None()) {
                Outcome::Yield(_) => {
                    if let Some(error) = queue::close_iter(iter.as_ptr()) {
                        exceptions::write_unraisable(error, exit.as_ptr());
                    }
                    PyErr_SetString(
                        PyExc_RuntimeError,
                        c"PyAwaitable_AsyncWith: __aexit__ suspended while the awaitable was being closed".as_ptr(),
                    );
                    Outcome::Raise(exceptions::fetch_or_system_error(c"__aexit__"))
                }
                done => done,
            },
        },
    };
    match outcome {
        // Whatever it raised, a new GeneratorExit included, goes on to the
        // next __aexit__ and decides close()'s result, as in a coroutine.
        Outcome::Raise(raised) => {
            chain(&raised, exc);
            raised
        }
        _ => exc,
    }
}

//! The METH_ASYNC calling conventions: which C signature an entry's flags
//! select, and one call through it with a fresh awaitable.

use crate::bindings::{
    PyAsyncCFunction, PyAsyncCFunctionFast, PyAsyncCFunctionFastWithKeywords,
    PyAsyncCFunctionWithKeywords, PyAsyncCMethod,
};
use crate::exceptions::{self, fetch_or_system_error};
use crate::object;
use crate::refs::Owned;
use pyo3_ffi::*;
use std::ffi::c_int;
use std::{mem, ptr};

pub const METH_ASYNC: c_int = crate::bindings::METH_ASYNC as c_int;

/// The flags that select the signature.
const KIND: c_int =
    METH_VARARGS | METH_KEYWORDS | METH_NOARGS | METH_O | METH_FASTCALL | METH_METHOD;
/// Every flag an async entry may carry.
pub const KNOWN: c_int = KIND | METH_CLASS | METH_STATIC | METH_COEXIST | METH_ASYNC;

/// The C signature of an async entry (see `pyawaitable.h`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Convention {
    NoArgs,
    O,
    VarArgs,
    VarArgsKeywords,
    Fast,
    FastKeywords,
    Method,
}

impl Convention {
    /// The convention `flags` select, or None for an invalid combination.
    pub fn of(flags: c_int) -> Option<Convention> {
        Some(match flags & KIND {
            METH_NOARGS => Convention::NoArgs,
            METH_O => Convention::O,
            METH_VARARGS => Convention::VarArgs,
            f if f == METH_VARARGS | METH_KEYWORDS => Convention::VarArgsKeywords,
            METH_FASTCALL => Convention::Fast,
            f if f == METH_FASTCALL | METH_KEYWORDS => Convention::FastKeywords,
            f if f == METH_METHOD | METH_FASTCALL | METH_KEYWORDS => Convention::Method,
            _ => return None,
        })
    }
}

/// What a call needs besides its arguments (all borrowed).
pub struct Entry {
    pub def: *mut PyMethodDef,
    pub conv: Convention,
    /// The first C argument: module, instance, class, or the type of a
    /// static method.
    pub slf: *mut PyObject,
    /// The class that defined the method; passed to `METH_METHOD` entries.
    pub class: *mut PyTypeObject,
    pub awaitable_type: *mut PyTypeObject,
}

/// `module.qualname()` (or `qualname()` for builtins), as CPython names
/// functions in call errors.
pub unsafe fn function_str(callable: *mut PyObject) -> Option<Owned> {
    let qualname = Owned::from_new(PyObject_GetAttrString(callable, c"__qualname__".as_ptr()))?;
    let module = Owned::from_new(PyObject_GetAttrString(callable, c"__module__".as_ptr()));
    if module.is_none() {
        PyErr_Clear();
    }
    let text = match module {
        Some(m)
            if PyUnicode_Check(m.as_ptr()) != 0
                && PyUnicode_CompareWithASCIIString(m.as_ptr(), c"builtins".as_ptr()) != 0 =>
        {
            PyUnicode_FromFormat(c"%U.%U()".as_ptr(), m.as_ptr(), qualname.as_ptr())
        }
        _ => PyUnicode_FromFormat(c"%U()".as_ptr(), qualname.as_ptr()),
    };
    Owned::from_new(text)
}

/// Raises `ty` with `format` applied to the callable's name and `n`.
#[cold]
pub unsafe fn call_error(
    ty: *mut PyObject,
    callable: *mut PyObject,
    format: &std::ffi::CStr,
    n: Py_ssize_t,
) -> *mut PyObject {
    if let Some(name) = function_str(callable) {
        PyErr_Format(ty, format.as_ptr(), name.as_ptr(), n);
    }
    ptr::null_mut()
}

/// A new tuple of the positional arguments.
unsafe fn tuple(args: *const *mut PyObject, nargs: Py_ssize_t) -> Option<Owned> {
    let t = Owned::from_new(PyTuple_New(nargs))?;
    for i in 0..nargs {
        let item = *args.offset(i);
        Py_INCREF(item);
        PyTuple_SET_ITEM(t.as_ptr(), i, item);
    }
    Some(t)
}

/// A new dict of the keyword arguments, or None (no error) if there are
/// none, as `METH_KEYWORDS` functions expect.
unsafe fn kwargs(
    values: *const *mut PyObject,
    kwnames: *mut PyObject,
) -> Result<Option<Owned>, ()> {
    if kwnames.is_null() || PyTuple_GET_SIZE(kwnames) == 0 {
        return Ok(None);
    }
    let dict = Owned::from_new(PyDict_New()).ok_or(())?;
    for i in 0..PyTuple_GET_SIZE(kwnames) {
        if PyDict_SetItem(
            dict.as_ptr(),
            PyTuple_GET_ITEM(kwnames, i),
            *values.offset(i),
        ) < 0
        {
            return Err(());
        }
    }
    Ok(Some(dict))
}

/// Calls the entry's C function with a fresh awaitable and returns the
/// awaitable, whose result is the function's return value.  `callable`
/// names the function in errors.
#[inline]
pub unsafe fn invoke(
    callable: *mut PyObject,
    e: &Entry,
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
) -> *mut PyObject {
    let has_keywords = !kwnames.is_null() && PyTuple_GET_SIZE(kwnames) != 0;
    match e.conv {
        Convention::VarArgsKeywords | Convention::FastKeywords | Convention::Method => {}
        _ if has_keywords => {
            return call_error(
                PyExc_TypeError,
                callable,
                c"%U takes no keyword arguments",
                0,
            )
        }
        Convention::NoArgs if nargs != 0 => {
            return call_error(
                PyExc_TypeError,
                callable,
                c"%U takes no arguments (%zd given)",
                nargs,
            )
        }
        Convention::O if nargs != 1 => {
            return call_error(
                PyExc_TypeError,
                callable,
                c"%U takes exactly one argument (%zd given)",
                nargs,
            )
        }
        _ => {}
    }
    let aw = object::new(e.awaitable_type);
    if aw.is_null() {
        return aw;
    }
    if Py_EnterRecursiveCall(c" while calling a Python object".as_ptr()) != 0 {
        return discard(aw);
    }
    let meth = (*e.def).ml_meth;
    let slf = e.slf;
    let result = match e.conv {
        Convention::NoArgs => {
            let f: PyAsyncCFunction = mem::transmute(meth);
            f.unwrap_unchecked()(slf, aw, ptr::null_mut())
        }
        Convention::O => {
            let f: PyAsyncCFunction = mem::transmute(meth);
            f.unwrap_unchecked()(slf, aw, *args)
        }
        Convention::VarArgs => match tuple(args, nargs) {
            Some(t) => {
                let f: PyAsyncCFunction = mem::transmute(meth);
                f.unwrap_unchecked()(slf, aw, t.as_ptr())
            }
            None => ptr::null_mut(),
        },
        Convention::VarArgsKeywords => {
            match (tuple(args, nargs), kwargs(args.offset(nargs), kwnames)) {
                (Some(t), Ok(kw)) => {
                    let f: PyAsyncCFunctionWithKeywords = mem::transmute(meth);
                    let kw = kw.as_ref().map_or(ptr::null_mut(), Owned::as_ptr);
                    f.unwrap_unchecked()(slf, aw, t.as_ptr(), kw)
                }
                _ => ptr::null_mut(),
            }
        }
        Convention::Fast => {
            let f: PyAsyncCFunctionFast = mem::transmute(meth);
            f.unwrap_unchecked()(slf, aw, args, nargs)
        }
        Convention::FastKeywords => {
            let f: PyAsyncCFunctionFastWithKeywords = mem::transmute(meth);
            f.unwrap_unchecked()(slf, aw, args, nargs, kwnames)
        }
        Convention::Method => {
            let f: PyAsyncCMethod = mem::transmute(meth);
            f.unwrap_unchecked()(slf, aw, e.class, args, nargs, kwnames)
        }
    };
    Py_LeaveRecursiveCall();
    finish(callable, aw, result)
}

/// The awaitable with `result` as its result, or NULL with the call's
/// exception (checked as CPython checks a builtin's result).
#[inline(always)]
unsafe fn finish(
    callable: *mut PyObject,
    aw: *mut PyObject,
    result: *mut PyObject,
) -> *mut PyObject {
    if !result.is_null() && result != aw && PyErr_Occurred().is_null() {
        object::set_result(object::cast(aw), Owned::from_new(result).unwrap_unchecked());
        return aw;
    }
    bad_result(callable, aw, result)
}

#[cold]
unsafe fn bad_result(
    callable: *mut PyObject,
    aw: *mut PyObject,
    result: *mut PyObject,
) -> *mut PyObject {
    let message = if result.is_null() {
        if !PyErr_Occurred().is_null() {
            return discard(aw);
        }
        c"%U returned NULL without setting an exception"
    } else if result == aw {
        c"%U returned its own awaitable; return the awaitable's result (e.g. Py_None) instead"
    } else {
        c"%U returned a result with an exception set"
    };
    let cause = exceptions::fetch();
    Py_XDECREF(result);
    if let Some(name) = function_str(callable) {
        PyErr_Format(PyExc_SystemError, message.as_ptr(), name.as_ptr());
        if let Some(cause) = cause {
            let exc = fetch_or_system_error(c"METH_ASYNC call");
            exceptions::chain(&exc, cause);
            exceptions::restore(exc);
        }
    }
    discard(aw)
}

/// Drops the awaitable of a failed call: its items are closed without the
/// never-awaited warning, since the caller never got it.
unsafe fn discard(aw: *mut PyObject) -> *mut PyObject {
    let saved = exceptions::fetch();
    object::cancel(object::cast(aw));
    Py_DECREF(aw);
    if let Some(saved) = saved {
        exceptions::restore(saved);
    }
    ptr::null_mut()
}

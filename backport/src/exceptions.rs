//! The current exception as an owned object, on every supported version.
//!
//! 3.12 added `PyErr_GetRaisedException`; before it an exception is a
//! (type, value, traceback) triple that may not be normalized yet.  The rest
//! of the crate only sees normalized exception instances.

use crate::refs::Owned;
use pyo3_ffi::*;
use std::ffi::{c_char, CStr};

/// Takes the current exception, if any, leaving none set.
#[inline]
pub unsafe fn fetch() -> Option<Owned> {
    #[cfg(Py_3_12)]
    {
        Owned::from_new(PyErr_GetRaisedException())
    }
    #[cfg(not(Py_3_12))]
    {
        use std::ptr;
        let (mut ty, mut value, mut tb) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
        PyErr_Fetch(&mut ty, &mut value, &mut tb);
        if ty.is_null() {
            return None;
        }
        PyErr_NormalizeException(&mut ty, &mut value, &mut tb);
        if !tb.is_null() {
            PyException_SetTraceback(value, tb);
            Py_DECREF(tb);
        }
        Py_DECREF(ty);
        Owned::from_new(value)
    }
}

/// Sets `exc` (an exception instance) as the current exception.
#[inline]
pub unsafe fn restore(exc: Owned) {
    #[cfg(Py_3_12)]
    {
        PyErr_SetRaisedException(exc.into_ptr());
    }
    #[cfg(not(Py_3_12))]
    {
        let value = exc.into_ptr();
        let ty = Py_TYPE(value).cast::<PyObject>();
        Py_INCREF(ty);
        PyErr_Restore(ty, value, PyException_GetTraceback(value));
    }
}

/// Takes the current exception; a caller that saw an error indicator but
/// finds none gets a SystemError naming `what`, never a silent success.
pub unsafe fn fetch_or_system_error(what: &CStr) -> Owned {
    if let Some(exc) = fetch() {
        return exc;
    }
    PyErr_Format(
        PyExc_SystemError,
        c"%s failed without setting an exception".as_ptr(),
        what.as_ptr(),
    );
    fetch().expect("PyErr_Format sets an exception")
}

/// Raises `ty(message)` and returns -1, for `int`-returning entry points.
#[inline]
pub unsafe fn raise(ty: *mut PyObject, message: &CStr) -> i32 {
    PyErr_SetString(ty, message.as_ptr());
    -1
}

/// Makes `context` the `__context__` of `exc`, as raising `exc` inside an
/// `except` block that caught `context` would.
pub unsafe fn chain(exc: &Owned, context: Owned) {
    if exc.as_ptr() != context.as_ptr() {
        PyException_SetContext(exc.as_ptr(), context.into_ptr());
    }
}

/// A new SystemError instance with `message`; `context` becomes its
/// `__context__` (the exception that was being handled).
pub unsafe fn system_error(message: &CStr, context: Option<Owned>) -> Owned {
    PyErr_SetString(PyExc_SystemError, message.as_ptr());
    let exc = fetch().expect("PyErr_SetString sets an exception");
    if let Some(context) = context {
        chain(&exc, context);
    }
    exc
}

/// Reports an exception that has nowhere to go (finalizers, close of items
/// that were never run) through `sys.unraisablehook`, like CPython does.
pub unsafe fn write_unraisable(exc: Owned, obj: *mut PyObject) {
    restore(exc);
    PyErr_WriteUnraisable(obj);
}

/// Ends an iteration with `value` as StopIteration's value, exactly: a tuple
/// or an exception instance is wrapped in a StopIteration instance instead
/// of being taken for constructor arguments.
pub unsafe fn set_stop_iteration(value: Owned) {
    let ptr = value.as_ptr();
    if PyTuple_Check(ptr) == 0 && PyExceptionInstance_Check(ptr) == 0 {
        // Taken as the single argument: no wrapping needed.
        PyErr_SetObject(PyExc_StopIteration, ptr);
        return;
    }
    let stop = PyObject_CallOneArg(PyExc_StopIteration, value.as_ptr());
    if !stop.is_null() {
        PyErr_SetObject(PyExc_StopIteration, stop);
        Py_DECREF(stop);
    }
}

/// The value a StopIteration instance carries.
pub unsafe fn stop_iteration_value(exc: &Owned) -> Option<Owned> {
    Owned::from_new(PyObject_GetAttrString(exc.as_ptr(), c"value".as_ptr()))
}

/// `tp_name` of an object's type, for error messages.
#[inline]
pub unsafe fn type_name(obj: *mut PyObject) -> *const c_char {
    (*Py_TYPE(obj)).tp_name
}

/// True if `exc` is an instance of the exception class `ty`.
#[inline]
pub unsafe fn is_instance(exc: &Owned, ty: *mut PyObject) -> bool {
    PyErr_GivenExceptionMatches(exc.as_ptr(), ty) != 0
}

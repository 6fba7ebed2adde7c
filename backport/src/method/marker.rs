//! `inspect.iscoroutinefunction()` and `asyncio.iscoroutinefunction()` for
//! async builtins.
//!
//! Both look for a marker attribute: asyncio for `_is_coroutine` (3.10+),
//! inspect for the one `inspect.markcoroutinefunction()` sets (3.12+, its
//! name and value private to inspect).  Our objects answer those attributes
//! when generic lookup fails; the inspect marker is learned by marking a
//! probe object with the public function, so no private name is assumed.
//! Only modules already imported are consulted: whoever asks has imported
//! them.

use crate::exceptions;
use crate::refs::Owned;
use pyo3_ffi::*;
use std::ptr;

/// `tp_getattro` of the async function and descriptor types.
pub unsafe extern "C" fn getattro(obj: *mut PyObject, name: *mut PyObject) -> *mut PyObject {
    let found = PyObject_GenericGetAttr(obj, name);
    if !found.is_null() || PyErr_ExceptionMatches(PyExc_AttributeError) == 0 {
        return found;
    }
    let Some(missing) = exceptions::fetch() else {
        return found;
    };
    match marker(name) {
        Some(value) => value.into_ptr(),
        None => {
            // A failure while looking is not the caller's concern.
            PyErr_Clear();
            exceptions::restore(missing);
            ptr::null_mut()
        }
    }
}

/// The imported module `name`, if any.
unsafe fn imported(name: &std::ffi::CStr) -> Option<Owned> {
    let name = Owned::from_new(PyUnicode_FromString(name.as_ptr()))?;
    Owned::from_new(PyImport_GetModule(name.as_ptr()))
}

unsafe fn attr(obj: &Owned, name: &std::ffi::CStr) -> Option<Owned> {
    Owned::from_new(PyObject_GetAttrString(obj.as_ptr(), name.as_ptr()))
}

/// The marker value for attribute `name`, or None (maybe with an exception
/// set) if `name` is not a marker attribute.
unsafe fn marker(name: *mut PyObject) -> Option<Owned> {
    if PyUnicode_Check(name) == 0 {
        return None;
    }
    if PyUnicode_CompareWithASCIIString(name, c"_is_coroutine".as_ptr()) == 0 {
        return attr(&imported(c"asyncio.coroutines")?, c"_is_coroutine");
    }
    let mark = attr(&imported(c"inspect")?, c"markcoroutinefunction")?;
    let probe = Owned::from_new(PyObject_CallNoArgs(
        attr(&imported(c"types")?, c"SimpleNamespace")?.as_ptr(),
    ))?;
    Owned::from_new(PyObject_CallOneArg(mark.as_ptr(), probe.as_ptr()))?;
    let dict = attr(&probe, c"__dict__")?;
    let value = PyDict_GetItemWithError(dict.as_ptr(), name);
    (!value.is_null()).then(|| Owned::from_borrowed(value))
}

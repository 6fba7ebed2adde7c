//! Owned strong references.
//!
//! Every `PyObject *` the awaitable keeps is an [`Owned`], so a reference is
//! released exactly once, when its owner drops it.  All of this crate runs
//! with the GIL held (or, on free-threaded builds, attached to the
//! interpreter), which is what `Drop` relies on.

use pyo3_ffi::{PyObject, Py_DECREF, Py_INCREF, Py_None};
use std::ptr::NonNull;

/// A strong reference to a Python object.
#[repr(transparent)]
pub struct Owned(NonNull<PyObject>);

impl Owned {
    /// Takes ownership of a new reference; `None` for NULL.
    ///
    /// # Safety
    /// `ptr` is NULL or a strong reference the caller gives up.
    #[inline]
    pub unsafe fn from_new(ptr: *mut PyObject) -> Option<Owned> {
        NonNull::new(ptr).map(Owned)
    }

    /// Takes a new strong reference to a borrowed object.
    ///
    /// # Safety
    /// `ptr` is a valid, non-NULL object pointer.
    #[inline]
    pub unsafe fn from_borrowed(ptr: *mut PyObject) -> Owned {
        debug_assert!(!ptr.is_null());
        Py_INCREF(ptr);
        Owned(NonNull::new_unchecked(ptr))
    }

    /// A new reference to `None`.
    #[inline]
    pub fn none() -> Owned {
        // SAFETY: None is immortal on 3.12+ and always valid.
        unsafe { Owned::from_borrowed(Py_None()) }
    }

    #[inline]
    pub fn as_ptr(&self) -> *mut PyObject {
        self.0.as_ptr()
    }

    /// Gives the strong reference to the caller (e.g. as a return value).
    #[inline]
    pub fn into_ptr(self) -> *mut PyObject {
        let ptr = self.0.as_ptr();
        std::mem::forget(self);
        ptr
    }
}

impl Clone for Owned {
    fn clone(&self) -> Owned {
        // SAFETY: self holds a valid reference.
        unsafe { Owned::from_borrowed(self.as_ptr()) }
    }
}

impl Drop for Owned {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: we own one strong reference.
        unsafe { Py_DECREF(self.0.as_ptr()) }
    }
}

//! The freelist: memory of freed awaitables, kept for the next
//! `PyAwaitable_New()` of the main interpreter.
//!
//! A trampoline allocates and frees one awaitable per call; reusing the
//! memory skips the allocator, the zero fill and the GC bookkeeping, like
//! CPython's own freelists for frames and tuples.  Only the main
//! interpreter uses it, so its GIL guards it; free-threaded builds have no
//! freelist.  An object goes on it only if no finalizer ever ran on it, so
//! its GC header is exactly what a fresh allocation has (untracked, no
//! "finalized" bit); 3.14 and later are left out until that is verified
//! there.

use pyo3_ffi::*;

#[cfg(not(any(Py_GIL_DISABLED, Py_3_14)))]
mod imp {
    use super::*;
    use crate::runtime;
    use std::ptr;

    /// Enough for bursts of short-lived awaitables; 64 objects of about
    /// 200 bytes each.
    const CAPACITY: usize = 64;

    struct FreeList {
        len: usize,
        objects: [*mut PyObject; CAPACITY],
    }

    /// Only touched by the main interpreter with its GIL held.
    static mut FREE: FreeList = FreeList {
        len: 0,
        objects: [ptr::null_mut(); CAPACITY],
    };

    /// A reused object of type `tp` with a new reference (fields as its
    /// `dealloc` left them, not tracked), or NULL.
    #[inline]
    pub unsafe fn pop(tp: *mut PyTypeObject) -> *mut PyObject {
        // The type first: an interpreter with its own GIL (whose type is
        // its own) must not touch the list the main interpreter's GIL
        // guards, not even to read its length.
        if tp != runtime::main_type() {
            return ptr::null_mut();
        }
        let free = &mut *ptr::addr_of_mut!(FREE);
        if free.len == 0 {
            return ptr::null_mut();
        }
        free.len -= 1;
        let obj = free.objects[free.len];
        // Sets the type (a new reference to it) and the refcount, and
        // tells tracemalloc and debug builds about the object.
        PyObject_Init(obj, tp)
    }

    /// Keeps `obj` (untracked, fields emptied, type reference still held by
    /// the caller) instead of freeing it; false if it cannot.
    #[inline]
    pub unsafe fn push(obj: *mut PyObject) -> bool {
        // The type first, as in pop().
        if Py_TYPE(obj) != runtime::main_type() {
            return false;
        }
        let free = &mut *ptr::addr_of_mut!(FREE);
        if free.len == CAPACITY {
            return false;
        }
        free.objects[free.len] = obj;
        free.len += 1;
        true
    }

    /// Frees everything kept; called when the main interpreter's type goes
    /// away, while the allocator is still live.
    pub unsafe fn drain() {
        let free = &mut *ptr::addr_of_mut!(FREE);
        while free.len > 0 {
            free.len -= 1;
            // The type's tp_free (heap GC types always get this one).
            PyObject_GC_Del(free.objects[free.len].cast());
        }
    }
}

#[cfg(any(Py_GIL_DISABLED, Py_3_14))]
mod imp {
    use super::*;

    #[inline]
    pub unsafe fn pop(_tp: *mut PyTypeObject) -> *mut PyObject {
        std::ptr::null_mut()
    }

    #[inline]
    pub unsafe fn push(_obj: *mut PyObject) -> bool {
        false
    }

    pub unsafe fn drain() {}
}

pub use imp::{drain, pop, push};

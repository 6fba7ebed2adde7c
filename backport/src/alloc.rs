//! Memory: the runtime's Rust allocations go through CPython's raw
//! allocator, and those it makes for a caller can fail.
//!
//! With the `pymem` feature (on for the runtime module maturin builds) the
//! crate's global allocator is `PyMem_RawMalloc` and friends, so
//! tracemalloc counts the queue and the saved values, and
//! `_testcapi.set_nomemory` can fail them (tests/test_nomemory.py).  The
//! raw domain needs no thread state, as a global allocator must not.
//!
//! A Rust allocation that fails aborts unless it is fallible, so every one
//! made for a C caller is: [`try_box`] and `try_reserve` turn it into
//! MemoryError.  Paths that cannot fail (closing, cancelling, freeing) do
//! not allocate.

use std::alloc::Layout;
#[cfg(feature = "pymem")]
use std::alloc::{GlobalAlloc, System};

/// What `PyMem_RawMalloc` (malloc) aligns to: `max_align_t`, two words on
/// the platforms CPython supports.  Larger alignments go to the system.
#[cfg(feature = "pymem")]
const RAW_ALIGN: usize = 2 * std::mem::size_of::<usize>();

/// `PyMem_RawMalloc` as a Rust global allocator.
#[cfg(feature = "pymem")]
pub struct PyMemRaw;

#[cfg(feature = "pymem")]
unsafe impl GlobalAlloc for PyMemRaw {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= RAW_ALIGN {
            pyo3_ffi::PyMem_RawMalloc(layout.size()).cast()
        } else {
            System.alloc(layout)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= RAW_ALIGN {
            pyo3_ffi::PyMem_RawCalloc(1, layout.size()).cast()
        } else {
            System.alloc_zeroed(layout)
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.align() <= RAW_ALIGN {
            pyo3_ffi::PyMem_RawFree(ptr.cast());
        } else {
            System.dealloc(ptr, layout);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= RAW_ALIGN {
            pyo3_ffi::PyMem_RawRealloc(ptr.cast(), new_size).cast()
        } else {
            System.realloc(ptr, layout, new_size)
        }
    }
}

/// `Box::new` that returns None instead of aborting when memory runs out
/// (`value` is dropped then).
pub fn try_box<T>(value: T) -> Option<Box<T>> {
    let layout = Layout::new::<T>();
    if layout.size() == 0 {
        return Some(Box::new(value));
    }
    // SAFETY: the layout is T's and not zero-sized; a non-null block of it
    // is written once and then owned by the Box, which frees it with the
    // same layout.
    unsafe {
        let ptr = std::alloc::alloc(layout).cast::<T>();
        if ptr.is_null() {
            return None;
        }
        ptr.write(value);
        Some(Box::from_raw(ptr))
    }
}

/// Sets MemoryError; for the `-1` / `false` / None returns of the callers.
pub unsafe fn no_memory() {
    pyo3_ffi::PyErr_NoMemory();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_box_holds_the_value() {
        assert_eq!(*try_box(7u64).unwrap(), 7);
        assert_eq!(*try_box(()).unwrap(), ());
        assert_eq!(try_box([1u8; 100]).unwrap().len(), 100);
    }
}

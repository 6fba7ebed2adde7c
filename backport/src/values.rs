//! Values saved on an awaitable for its callbacks.
//!
//! C callbacks cannot close over locals, so the function that creates the
//! awaitable saves what its callbacks need.  Object values are strong
//! references held until the awaitable is freed (or cleared by GC);
//! arbitrary values are `void *` that are never dereferenced or freed.

use crate::refs::Owned;
use pyo3_ffi::{PyObject, Py_ssize_t};
use std::ffi::c_void;

#[derive(Default)]
pub struct Values {
    objects: Vec<Owned>,
    arbitrary: Vec<*mut c_void>,
}

/// Why an index or count was refused; the caller turns it into an
/// exception naming the C function.
pub enum Refused {
    Index { index: Py_ssize_t, len: usize },
    Count { wanted: Py_ssize_t, len: usize },
}

fn slot(index: Py_ssize_t, len: usize) -> Result<usize, Refused> {
    usize::try_from(index)
        .ok()
        .filter(|&i| i < len)
        .ok_or(Refused::Index { index, len })
}

fn count(wanted: Py_ssize_t, len: usize) -> Result<usize, Refused> {
    usize::try_from(wanted)
        .ok()
        .filter(|&n| n <= len)
        .ok_or(Refused::Count { wanted, len })
}

impl Values {
    pub fn save(&mut self, values: impl IntoIterator<Item = Owned>) {
        self.objects.extend(values);
    }

    /// The first `n` values, in save order (borrowed).
    pub fn unpack(&self, n: Py_ssize_t, out: &mut [*mut PyObject]) -> Result<(), Refused> {
        let n = count(n, self.objects.len())?;
        for (dst, src) in out.iter_mut().zip(&self.objects[..n]) {
            *dst = src.as_ptr();
        }
        Ok(())
    }

    /// Replaces a value; the old one is returned so the caller releases it
    /// after the awaitable is consistent again (its finalizer may run code).
    pub fn set(&mut self, index: Py_ssize_t, value: Owned) -> Result<Owned, Refused> {
        let i = slot(index, self.objects.len())?;
        Ok(std::mem::replace(&mut self.objects[i], value))
    }

    pub fn get(&self, index: Py_ssize_t) -> Result<*mut PyObject, Refused> {
        let i = slot(index, self.objects.len())?;
        Ok(self.objects[i].as_ptr())
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn save_arbitrary(&mut self, values: &[*mut c_void]) {
        self.arbitrary.extend_from_slice(values);
    }

    pub fn unpack_arbitrary(&self, n: Py_ssize_t, out: &mut [*mut c_void]) -> Result<(), Refused> {
        let n = count(n, self.arbitrary.len())?;
        out[..n].copy_from_slice(&self.arbitrary[..n]);
        Ok(())
    }

    pub fn set_arbitrary(&mut self, index: Py_ssize_t, value: *mut c_void) -> Result<(), Refused> {
        let i = slot(index, self.arbitrary.len())?;
        self.arbitrary[i] = value;
        Ok(())
    }

    pub fn get_arbitrary(&self, index: Py_ssize_t) -> Result<*mut c_void, Refused> {
        let i = slot(index, self.arbitrary.len())?;
        Ok(self.arbitrary[i])
    }

    pub fn len_arbitrary(&self) -> usize {
        self.arbitrary.len()
    }

    pub fn objects(&self) -> impl Iterator<Item = *mut PyObject> + '_ {
        self.objects.iter().map(Owned::as_ptr)
    }

    /// Removes every object value (for GC's tp_clear); the caller drops them.
    pub fn take_objects(&mut self) -> Vec<Owned> {
        std::mem::take(&mut self.objects)
    }
}

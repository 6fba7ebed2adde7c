//! Values saved on an awaitable for its callbacks.
//!
//! C callbacks cannot close over locals, so the function that creates the
//! awaitable saves what its callbacks need.  Object values are strong
//! references held until the awaitable is freed (or cleared by GC);
//! arbitrary values are `void *` that are never dereferenced or freed.

use crate::alloc;
use crate::refs::Owned;
use pyo3_ffi::{PyObject, Py_ssize_t};
use std::ffi::c_void;

/// Boxed on first use: most awaitables save nothing, and an empty
/// `Values` is then one null pointer to write and to check on free.
#[derive(Default)]
pub struct Values(Option<Box<Store>>);

#[derive(Default)]
struct Store {
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
    /// True if nothing was ever saved: nothing to free.
    #[inline]
    pub fn is_unused(&self) -> bool {
        self.0.is_none()
    }

    /// The store, made on first use; None without memory for it.
    fn store(&mut self) -> Option<&mut Store> {
        if self.0.is_none() {
            self.0 = Some(alloc::try_box(Store::default())?);
        }
        self.0.as_deref_mut()
    }

    fn objects_slice(&self) -> &[Owned] {
        self.0.as_ref().map_or(&[], |s| &s.objects)
    }

    fn arbitrary_slice(&self) -> &[*mut c_void] {
        self.0.as_ref().map_or(&[], |s| &s.arbitrary)
    }

    fn objects_mut(&mut self) -> &mut [Owned] {
        self.0.as_mut().map_or(&mut [], |s| &mut s.objects)
    }

    fn arbitrary_mut(&mut self) -> &mut [*mut c_void] {
        self.0.as_mut().map_or(&mut [], |s| &mut s.arbitrary)
    }

    /// Saves new references to `values`; false, with nothing saved,
    /// without memory for them.
    ///
    /// # Safety
    /// Each value is a live object (not NULL), and the caller is attached.
    #[must_use]
    pub unsafe fn save(&mut self, values: &[*mut PyObject]) -> bool {
        let Some(store) = self.store() else {
            return false;
        };
        if store.objects.try_reserve(values.len()).is_err() {
            return false;
        }
        store
            .objects
            .extend(values.iter().map(|&v| Owned::from_borrowed(v)));
        true
    }

    /// The first `n` values, in save order (borrowed).
    pub fn unpack(&self, n: Py_ssize_t, out: &mut [*mut PyObject]) -> Result<(), Refused> {
        let objects = self.objects_slice();
        let n = count(n, objects.len())?;
        for (dst, src) in out.iter_mut().zip(&objects[..n]) {
            *dst = src.as_ptr();
        }
        Ok(())
    }

    /// Replaces a value; the old one is returned so the caller releases it
    /// after the awaitable is consistent again (its finalizer may run code).
    pub fn set(&mut self, index: Py_ssize_t, value: Owned) -> Result<Owned, Refused> {
        let objects = self.objects_mut();
        let i = slot(index, objects.len())?;
        Ok(std::mem::replace(&mut objects[i], value))
    }

    pub fn get(&self, index: Py_ssize_t) -> Result<*mut PyObject, Refused> {
        let objects = self.objects_slice();
        let i = slot(index, objects.len())?;
        Ok(objects[i].as_ptr())
    }

    pub fn len(&self) -> usize {
        self.objects_slice().len()
    }

    /// False, with nothing saved, without memory for them.
    #[must_use]
    pub fn save_arbitrary(&mut self, values: &[*mut c_void]) -> bool {
        let Some(store) = self.store() else {
            return false;
        };
        if store.arbitrary.try_reserve(values.len()).is_err() {
            return false;
        }
        store.arbitrary.extend_from_slice(values);
        true
    }

    pub fn unpack_arbitrary(&self, n: Py_ssize_t, out: &mut [*mut c_void]) -> Result<(), Refused> {
        let arbitrary = self.arbitrary_slice();
        let n = count(n, arbitrary.len())?;
        out[..n].copy_from_slice(&arbitrary[..n]);
        Ok(())
    }

    pub fn set_arbitrary(&mut self, index: Py_ssize_t, value: *mut c_void) -> Result<(), Refused> {
        let arbitrary = self.arbitrary_mut();
        let i = slot(index, arbitrary.len())?;
        arbitrary[i] = value;
        Ok(())
    }

    pub fn get_arbitrary(&self, index: Py_ssize_t) -> Result<*mut c_void, Refused> {
        let arbitrary = self.arbitrary_slice();
        let i = slot(index, arbitrary.len())?;
        Ok(arbitrary[i])
    }

    pub fn len_arbitrary(&self) -> usize {
        self.arbitrary_slice().len()
    }

    pub fn objects(&self) -> impl Iterator<Item = *mut PyObject> + '_ {
        self.objects_slice().iter().map(Owned::as_ptr)
    }

    /// Removes every object value (for GC's tp_clear); the caller drops them.
    pub fn take_objects(&mut self) -> Vec<Owned> {
        self.0
            .as_mut()
            .map_or_else(Vec::new, |s| std::mem::take(&mut s.objects))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arb(n: usize) -> Vec<*mut c_void> {
        (1..=n).map(|i| i as *mut c_void).collect()
    }

    #[test]
    fn arbitrary_values_keep_save_order_across_calls() {
        let mut values = Values::default();
        assert!(values.save_arbitrary(&arb(2)));
        assert!(values.save_arbitrary(&arb(1)));
        let mut out = [std::ptr::null_mut(); 3];
        assert!(values.unpack_arbitrary(3, &mut out).is_ok());
        assert_eq!(out, [1 as *mut c_void, 2 as _, 1 as _]);
        assert_eq!(values.len_arbitrary(), 3);
    }

    #[test]
    fn unpacking_more_than_saved_is_refused() {
        let mut values = Values::default();
        assert!(values.save_arbitrary(&arb(1)));
        let mut out = [std::ptr::null_mut(); 2];
        assert!(matches!(
            values.unpack_arbitrary(2, &mut out),
            Err(Refused::Count { wanted: 2, len: 1 })
        ));
        assert!(matches!(
            values.unpack_arbitrary(-1, &mut out),
            Err(Refused::Count { wanted: -1, len: 1 })
        ));
        assert!(
            out.iter().all(|p| p.is_null()),
            "nothing written on refusal"
        );
    }

    #[test]
    fn bad_indexes_are_refused() {
        let mut values = Values::default();
        assert!(values.save_arbitrary(&arb(2)));
        for index in [-1, 2, Py_ssize_t::MAX] {
            assert!(matches!(
                values.get_arbitrary(index),
                Err(Refused::Index { len: 2, .. })
            ));
            assert!(values.set_arbitrary(index, std::ptr::null_mut()).is_err());
        }
        assert!(values.set_arbitrary(1, 9 as *mut c_void).is_ok());
        assert_eq!(values.get_arbitrary(1).ok(), Some(9 as *mut c_void));
        assert!(matches!(
            values.get(0),
            Err(Refused::Index { index: 0, len: 0 })
        ));
    }
}

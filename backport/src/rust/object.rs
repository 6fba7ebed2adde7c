//! Owned references to Python objects: [`Object`] while attached, [`Owned`]
//! to keep one in a closure.

use super::Attached;
use pyo3_ffi::{
    PyGILState_Check, PyImport_ImportModule, PyObject, PyObject_GetAttrString, Py_DECREF, Py_INCREF,
};
use std::fmt;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

/// A strong reference to any Python object, valid while the thread is
/// attached (`'py`).  `Clone` takes another reference, `Drop` releases it.
///
/// ```
/// use pyawaitable_backport::Object;
/// # pyawaitable_backport::embed::run(|attached| {
/// let one = unsafe { Object::from_owned_ptr(attached, pyo3_ffi::PyLong_FromLong(1)) }.unwrap();
/// let also_one = one.clone();
/// assert_eq!(one.as_ptr(), also_one.as_ptr());
/// # });
/// ```
#[repr(C)]
pub struct Object<'py> {
    ptr: NonNull<PyObject>,
    attached: Attached<'py>,
}

impl<'py> Object<'py> {
    /// Takes ownership of a new reference; `None` for NULL (the failed
    /// call's exception, if any, stays set).
    ///
    /// # Safety
    /// `ptr` is NULL or a strong reference to a live object that the caller
    /// gives up.
    #[inline]
    pub unsafe fn from_owned_ptr(attached: Attached<'py>, ptr: *mut PyObject) -> Option<Self> {
        NonNull::new(ptr).map(|ptr| Object { ptr, attached })
    }

    /// Takes a new strong reference to a borrowed object; `None` for NULL.
    ///
    /// # Safety
    /// `ptr` is NULL or points to a live object.
    #[inline]
    pub unsafe fn from_borrowed_ptr(attached: Attached<'py>, ptr: *mut PyObject) -> Option<Self> {
        let object = Self::from_owned_ptr(attached, ptr)?;
        Py_INCREF(ptr);
        Some(object)
    }

    /// `None`, the object.
    #[inline]
    pub fn none(attached: Attached<'py>) -> Self {
        // SAFETY: None is always a live object.
        unsafe { Self::from_borrowed_ptr(attached, pyo3_ffi::Py_None()) }.expect("None exists")
    }

    /// `builtins.<name>`, e.g. an exception type: `Object::builtin(attached,
    /// "ValueError")`.  An `AttributeError` if there is none.
    ///
    /// ```
    /// # pyawaitable_backport::embed::run(|attached| {
    /// let len = pyawaitable_backport::Object::builtin(attached, "len").unwrap();
    /// assert_eq!(format!("{len:?}"), "<built-in function len>");
    /// # });
    /// ```
    pub fn builtin(attached: Attached<'py>, name: &str) -> Result<Self, super::Error> {
        let name = std::ffi::CString::new(name)
            .map_err(|_| super::Error::builtin(attached, "ValueError", "name contains NUL"))?;
        // SAFETY: attached; borrowed dict and item, checked.
        unsafe {
            let builtins = PyImport_ImportModule(c"builtins".as_ptr());
            let builtins = Self::from_owned_ptr(attached, builtins)
                .ok_or_else(|| super::Error::fetch(attached))?;
            Self::from_owned_ptr(
                attached,
                PyObject_GetAttrString(builtins.as_ptr(), name.as_ptr()),
            )
            .ok_or_else(|| super::Error::fetch(attached))
        }
    }

    /// The borrowed pointer, valid as long as `self`.
    #[inline]
    pub fn as_ptr(&self) -> *mut PyObject {
        self.ptr.as_ptr()
    }

    /// Gives up the reference, for a C API that steals it.
    #[inline]
    pub fn into_ptr(self) -> *mut PyObject {
        ManuallyDrop::new(self).ptr.as_ptr()
    }

    /// The attachment this reference lives in.
    #[inline]
    pub fn attached(&self) -> Attached<'py> {
        self.attached
    }

    /// Detaches the reference from `'py`, to keep it in a closure.
    #[inline]
    pub fn unbind(self) -> Owned {
        Owned(ManuallyDrop::new(self).ptr)
    }
}

impl Clone for Object<'_> {
    #[inline]
    fn clone(&self) -> Self {
        // SAFETY: attached; the object is alive while we hold it.
        unsafe { Py_INCREF(self.as_ptr()) };
        Object {
            ptr: self.ptr,
            attached: self.attached,
        }
    }
}

impl Drop for Object<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: attached for 'py; we own one reference.
        unsafe { Py_DECREF(self.as_ptr()) }
    }
}

impl fmt::Debug for Object<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: attached; repr() of a live object.
        let repr = unsafe { super::error::repr(self.as_ptr()) };
        f.write_str(&repr)
    }
}

/// A strong reference with no lifetime, for state a `'static` callback
/// closure captures.  It is neither `Send` nor `Sync`; use it again with
/// [`Owned::bind`].
///
/// Drop it on an attached thread (closures are dropped by the awaitable,
/// which always is).  A drop on a thread that does not hold the GIL leaks
/// the reference instead of crashing; `PyGILState_Check` cannot see that
/// with subinterpreters, so do not rely on it there.
///
/// ```
/// use pyawaitable_backport::Object;
/// # pyawaitable_backport::embed::run(|attached| {
/// let text = unsafe { Object::from_owned_ptr(attached, pyo3_ffi::PyUnicode_FromString(c"hi".as_ptr())) }.unwrap();
/// let kept = text.unbind();           // no lifetime: can move into a 'static closure
/// let again = kept.bind(attached);    // a new Object<'py>
/// assert_eq!(again.as_ptr(), kept.as_ptr());
/// # });
/// ```
pub struct Owned(NonNull<PyObject>);

impl Owned {
    /// A new [`Object`] for the same object (a new reference).
    #[inline]
    pub fn bind<'py>(&self, attached: Attached<'py>) -> Object<'py> {
        // SAFETY: the token proves attachment; we hold a reference.
        unsafe { Object::from_borrowed_ptr(attached, self.0.as_ptr()) }.expect("non-NULL")
    }

    /// This reference as an [`Object`].
    #[inline]
    pub fn into_bound(self, attached: Attached<'_>) -> Object<'_> {
        Object {
            ptr: ManuallyDrop::new(self).0,
            attached,
        }
    }

    /// The borrowed pointer.
    #[inline]
    pub fn as_ptr(&self) -> *mut PyObject {
        self.0.as_ptr()
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: PyGILState_Check is callable from any thread.
        if unsafe { PyGILState_Check() } != 0 {
            // SAFETY: attached; we own one reference.
            unsafe { Py_DECREF(self.0.as_ptr()) }
        }
    }
}

/// A reference to a Python object that the methods of [`Awaitable`]
/// accept: [`Object`], [`Awaitable`], and with the `pyo3` feature
/// `Bound<'py, T>` and `Borrowed<'_, 'py, T>`.  Sealed: implemented only by
/// types that guarantee a live object.
///
/// [`Awaitable`]: super::Awaitable
pub trait AsObject<'py>: sealed::Sealed {
    /// The borrowed pointer, valid as long as `self`.
    fn object_ptr(&self) -> *mut PyObject;
}

pub(crate) mod sealed {
    pub trait Sealed {}
}

impl sealed::Sealed for Object<'_> {}
impl<'py> AsObject<'py> for Object<'py> {
    #[inline]
    fn object_ptr(&self) -> *mut PyObject {
        self.as_ptr()
    }
}

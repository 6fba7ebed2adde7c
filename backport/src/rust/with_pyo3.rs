//! Conversions to and from PyO3's types (feature `pyo3`).
//!
//! Zero-cost: each is a pointer moved between owners, no reference count
//! change and no type check, except extracting an [`Awaitable`].

use super::object::{sealed, AsObject};
use super::{Attached, Awaitable, Error, Object};
use pyo3::conversion::{FromPyObject, IntoPyObject};
use pyo3::{Borrowed, Bound, PyAny, PyErr, Python};
use std::convert::Infallible;

impl<'py> Object<'py> {
    /// The object as a PyO3 `Bound`.
    ///
    /// ```
    /// use pyo3::prelude::*;
    /// # pyawaitable_backport::embed::run(|attached| {
    /// let one = 1i32.into_pyobject(attached.py()).unwrap();
    /// let object = pyawaitable_backport::Object::from(one);
    /// let bound: Bound<'_, PyAny> = object.into_bound();
    /// assert_eq!(bound.extract::<i32>().unwrap(), 1);
    /// # });
    /// ```
    #[inline]
    pub fn into_bound(self) -> Bound<'py, PyAny> {
        let py = self.attached().py();
        // SAFETY: an owned reference, handed over.
        unsafe { Bound::from_owned_ptr(py, self.into_ptr()) }
    }

    /// A PyO3 `Bound` for the same object (a new reference).
    #[inline]
    pub fn to_bound(&self) -> Bound<'py, PyAny> {
        self.clone().into_bound()
    }
}

impl<'py, T> From<Bound<'py, T>> for Object<'py> {
    #[inline]
    fn from(bound: Bound<'py, T>) -> Self {
        let attached = Attached::from(bound.py());
        // SAFETY: an owned reference, handed over.
        unsafe { Object::from_owned_ptr(attached, bound.into_any().into_ptr()) }.expect("non-NULL")
    }
}

impl<'py> From<Object<'py>> for Bound<'py, PyAny> {
    #[inline]
    fn from(object: Object<'py>) -> Self {
        object.into_bound()
    }
}

impl<'py> IntoPyObject<'py> for Object<'py> {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = Infallible;

    #[inline]
    fn into_pyobject(self, _py: Python<'py>) -> Result<Self::Output, Self::Error> {
        Ok(self.into_bound())
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Object<'py> {
    type Error = Infallible;

    #[inline]
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> Result<Self, Self::Error> {
        Ok(Object::from(obj.to_owned()))
    }
}

impl<'py> Awaitable<'py> {
    /// The PyO3 token of this awaitable's attachment, for the PyO3 calls a
    /// callback makes.
    ///
    /// ```
    /// # pyawaitable_backport::embed::run(|attached| {
    /// let aw = pyawaitable_backport::Awaitable::new(attached).unwrap();
    /// let py = aw.py();
    /// # let _ = py;
    /// # });
    /// ```
    #[inline]
    pub fn py(&self) -> Python<'py> {
        self.attached().py()
    }

    /// The awaitable as a PyO3 `Bound`, to return from a `#[pyfunction]`
    /// (returning the `Awaitable` itself works too).
    ///
    /// ```
    /// # pyawaitable_backport::embed::run(|attached| {
    /// let aw = pyawaitable_backport::Awaitable::new(attached).unwrap();
    /// let bound = aw.into_bound();
    /// assert!(pyo3::types::PyAnyMethods::hasattr(&bound, "send").unwrap());
    /// # });
    /// ```
    #[inline]
    pub fn into_bound(self) -> Bound<'py, PyAny> {
        self.into_object().into_bound()
    }
}

impl<'py> IntoPyObject<'py> for Awaitable<'py> {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = Infallible;

    #[inline]
    fn into_pyobject(self, _py: Python<'py>) -> Result<Self::Output, Self::Error> {
        Ok(self.into_bound())
    }
}

/// Extracting checks the type (`PyAwaitable_Check`): a `TypeError` for any
/// other object.
impl<'a, 'py> FromPyObject<'a, 'py> for Awaitable<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> Result<Self, Self::Error> {
        Ok(Awaitable::from_object(Object::from(obj.to_owned()))?)
    }
}

impl<T> sealed::Sealed for Bound<'_, T> {}
impl<'py, T> AsObject<'py> for Bound<'py, T> {
    #[inline]
    fn object_ptr(&self) -> *mut pyo3_ffi::PyObject {
        self.as_ptr()
    }
}

impl<T> sealed::Sealed for Borrowed<'_, '_, T> {}
impl<'py, T> AsObject<'py> for Borrowed<'_, 'py, T> {
    #[inline]
    fn object_ptr(&self) -> *mut pyo3_ffi::PyObject {
        self.as_ptr()
    }
}

/// `?` on a `PyResult` in a callback.
///
/// ```
/// use pyo3::exceptions::PyValueError;
/// use pyawaitable_backport::Error;
/// # pyawaitable_backport::embed::run(|attached| {
/// let err: Error = PyValueError::new_err("no").into();
/// assert_eq!(err.message(attached), "ValueError: no");
/// # });
/// ```
impl From<PyErr> for Error {
    #[inline]
    fn from(err: PyErr) -> Self {
        Error::from_pyerr(err)
    }
}

/// `?` on this API's results in a `#[pyfunction]`.
///
/// ```
/// use pyo3::PyErr;
/// # pyawaitable_backport::embed::run(|attached| {
/// let err = pyawaitable_backport::Error::builtin(attached, "KeyError", "k");
/// let err: PyErr = err.into();
/// assert!(err.is_instance_of::<pyo3::exceptions::PyKeyError>(attached.py()));
/// # });
/// ```
impl From<Error> for PyErr {
    #[inline]
    fn from(err: Error) -> Self {
        err.into_pyerr()
    }
}

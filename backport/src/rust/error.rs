//! [`Error`]: a Python exception as a Rust value.

use super::{AsObject, Attached, Object};
use crate::exceptions;
use pyo3_ffi::*;
use std::ffi::CString;
use std::fmt;
use std::marker::PhantomData;

/// A Python exception, taken out of the interpreter's error indicator.
/// With the `pyo3` feature it is a `pyo3::PyErr` inside, and converts to
/// and from one for free (so `?` works both ways).
///
/// It has no lifetime, so callbacks can return it whatever `'py` they run
/// in; the methods that look at the exception take an [`Attached`] token.
/// It is not `Send`; dropped on a thread that is not attached, it leaks the
/// exception rather than crash.
///
/// In a callback's `Err`, it is raised: see [`Awaitable::await_with_error`]
/// for what each `Err` means.  [`Error::propagate`] marks an error that
/// skips the item's error callback.
///
/// ```
/// use pyawaitable_backport::{Error, Object};
/// # pyawaitable_backport::embed::run(|attached| {
/// let err = Error::builtin(attached, "ValueError", "bad value");
/// assert!(err.is_instance(attached, &Object::builtin(attached, "ValueError").unwrap()));
/// assert_eq!(err.message(attached), "ValueError: bad value");
/// # });
/// ```
///
/// [`Awaitable::await_with_error`]: super::Awaitable::await_with_error
pub struct Error {
    inner: Inner,
    propagate: bool,
    not_send: PhantomData<*mut ()>,
}

/// A normalized exception instance.
#[cfg(not(feature = "pyo3"))]
type Inner = super::Owned;
#[cfg(feature = "pyo3")]
type Inner = pyo3::PyErr;

impl Error {
    fn wrap(inner: Inner) -> Self {
        Error {
            inner,
            propagate: false,
            not_send: PhantomData,
        }
    }

    /// Takes the current exception.  With none set (a C call that failed
    /// without one), a `SystemError` says so, rather than no error at all.
    pub fn fetch(attached: Attached<'_>) -> Self {
        // SAFETY: attached.
        let exc = unsafe { exceptions::fetch_or_system_error(c"a Python C API call") };
        // SAFETY: a new reference to an exception instance.
        Self::from_exception(unsafe { Object::from_owned_ptr(attached, exc.into_ptr()) }.unwrap())
    }

    /// Takes the current exception, if one is set.
    pub fn take(attached: Attached<'_>) -> Option<Self> {
        // SAFETY: attached.
        let exc = unsafe { exceptions::fetch() }?;
        // SAFETY: a new reference to an exception instance.
        let exc = unsafe { Object::from_owned_ptr(attached, exc.into_ptr()) }.unwrap();
        Some(Self::from_exception(exc))
    }

    /// `exc_type(message)`.  A `message` with a NUL byte is cut there; an
    /// `exc_type` that is not an exception type gives a `SystemError`.
    ///
    /// ```
    /// use pyawaitable_backport::{Error, Object};
    /// # pyawaitable_backport::embed::run(|attached| {
    /// let key_error = Object::builtin(attached, "KeyError").unwrap();
    /// let err = Error::new(attached, &key_error, "k");
    /// assert_eq!(err.message(attached), "KeyError: 'k'");
    /// # });
    /// ```
    pub fn new<'py>(attached: Attached<'py>, exc_type: &impl AsObject<'py>, message: &str) -> Self {
        // SAFETY: a live object.
        unsafe { Self::raw(attached, exc_type.object_ptr(), message) }
    }

    /// `builtins.<type_name>(message)`, e.g. `"ValueError"`.
    ///
    /// ```
    /// # pyawaitable_backport::embed::run(|attached| {
    /// let err = pyawaitable_backport::Error::builtin(attached, "TypeError", "no");
    /// assert_eq!(err.message(attached), "TypeError: no");
    /// # });
    /// ```
    pub fn builtin(attached: Attached<'_>, type_name: &str, message: &str) -> Self {
        match Object::builtin(attached, type_name) {
            Ok(exc_type) => Self::new(attached, &exc_type, message),
            Err(err) => err,
        }
    }

    /// [`Error::new`] with a type pointer such as `PyExc_ValueError`.
    ///
    /// # Safety
    /// `exc_type` points to a live object.
    pub(crate) unsafe fn raw(
        attached: Attached<'_>,
        exc_type: *mut PyObject,
        message: &str,
    ) -> Self {
        let message = CString::new(message).unwrap_or_else(|e| {
            let end = e.nul_position();
            CString::new(&message[..end]).expect("no NUL before the first")
        });
        // Attached; PyErr_SetString checks the type itself (a
        // SystemError for a non-exception type, which fetch then takes).
        unsafe { PyErr_SetString(exc_type, message.as_ptr()) };
        Self::fetch(attached)
    }

    /// An exception instance as an error (a non-exception object becomes a
    /// `TypeError`, as `raise` would make it).
    pub fn from_exception(exc: Object<'_>) -> Self {
        let attached = exc.attached();
        // SAFETY: attached; checking the type of a live object.
        if unsafe { PyExceptionInstance_Check(exc.as_ptr()) } == 0 {
            return Self::builtin(
                attached,
                "TypeError",
                "exceptions must derive from BaseException",
            );
        }
        #[cfg(not(feature = "pyo3"))]
        {
            Self::wrap(exc.unbind())
        }
        #[cfg(feature = "pyo3")]
        {
            Self::wrap(pyo3::PyErr::from_value(exc.into_bound()))
        }
    }

    /// The exception instance.
    pub fn value<'py>(&self, attached: Attached<'py>) -> Object<'py> {
        #[cfg(not(feature = "pyo3"))]
        {
            self.inner.bind(attached)
        }
        #[cfg(feature = "pyo3")]
        {
            Object::from(self.inner.value(attached.py()).clone().into_any())
        }
    }

    /// Whether the exception is an instance of `exc_type` (or of one of
    /// the types in a tuple `exc_type`, as `except` matches).
    ///
    /// ```
    /// use pyawaitable_backport::{Error, Object};
    /// # pyawaitable_backport::embed::run(|attached| {
    /// let err = Error::builtin(attached, "KeyError", "k");
    /// assert!(err.is_instance(attached, &Object::builtin(attached, "LookupError").unwrap()));
    /// # });
    /// ```
    pub fn is_instance<'py>(&self, attached: Attached<'py>, exc_type: &impl AsObject<'py>) -> bool {
        // SAFETY: a live object.
        unsafe { self.is_raw(attached, exc_type.object_ptr()) }
    }

    /// [`Error::is_instance`] with a type pointer.
    ///
    /// # Safety
    /// `exc_type` points to a live object.
    pub(crate) unsafe fn is_raw(&self, attached: Attached<'_>, exc_type: *mut PyObject) -> bool {
        let value = self.value(attached);
        PyErr_GivenExceptionMatches(value.as_ptr(), exc_type) != 0
    }

    /// Makes this error skip the error callback of the item whose result
    /// callback returns it (the C API's `-2`).  Elsewhere it changes
    /// nothing.
    pub fn propagate(mut self) -> Self {
        self.propagate = true;
        self
    }

    /// Whether [`Error::propagate`] marked this error.
    pub fn propagates(&self) -> bool {
        self.propagate
    }

    /// Sets this exception as the current one (before returning `NULL` or
    /// -1 to C).
    pub fn restore(self, attached: Attached<'_>) {
        #[cfg(not(feature = "pyo3"))]
        {
            let exc = self.inner.into_bound(attached).into_ptr();
            // SAFETY: attached; a normalized exception instance.
            unsafe { exceptions::restore(crate::refs::Owned::from_new(exc).unwrap()) }
        }
        #[cfg(feature = "pyo3")]
        self.inner.restore(attached.py())
    }

    /// `Type: message`, as the last line of a traceback.
    pub fn message(&self, attached: Attached<'_>) -> String {
        let value = self.value(attached);
        // SAFETY: attached; live objects; failures are cleared.
        unsafe {
            let tp = Py_TYPE(value.as_ptr()).cast::<PyObject>();
            let name = text_of(PyObject_GetAttrString(tp, c"__qualname__".as_ptr()));
            match text_of(PyObject_Str(value.as_ptr())) {
                text if text.is_empty() => name,
                text => format!("{name}: {text}"),
            }
        }
    }

    #[cfg(feature = "pyo3")]
    pub(crate) fn into_pyerr(self) -> pyo3::PyErr {
        self.inner
    }

    #[cfg(feature = "pyo3")]
    pub(crate) fn from_pyerr(err: pyo3::PyErr) -> Self {
        Self::wrap(err)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug has no token: look only if this thread holds the GIL.
        // SAFETY: PyGILState_Check is callable from any thread.
        if unsafe { PyGILState_Check() } != 0 {
            // SAFETY: just checked.
            let attached = unsafe { Attached::assume() };
            write!(f, "Error({})", self.message(attached))
        } else {
            f.write_str("Error(<a Python exception>)")
        }
    }
}

/// The text of a new `str` reference (lossy), released; "" for NULL (its
/// exception cleared).
unsafe fn text_of(s: *mut PyObject) -> String {
    if s.is_null() {
        PyErr_Clear();
        return String::new();
    }
    let mut len: Py_ssize_t = 0;
    let data = PyUnicode_AsUTF8AndSize(s, &mut len);
    let text = if data.is_null() {
        PyErr_Clear();
        String::new()
    } else {
        let bytes = std::slice::from_raw_parts(data.cast::<u8>(), len as usize);
        String::from_utf8_lossy(bytes).into_owned()
    };
    Py_DECREF(s);
    text
}

/// `repr(obj)`, for Debug output; never raises.
pub(crate) unsafe fn repr(obj: *mut PyObject) -> String {
    text_of(PyObject_Repr(obj))
}

/// For `?` on conversions that cannot fail (PyO3's `into_pyobject` of
/// numbers, for example).
impl From<std::convert::Infallible> for Error {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

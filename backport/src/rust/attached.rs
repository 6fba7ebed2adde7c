//! The proof that the calling thread is attached to the interpreter.

use std::marker::PhantomData;

/// A zero-sized token: while an `Attached<'py>` exists, the thread is
/// attached to the interpreter (holds the GIL) for all of `'py`.
///
/// Every type of this API that holds a Python reference carries the same
/// `'py`, so nothing can touch Python objects after the thread detaches.
/// The token is neither `Send` nor `Sync`.
///
/// With the `pyo3` feature, `Attached<'py>` converts to and from
/// `pyo3::Python<'py>`.
///
/// ```
/// use pyawaitable_backport::Attached;
/// # pyawaitable_backport::embed::run(|_| {
/// // In an `extern "C"` entry point that CPython calls with the GIL held:
/// let attached = unsafe { Attached::assume() };
/// # let _ = attached;
/// # });
/// ```
#[derive(Clone, Copy)]
pub struct Attached<'py>(PhantomData<(&'py (), *mut ())>);

impl Attached<'_> {
    /// Creates the token.
    ///
    /// # Safety
    /// The calling thread is attached to the interpreter, and stays attached
    /// for the (caller-chosen) lifetime of the token: bound it to the scope
    /// of the `extern "C"` function that received control from CPython.
    #[inline(always)]
    pub unsafe fn assume<'py>() -> Attached<'py> {
        Attached(PhantomData)
    }
}

#[cfg(feature = "pyo3")]
impl<'py> From<pyo3::Python<'py>> for Attached<'py> {
    #[inline(always)]
    fn from(_: pyo3::Python<'py>) -> Self {
        Attached(PhantomData)
    }
}

#[cfg(feature = "pyo3")]
impl<'py> Attached<'py> {
    /// The PyO3 token for the same attachment.
    ///
    /// ```
    /// # pyawaitable_backport::embed::run(|attached| {
    /// let py = attached.py();
    /// assert_eq!(py.None().bind(py).to_string(), "None");
    /// # });
    /// ```
    #[inline(always)]
    pub fn py(self) -> pyo3::Python<'py> {
        // SAFETY: this token proves the attachment for 'py.
        unsafe { pyo3::Python::assume_attached() }
    }
}

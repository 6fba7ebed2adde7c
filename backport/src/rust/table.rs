//! The runtime's function table, imported from its capsule exactly as
//! `PyAwaitable_Init()` in `pyawaitable.h` does.
//!
//! The Rust API never calls this crate's own entry points: an extension
//! that links this crate as a library has its own copy of the runtime's
//! statics, and must share objects and per-interpreter types with C
//! extensions through the one installed runtime.

use super::{Attached, Error};
use crate::bindings::{_PyAwaitable_API, _PyAwaitable_API_CAPSULE, _PyAwaitable_API_VERSION};
use pyo3_ffi::*;
use std::sync::atomic::{AtomicPtr, Ordering};

static API: AtomicPtr<_PyAwaitable_API> = AtomicPtr::new(std::ptr::null_mut());

/// Imports `pyawaitable_backport._runtime` in the current interpreter and
/// takes its function table.  Call it from your module's init (or exec)
/// function so that a missing runtime is an `ImportError` at import time;
/// every other call does it on first use otherwise.
///
/// Errors: `ImportError` if the runtime cannot be imported, or provides an
/// older table than this crate was built for.
///
/// ```
/// # pyawaitable_backport::embed::run(|attached| {
/// pyawaitable_backport::init(attached).expect("the runtime is installed");
/// # });
/// ```
pub fn init(attached: Attached<'_>) -> Result<(), Error> {
    // SAFETY: attached; the name is NUL-terminated.
    let api = unsafe { PyCapsule_Import(_PyAwaitable_API_CAPSULE.as_ptr().cast(), 0) };
    if api.is_null() {
        let err = Error::fetch(attached);
        if unsafe { err.is_raw(attached, PyExc_ImportError) } {
            let new = unsafe {
                Error::raw(
                    attached,
                    PyExc_ImportError,
                    "pyawaitable_backport::init: the pyawaitable_backport runtime cannot be \
                 imported (pip install pyawaitable-backport)",
                )
            };
            let (cause, value) = (err.value(attached), new.value(attached));
            // SAFETY: attached; both are exception instances; Set* steal.
            unsafe {
                PyException_SetContext(value.as_ptr(), cause.clone().into_ptr());
                PyException_SetCause(value.as_ptr(), cause.into_ptr());
            }
            return Err(new);
        }
        return Err(err);
    }
    let api = api.cast::<_PyAwaitable_API>();
    // SAFETY: the capsule holds the runtime's static table.
    check(attached, unsafe { &*api })?;
    API.store(api, Ordering::Release);
    Ok(())
}

/// The check of `PyAwaitable_Init()`: the table is append-only, so any
/// runtime at least as new as our header will do.
fn check(attached: Attached<'_>, api: &_PyAwaitable_API) -> Result<(), Error> {
    if api.version < _PyAwaitable_API_VERSION
        || (api.size as usize) < std::mem::size_of::<_PyAwaitable_API>()
    {
        return Err(unsafe {
            Error::raw(
                attached,
                PyExc_ImportError,
                &format!(
                    "pyawaitable_backport::init: the installed pyawaitable_backport runtime \
                 provides API version {}, but this extension was built for version {}; \
                 upgrade pyawaitable-backport",
                    api.version, _PyAwaitable_API_VERSION
                ),
            )
        });
    }
    Ok(())
}

/// The table, imported on first use.
#[inline]
pub(crate) fn api(attached: Attached<'_>) -> Result<&'static _PyAwaitable_API, Error> {
    let api = API.load(Ordering::Acquire);
    if api.is_null() {
        init(attached)?;
        return api_loaded();
    }
    // SAFETY: a checked table in the runtime's static memory, never freed
    // (the runtime's shared library is never unloaded).
    Ok(unsafe { &*api })
}

#[cold]
fn api_loaded() -> Result<&'static _PyAwaitable_API, Error> {
    // SAFETY: init just stored a checked table.
    Ok(unsafe { &*API.load(Ordering::Acquire) })
}

/// The table, once any [`super::Awaitable`] exists (it was created through
/// the table, so `api()` succeeded before).
#[inline]
pub(crate) fn loaded() -> &'static _PyAwaitable_API {
    // SAFETY: see above; only called with an awaitable in hand.
    unsafe { &*API.load(Ordering::Acquire) }
}

/// Calls a table entry that is present in every version-1 table.
macro_rules! call {
    ($api:expr, $name:ident($($arg:expr),* $(,)?)) => {
        ($api.$name.expect(concat!("table entry ", stringify!($name))))($($arg),*)
    };
}
pub(crate) use call;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_table_is_an_import_error() {
        crate::embed::run(|attached| {
            let mut fake = *api(attached).unwrap();
            fake.version = 0;
            let err = check(attached, &fake).unwrap_err();
            assert!(unsafe { err.is_raw(attached, PyExc_ImportError) });
            assert!(err.message(attached).contains("API version 0"), "{err:?}");
            let mut fake = *api(attached).unwrap();
            fake.size -= 8;
            assert!(check(attached, &fake).is_err());
            assert!(check(attached, api(attached).unwrap()).is_ok());
        });
    }
}

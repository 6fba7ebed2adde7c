//! Rust closures as the C API's callbacks.
//!
//! C callbacks get the awaitable and nothing else, so a closure has to be
//! found from the awaitable.  Two ways:
//!
//! - A closure that captures nothing (a zero-sized type without drop glue)
//!   needs no storage: its `extern "C"` trampoline, monomorphized for it,
//!   makes the closure out of nothing, and the item goes straight onto the
//!   awaitable.  Free, and as fast as a C callback.
//!
//! - Otherwise each Rust-level await gets a private *child* awaitable that
//!   awaits the coroutine with the trampolines as its callbacks; the parent
//!   awaits the child.  The child's saved values are a weak reference to
//!   the parent and a capsule owning the boxed closures, so the closures
//!   are dropped with the child even if it never runs (cancelled, closed,
//!   never awaited), and no reference cycle keeps an un-awaited parent
//!   alive.  The trampolines call the closures with the *parent*, so items
//!   they add land where a C callback's would: the parent's running item
//!   is the child, in the original item's place.  The child's one item has
//!   the original's result and error callbacks, so the 0 / -1 / -2 codes
//!   (a result callback's -1 goes to the same item's error callback) are
//!   the runtime's own, unchanged.

use super::table::{call, loaded};
use super::{Attached, Awaitable, Error, Object};
use pyo3_ffi::*;
use std::any::Any;
use std::ffi::{c_int, CStr};
use std::mem::{self, ManuallyDrop};
use std::panic::{self, AssertUnwindSafe};
use std::ptr::{self, NonNull};

/// The error-callback type of an await without one (never called).
pub(crate) type NoError = fn(&Awaitable<'_>, Error) -> Result<(), Error>;

const CAPSULE: &CStr = c"pyawaitable_backport.rust.closures";

/// The closures of one await, owned by the child's capsule.
struct Pending<F, G> {
    on_result: Option<F>,
    on_error: Option<G>,
}

/// Whether a closure can be conjured in its trampoline instead of stored:
/// zero-sized, and nothing to drop if it never runs.
pub(super) const fn stateless<T>() -> bool {
    mem::size_of::<T>() == 0 && !mem::needs_drop::<T>()
}

/// A value of a stateless closure type.
///
/// # Safety
/// `stateless::<T>()`, and the caller forgot one value of `T` for each
/// value made here (so this is a move, not a copy).
#[inline(always)]
unsafe fn conjure<T>() -> T {
    debug_assert!(stateless::<T>());
    ptr::read(NonNull::<T>::dangling().as_ptr())
}

pub(crate) fn add_await<'py, F, G>(
    parent: &Awaitable<'py>,
    coro: *mut PyObject,
    on_result: F,
    on_error: Option<G>,
) -> Result<(), Error>
where
    F: for<'a> FnOnce(&Awaitable<'a>, Object<'a>) -> Result<(), Error> + 'static,
    G: for<'a> FnOnce(&Awaitable<'a>, Error) -> Result<(), Error> + 'static,
{
    let api = loaded();
    let attached = parent.attached();
    let err_cb = on_error.as_ref().map(|_| direct_error::<G> as _);
    if stateless::<F>() && (on_error.is_none() || stateless::<G>()) {
        // SAFETY: attached; live objects; AddAwait borrows `coro`.
        let rc = unsafe {
            call!(
                api,
                AddAwait(parent.as_ptr(), coro, Some(direct_result::<F>), err_cb)
            )
        };
        if rc < 0 {
            return Err(Error::fetch(attached));
        }
        // The trampolines conjure them when (if) they run.
        mem::forget(on_result);
        mem::forget(on_error);
        return Ok(());
    }
    let has_error = on_error.is_some();
    let child = Child::new(
        parent,
        Pending {
            on_result: Some(on_result),
            on_error,
        },
    )?;
    let err_cb = if has_error {
        Some(child_error::<F, G> as _)
    } else {
        None
    };
    // SAFETY: attached; live objects.
    let rc = unsafe {
        call!(
            api,
            AddAwait(child.0.as_ptr(), coro, Some(child_result::<F, G>), err_cb)
        )
    };
    if rc < 0 {
        return Err(Error::fetch(attached));
    }
    child.queue_on(parent)
}

pub(crate) fn defer<F>(parent: &Awaitable<'_>, f: F) -> Result<(), Error>
where
    F: for<'a> FnOnce(&Awaitable<'a>) -> Result<(), Error> + 'static,
{
    let api = loaded();
    let attached = parent.attached();
    if stateless::<F>() {
        // SAFETY: attached; a live awaitable.
        let rc = unsafe { call!(api, DeferAwait(parent.as_ptr(), Some(direct_defer::<F>))) };
        if rc < 0 {
            return Err(Error::fetch(attached));
        }
        mem::forget(f);
        return Ok(());
    }
    let child = Child::new(parent, Some(f))?;
    // SAFETY: attached; a live awaitable.
    let rc = unsafe { call!(api, DeferAwait(child.0.as_ptr(), Some(child_defer::<F>))) };
    if rc < 0 {
        return Err(Error::fetch(attached));
    }
    child.queue_on(parent)
}

/// A private awaitable that runs one item for its parent.
struct Child<'py>(Awaitable<'py>);

impl<'py> Child<'py> {
    /// A new child holding a weak reference to `parent` and `state` (in a
    /// capsule that drops it).
    fn new<T: 'static>(parent: &Awaitable<'py>, state: T) -> Result<Self, Error> {
        let attached = parent.attached();
        let fail = || Error::fetch(attached);
        let child = Awaitable::new(attached)?;
        // SAFETY: attached; new references are owned by `Object`s; the
        // box is owned by the capsule once PyCapsule_New succeeds.
        unsafe {
            let weak = Object::from_owned_ptr(
                attached,
                PyWeakref_NewRef(parent.as_ptr(), ptr::null_mut()),
            )
            .ok_or_else(fail)?;
            let state = Box::into_raw(Box::new(state));
            let capsule = PyCapsule_New(state.cast(), CAPSULE.as_ptr(), Some(free_state::<T>));
            let Some(capsule) = Object::from_owned_ptr(attached, capsule) else {
                drop(Box::from_raw(state));
                return Err(fail());
            };
            let values = [weak.as_ptr(), capsule.as_ptr()];
            if call!(
                loaded(),
                SaveValuesArray(child.as_ptr(), 2, values.as_ptr())
            ) < 0
            {
                return Err(fail());
            }
        }
        Ok(Child(child))
    }

    /// Queues the child on its parent.
    fn queue_on(self, parent: &Awaitable<'py>) -> Result<(), Error> {
        let api = loaded();
        // SAFETY: attached; live awaitables.
        let rc = unsafe { call!(api, AddAwait(parent.as_ptr(), self.0.as_ptr(), None, None)) };
        if rc < 0 {
            let err = Error::fetch(parent.attached());
            // Empty it, so it is dropped without a never-awaited warning.
            self.0.cancel();
            return Err(err);
        }
        Ok(())
    }
}

unsafe extern "C" fn free_state<T>(capsule: *mut PyObject) {
    let state = PyCapsule_GetPointer(capsule, CAPSULE.as_ptr()).cast::<T>();
    if !state.is_null() {
        // Attached the PyO3 way too: a `Py<T>` the closures captured is
        // released now, not deferred.  A panicking Drop must not unwind
        // into C.
        let drop_state = AssertUnwindSafe(|| attach(|_| drop(Box::from_raw(state))));
        let _ = panic::catch_unwind(drop_state);
    }
}

/// The parent and the state of `child` (borrowed from its capsule, which
/// the child keeps alive while its callback runs).
///
/// # Safety
/// Attached; `child` is a child made with state `T`.
unsafe fn unpack<'py, T>(
    attached: Attached<'py>,
    child: *mut PyObject,
) -> Result<(Awaitable<'py>, *mut T), Error> {
    let mut values = [ptr::null_mut(); 2];
    if call!(loaded(), UnpackValuesArray(child, 2, values.as_mut_ptr())) < 0 {
        return Err(Error::fetch(attached));
    }
    let mut parent = ptr::null_mut();
    if compat::PyWeakref_GetRef(values[0], &mut parent) < 0 {
        return Err(Error::fetch(attached));
    }
    let Some(parent) = Object::from_owned_ptr(attached, parent) else {
        return Err(Error::raw(
            attached,
            PyExc_RuntimeError,
            "pyawaitable_backport: a Rust callback ran after its awaitable was freed",
        ));
    };
    let state = PyCapsule_GetPointer(values[1], CAPSULE.as_ptr()).cast::<T>();
    if state.is_null() {
        return Err(Error::fetch(attached));
    }
    // The parent is one of the runtime's awaitables: it made the child.
    Ok((Awaitable::from_object_unchecked(parent), state))
}

/// Runs `f` with the trampoline's token, turning a panic into a Python
/// exception and code -2.  With `panic = "abort"`, a panic aborts first.
#[inline(always)]
pub(super) fn enter(f: impl for<'py> FnOnce(Attached<'py>) -> c_int) -> c_int {
    guarded(f, -2)
}

/// Runs `f` attached, as [`enter`]; a panic raises and returns `on_panic`.
#[inline(always)]
pub(super) fn guarded<R>(f: impl for<'py> FnOnce(Attached<'py>) -> R, on_panic: R) -> R {
    match panic::catch_unwind(AssertUnwindSafe(|| attach(f))) {
        Ok(value) => value,
        Err(payload) => {
            // SAFETY: C called us attached.
            raise_panic(unsafe { Attached::assume() }, payload);
            on_panic
        }
    }
}

#[cfg(not(feature = "pyo3"))]
#[inline(always)]
pub(super) fn attach<R>(f: impl for<'py> FnOnce(Attached<'py>) -> R) -> R {
    // SAFETY: the runtime calls callbacks attached, for the whole call.
    f(unsafe { Attached::assume() })
}

/// With PyO3, tell it the thread is attached (its `Python::attach` only
/// counts when it already is), so `Py<T>` dropped in a closure is released
/// at once rather than deferred.
#[cfg(feature = "pyo3")]
#[inline(always)]
pub(super) fn attach<R>(f: impl for<'py> FnOnce(Attached<'py>) -> R) -> R {
    pyo3::Python::attach(|py| f(py.into()))
}

#[cold]
fn raise_panic(attached: Attached<'_>, payload: Box<dyn Any + Send>) {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "Box<dyn Any>".to_owned());
    #[cfg(feature = "pyo3")]
    {
        let _ = attached;
        pyo3::panic::PanicException::new_err(format!("a Rust callback panicked: {message}"))
            .restore(attached.py());
    }
    #[cfg(not(feature = "pyo3"))]
    unsafe {
        Error::raw(
            attached,
            PyExc_RuntimeError,
            &format!("a Rust callback panicked: {message}"),
        )
    }
    .restore(attached);
}

/// The code for a result callback's return.
pub(super) fn result_code(attached: Attached<'_>, result: Result<(), Error>) -> c_int {
    match result {
        Ok(()) => 0,
        Err(err) => {
            let code = if err.propagates() { -2 } else { -1 };
            err.restore(attached);
            code
        }
    }
}

/// The code for an error callback's return: the error it was given means
/// re-raise (-1), another one raise that (-2).
pub(super) fn error_code(
    attached: Attached<'_>,
    exc: &Object<'_>,
    result: Result<(), Error>,
) -> c_int {
    match result {
        Ok(()) => 0,
        Err(err) if err.value(attached).as_ptr() == exc.as_ptr() => -1,
        Err(err) => {
            err.restore(attached);
            -2
        }
    }
}

/// The borrowed awaitable a callback gets, as a `&Awaitable` without a
/// reference count change.
///
/// # Safety
/// `aw` is one of the runtime's awaitables, alive for the call.
#[inline(always)]
pub(super) unsafe fn borrow<'py>(
    attached: Attached<'py>,
    aw: *mut PyObject,
) -> ManuallyDrop<Awaitable<'py>> {
    let object = Object::from_owned_ptr(attached, aw).expect("non-NULL awaitable");
    ManuallyDrop::new(Awaitable::from_object_unchecked(object))
}

pub(super) unsafe extern "C" fn direct_result<F>(aw: *mut PyObject, result: *mut PyObject) -> c_int
where
    F: for<'a> FnOnce(&Awaitable<'a>, Object<'a>) -> Result<(), Error> + 'static,
{
    enter(|attached| {
        let f = conjure::<F>();
        let value = Object::from_borrowed_ptr(attached, result).expect("a result");
        result_code(attached, f(&borrow(attached, aw), value))
    })
}

pub(super) unsafe extern "C" fn direct_error<G>(aw: *mut PyObject, exc: *mut PyObject) -> c_int
where
    G: for<'a> FnOnce(&Awaitable<'a>, Error) -> Result<(), Error> + 'static,
{
    enter(|attached| {
        let g = conjure::<G>();
        let exc = Object::from_borrowed_ptr(attached, exc).expect("an exception");
        let result = g(&borrow(attached, aw), Error::from_exception(exc.clone()));
        error_code(attached, &exc, result)
    })
}

unsafe extern "C" fn direct_defer<F>(aw: *mut PyObject) -> c_int
where
    F: for<'a> FnOnce(&Awaitable<'a>) -> Result<(), Error> + 'static,
{
    enter(|attached| {
        let f = conjure::<F>();
        result_code(attached, f(&borrow(attached, aw)).map_err(Error::propagate))
    })
}

unsafe extern "C" fn child_result<F, G>(child: *mut PyObject, result: *mut PyObject) -> c_int
where
    F: for<'a> FnOnce(&Awaitable<'a>, Object<'a>) -> Result<(), Error> + 'static,
    G: 'static,
{
    enter(|attached| {
        let (parent, state) = match unpack::<Pending<F, G>>(attached, child) {
            Ok(found) => found,
            Err(err) => return result_code(attached, Err(err.propagate())),
        };
        let Some(f) = (*state).on_result.take() else {
            return result_code(attached, Err(called_twice(attached)));
        };
        let value = Object::from_borrowed_ptr(attached, result).expect("a result");
        result_code(attached, f(&parent, value))
    })
}

unsafe extern "C" fn child_error<F, G>(child: *mut PyObject, exc: *mut PyObject) -> c_int
where
    F: 'static,
    G: for<'a> FnOnce(&Awaitable<'a>, Error) -> Result<(), Error> + 'static,
{
    enter(|attached| {
        let (parent, state) = match unpack::<Pending<F, G>>(attached, child) {
            Ok(found) => found,
            Err(err) => return error_code(attached, &Object::none(attached), Err(err)),
        };
        let Some(g) = (*state).on_error.take() else {
            return error_code(
                attached,
                &Object::none(attached),
                Err(called_twice(attached)),
            );
        };
        let exc = Object::from_borrowed_ptr(attached, exc).expect("an exception");
        let result = g(&parent, Error::from_exception(exc.clone()));
        error_code(attached, &exc, result)
    })
}

unsafe extern "C" fn child_defer<F>(child: *mut PyObject) -> c_int
where
    F: for<'a> FnOnce(&Awaitable<'a>) -> Result<(), Error> + 'static,
{
    enter(|attached| {
        let (parent, state) = match unpack::<Option<F>>(attached, child) {
            Ok(found) => found,
            Err(err) => return result_code(attached, Err(err.propagate())),
        };
        let Some(f) = (*state).take() else {
            return result_code(attached, Err(called_twice(attached).propagate()));
        };
        result_code(attached, f(&parent).map_err(Error::propagate))
    })
}

#[cold]
pub(super) fn called_twice(attached: Attached<'_>) -> Error {
    unsafe {
        Error::raw(
            attached,
            PyExc_SystemError,
            "pyawaitable_backport: a Rust callback was called twice",
        )
    }
}

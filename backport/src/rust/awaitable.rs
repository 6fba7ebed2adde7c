//! [`Awaitable`]: an owned reference to one of the runtime's awaitables,
//! with the C API's calls as methods.

use super::callbacks;
use super::object::{sealed, AsObject};
use super::table::{api, call, loaded};
use super::{Attached, Error, Object};
use pyo3_ffi::*;
use std::fmt;

/// A strong reference to an awaitable of the installed runtime (the object
/// `PyAwaitable_New()` makes), valid while the thread is attached (`'py`).
///
/// Awaiting it from Python runs its queue: each [`await_`](Self::await_)
/// (and the other adding methods) appends an item; the callbacks are Rust
/// closures, which receive the awaitable again so they can queue more,
/// set the result or cancel.
///
/// ```
/// use pyawaitable_backport::{Awaitable, Object};
/// # pyawaitable_backport::embed::run(|attached| {
/// # let coro = pyawaitable_backport::embed::eval(attached, "__import__('asyncio').sleep(0, 21)").unwrap();
/// // async def double(coro): return 2 * await coro
/// let aw = Awaitable::new(attached)?;
/// aw.await_(&coro, |aw, value| {
///     let doubled = unsafe { Object::from_owned_ptr(aw.attached(), pyo3_ffi::PyNumber_Add(value.as_ptr(), value.as_ptr())) };
///     let doubled = doubled.ok_or_else(|| pyawaitable_backport::Error::fetch(aw.attached()))?;
///     aw.set_result(&doubled)
/// })?;
/// # let result = pyawaitable_backport::embed::drive(aw.as_object()).unwrap();
/// # assert_eq!(unsafe { pyo3_ffi::PyLong_AsLong(result.as_ptr()) }, 42);
/// # Ok::<(), pyawaitable_backport::Error>(())
/// # }).unwrap();
/// ```
#[repr(transparent)]
#[derive(Clone)]
pub struct Awaitable<'py>(Object<'py>);

impl<'py> Awaitable<'py> {
    /// `PyAwaitable_New()`: a new, empty awaitable whose result is `None`.
    /// Imports the runtime on first use (see [`init`](crate::init)).
    ///
    /// ```
    /// # pyawaitable_backport::embed::run(|attached| {
    /// let aw = pyawaitable_backport::Awaitable::new(attached).unwrap();
    /// # let _ = aw;
    /// # });
    /// ```
    pub fn new(attached: Attached<'py>) -> Result<Self, Error> {
        let api = api(attached)?;
        // SAFETY: attached; New returns a new reference or NULL.
        let ptr = unsafe { call!(api, New()) };
        unsafe { Object::from_owned_ptr(attached, ptr) }
            .map(Awaitable)
            .ok_or_else(|| Error::fetch(attached))
    }

    /// The object as an awaitable, if it is one (`PyAwaitable_Check`); a
    /// `TypeError` otherwise.
    ///
    /// ```
    /// use pyawaitable_backport::{Awaitable, Object};
    /// # pyawaitable_backport::embed::run(|attached| {
    /// let aw = Awaitable::new(attached).unwrap();
    /// let object: Object = aw.into_object();
    /// assert!(Awaitable::from_object(object).is_ok());
    /// assert!(Awaitable::from_object(Object::none(attached)).is_err());
    /// # });
    /// ```
    pub fn from_object(object: Object<'py>) -> Result<Self, Error> {
        let attached = object.attached();
        let api = api(attached)?;
        // SAFETY: attached; Check accepts any object and cannot fail.
        if unsafe { call!(api, Check(object.as_ptr())) } == 0 {
            // SAFETY: attached; a live object.
            let name = unsafe { super::error::repr(Py_TYPE(object.as_ptr()).cast()) };
            return Err(unsafe {
                Error::raw(
                    attached,
                    PyExc_TypeError,
                    &format!("expected a PyAwaitable object, got an instance of {name}"),
                )
            });
        }
        Ok(Awaitable(object))
    }

    /// An object known to be one of the runtime's awaitables.
    #[inline(always)]
    pub(crate) fn from_object_unchecked(object: Object<'py>) -> Self {
        Awaitable(object)
    }

    /// Borrows the awaitable a C entry point received (for example the `aw`
    /// argument of a `METH_ASYNC` function), checking its type.
    ///
    /// # Safety
    /// `ptr` is NULL or points to a live object.
    pub unsafe fn from_borrowed_ptr(
        attached: Attached<'py>,
        ptr: *mut PyObject,
    ) -> Result<Self, Error> {
        match Object::from_borrowed_ptr(attached, ptr) {
            Some(object) => Self::from_object(object),
            None => Err(Error::raw(
                attached,
                PyExc_SystemError,
                "the awaitable is NULL",
            )),
        }
    }

    /// The borrowed pointer, valid as long as `self`.
    #[inline]
    pub fn as_ptr(&self) -> *mut PyObject {
        self.0.as_ptr()
    }

    /// Gives up the reference (to return it to C).
    #[inline]
    pub fn into_ptr(self) -> *mut PyObject {
        self.0.into_ptr()
    }

    /// The awaitable as an object.
    #[inline]
    pub fn as_object(&self) -> &Object<'py> {
        &self.0
    }

    /// The awaitable as an object.
    #[inline]
    pub fn into_object(self) -> Object<'py> {
        self.0
    }

    /// The attachment this reference lives in, for the calls a callback
    /// makes.
    #[inline]
    pub fn attached(&self) -> Attached<'py> {
        self.0.attached()
    }

    /// Queues `await coro`, then `on_result(aw, value)` with its value
    /// (`PyAwaitable_AddAwait` with a result callback).  An exception from
    /// `coro`, or an `Err` from `on_result`, propagates to whoever awaits
    /// `aw`.
    ///
    /// `coro` is anything `await` accepts; anything else is a `TypeError`
    /// now.  The closure is `'static`: it captures what it needs by value
    /// (Rust data, [`Owned`](crate::Owned) references, or with `pyo3`
    /// `Py<T>`), and is dropped with the item if it never runs (the
    /// awaitable was cancelled, closed, or never awaited).
    ///
    /// ```
    /// # use pyawaitable_backport::{embed, Awaitable};
    /// # embed::run(|attached| {
    /// # let coro = embed::eval(attached, "__import__('asyncio').sleep(0, 'x')").unwrap();
    /// let aw = Awaitable::new(attached)?;
    /// let label = String::from("result: ");
    /// aw.await_(&coro, move |aw, value| {
    ///     assert_eq!(format!("{label}{value:?}"), "result: 'x'");
    ///     aw.set_result(&value)
    /// })?;
    /// # assert_eq!(format!("{:?}", embed::drive(aw.as_object())?), "'x'");
    /// # Ok::<(), pyawaitable_backport::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn await_<F>(&self, coro: &impl AsObject<'py>, on_result: F) -> Result<(), Error>
    where
        F: for<'a> FnOnce(&Awaitable<'a>, Object<'a>) -> Result<(), Error> + 'static,
    {
        callbacks::add_await(
            self,
            coro.object_ptr(),
            on_result,
            None::<callbacks::NoError>,
        )
    }

    /// As [`await_`](Self::await_), with an error callback for an exception
    /// that `coro` raises or that `on_result` returns.
    ///
    /// The return values keep the C API's protocol:
    ///
    /// | closure | returns | the C code | meaning |
    /// |---------|---------|------------|---------|
    /// | `on_result` | `Ok(())` | 0 | continue with the next item |
    /// | `on_result` | `Err(e)` | -1 | hand `e` to this item's `on_error` |
    /// | `on_result` | `Err(e.propagate())` | -2 | propagate `e`; `on_error` is not called |
    /// | `on_error` | `Ok(())` | 0 | swallow the exception, continue |
    /// | `on_error` | `Err(exc)`, the error it got | -1 | re-raise it unchanged |
    /// | `on_error` | `Err(other)` | -2 | raise `other`; the original is its `__context__` |
    ///
    /// A closure that panics raises `RuntimeError` (`PanicException` with
    /// the `pyo3` feature) as `-2` does, when panics unwind; with
    /// `panic = "abort"` the process aborts (see [Panics](crate::rust#panics)).
    ///
    /// ```
    /// # use pyawaitable_backport::{embed, Awaitable, Error, Object};
    /// # embed::run(|attached| {
    /// # let coro = embed::eval(attached, "__import__('asyncio').sleep(0, 1)").unwrap();
    /// let aw = Awaitable::new(attached)?;
    /// aw.await_with_error(
    ///     &coro,
    ///     |aw, _value| Err(Error::builtin(aw.attached(), "KeyError", "k")),
    ///     |aw, exc| {
    ///         // swallow KeyError, re-raise anything else
    ///         if exc.is_instance(aw.attached(), &Object::builtin(aw.attached(), "KeyError")?) {
    ///             aw.set_result(&Object::none(aw.attached()))
    ///         } else {
    ///             Err(exc)
    ///         }
    ///     },
    /// )?;
    /// # assert!(embed::drive(aw.as_object()).is_ok());
    /// # Ok::<(), pyawaitable_backport::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn await_with_error<F, G>(
        &self,
        coro: &impl AsObject<'py>,
        on_result: F,
        on_error: G,
    ) -> Result<(), Error>
    where
        F: for<'a> FnOnce(&Awaitable<'a>, Object<'a>) -> Result<(), Error> + 'static,
        G: for<'a> FnOnce(&Awaitable<'a>, Error) -> Result<(), Error> + 'static,
    {
        callbacks::add_await(self, coro.object_ptr(), on_result, Some(on_error))
    }

    /// Queues `await coro` and ignores its value (`PyAwaitable_AWAIT`).
    ///
    /// ```
    /// # use pyawaitable_backport::{embed, Awaitable};
    /// # embed::run(|attached| {
    /// # let coro = embed::eval(attached, "__import__('asyncio').sleep(0)").unwrap();
    /// let aw = Awaitable::new(attached)?;
    /// aw.await_ignore(&coro)?;
    /// # embed::drive(aw.as_object())?;
    /// # Ok::<(), pyawaitable_backport::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn await_ignore(&self, coro: &impl AsObject<'py>) -> Result<(), Error> {
        // SAFETY: attached; both are live objects; AddAwait borrows them.
        let rc = unsafe {
            call!(
                loaded(),
                AddAwait(self.as_ptr(), coro.object_ptr(), None, None)
            )
        };
        self.check(rc)
    }

    /// Queues a call instead of an await (`PyAwaitable_DeferAwait`): when
    /// the queue reaches it, `f(aw)` runs and may queue more.  An `Err`
    /// propagates (there is no error callback).
    ///
    /// ```
    /// # use pyawaitable_backport::{embed, Awaitable};
    /// # embed::run(|attached| {
    /// # let coro = embed::eval(attached, "__import__('asyncio').sleep(0, 7)").unwrap();
    /// let aw = Awaitable::new(attached)?;
    /// let coro = coro.unbind();
    /// aw.defer(move |aw| aw.await_(&coro.bind(aw.attached()), |aw, v| aw.set_result(&v)))?;
    /// # assert_eq!(format!("{:?}", embed::drive(aw.as_object())?), "7");
    /// # Ok::<(), pyawaitable_backport::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn defer<F>(&self, f: F) -> Result<(), Error>
    where
        F: for<'a> FnOnce(&Awaitable<'a>) -> Result<(), Error> + 'static,
    {
        callbacks::defer(self, f)
    }

    /// Queues `async with ctx as value:` whose block starts with
    /// `on_enter(aw, value)` (`PyAwaitable_AsyncWith`).
    ///
    /// `ctx` must have `__aenter__` and `__aexit__` (a `TypeError` now
    /// otherwise).  When the queue reaches the statement, `__aenter__()` is
    /// awaited and `on_enter` gets its value; everything queued while the
    /// block is open (by `on_enter`, or by the closures of the items it
    /// queues) runs inside the block, before `__aexit__`.  An `Err` from
    /// `on_enter`, or an exception from an item inside, ends the block:
    /// `__aexit__` gets it and may suppress it.  What propagates out of the
    /// statement propagates to whoever awaits `aw`.
    ///
    /// Closures that capture nothing are handed to the C API directly;
    /// capturing ones are reached through a small wrapper context manager
    /// (`ctx`'s methods are still the ones called, with the same values).
    ///
    /// ```
    /// # use pyawaitable_backport::{embed, Awaitable};
    /// # embed::run(|attached| {
    /// embed::exec(attached, "
    /// class Lock:
    ///     async def __aenter__(self):
    ///         log.append('acquired')
    ///     async def __aexit__(self, *exc_info):
    ///         log.append('released')
    /// log = []
    /// ")?;
    /// let lock = embed::eval(attached, "Lock()")?;
    /// let work = embed::eval(attached, "__import__('asyncio').sleep(0, 'done')")?.unbind();
    /// // async with lock: return await work
    /// let aw = Awaitable::new(attached)?;
    /// aw.async_with(&lock, move |aw, _| {
    ///     // Inside the block: awaited before __aexit__.
    ///     aw.await_(&work.bind(aw.attached()), |aw, value| aw.set_result(&value))
    /// })?;
    /// assert_eq!(format!("{:?}", embed::drive(aw.as_object())?), "'done'");
    /// assert_eq!(format!("{:?}", embed::eval(attached, "log")?), "['acquired', 'released']");
    /// # Ok::<(), pyawaitable_backport::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn async_with<F>(&self, ctx: &impl AsObject<'py>, on_enter: F) -> Result<(), Error>
    where
        F: for<'a> FnOnce(&Awaitable<'a>, Object<'a>) -> Result<(), Error> + 'static,
    {
        super::with::async_with(self, ctx.object_ptr(), on_enter, None::<callbacks::NoError>)
    }

    /// As [`async_with`](Self::async_with), with an error closure for the
    /// whole statement: it gets what would propagate out of it, whether
    /// `__aenter__` raised, or the block ended with an exception that
    /// `__aexit__` did not suppress, or `__aexit__` raised.  Its return
    /// means what it does for [`await_with_error`](Self::await_with_error);
    /// after `Ok(())` the items queued after the statement run.  It is not
    /// called while the awaitable is being closed (`close()`, finalization),
    /// as no callback is then.
    ///
    /// ```
    /// # use pyawaitable_backport::{embed, Awaitable, Error, Object};
    /// # embed::run(|attached| {
    /// embed::exec(attached, "
    /// class Transaction:
    ///     async def __aenter__(self):
    ///         return self
    ///     async def __aexit__(self, exc_type, exc, tb):
    ///         self.rolled_back = exc is not None
    /// transaction = Transaction()
    /// ")?;
    /// let transaction = embed::eval(attached, "transaction")?;
    /// let aw = Awaitable::new(attached)?;
    /// aw.async_with_error(
    ///     &transaction,
    ///     |aw, _| Err(Error::builtin(aw.attached(), "ValueError", "bad row")),
    ///     |aw, exc| {
    ///         // The transaction was rolled back; answer None instead.
    ///         assert_eq!(exc.message(aw.attached()), "ValueError: bad row");
    ///         aw.set_result(&Object::none(aw.attached()))
    ///     },
    /// )?;
    /// assert!(embed::drive(aw.as_object()).is_ok());
    /// assert_eq!(format!("{:?}", embed::eval(attached, "transaction.rolled_back")?), "True");
    /// # Ok::<(), pyawaitable_backport::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn async_with_error<F, G>(
        &self,
        ctx: &impl AsObject<'py>,
        on_enter: F,
        on_error: G,
    ) -> Result<(), Error>
    where
        F: for<'a> FnOnce(&Awaitable<'a>, Object<'a>) -> Result<(), Error> + 'static,
        G: for<'a> FnOnce(&Awaitable<'a>, Error) -> Result<(), Error> + 'static,
    {
        super::with::async_with(self, ctx.object_ptr(), on_enter, Some(on_error))
    }

    /// Sets the value that awaiting this awaitable returns
    /// (`PyAwaitable_SetResult`).
    ///
    /// ```
    /// # use pyawaitable_backport::{embed, Awaitable, Object};
    /// # embed::run(|attached| {
    /// let aw = Awaitable::new(attached)?;
    /// aw.set_result(&Object::none(attached))?;
    /// # Ok::<(), pyawaitable_backport::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn set_result(&self, value: &impl AsObject<'py>) -> Result<(), Error> {
        // SAFETY: attached; both are live objects.
        let rc = unsafe { call!(loaded(), SetResult(self.as_ptr(), value.object_ptr())) };
        self.check(rc)
    }

    /// Discards every item that has not started (`PyAwaitable_Cancel`);
    /// open `async with` blocks still exit normally.
    ///
    /// ```
    /// # use pyawaitable_backport::{embed, Awaitable};
    /// # embed::run(|attached| {
    /// # let coro = embed::eval(attached, "__import__('asyncio').sleep(0)").unwrap();
    /// let aw = Awaitable::new(attached)?;
    /// aw.await_(&coro, |_, _| unreachable!())?;
    /// aw.cancel();
    /// # embed::drive(aw.as_object())?;
    /// # Ok::<(), pyawaitable_backport::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn cancel(&self) {
        // SAFETY: attached; an awaitable (so Cancel cannot raise).
        unsafe { call!(loaded(), Cancel(self.as_ptr())) }
    }

    #[inline]
    fn check(&self, rc: std::ffi::c_int) -> Result<(), Error> {
        if rc < 0 {
            Err(Error::fetch(self.attached()))
        } else {
            Ok(())
        }
    }
}

impl fmt::Debug for Awaitable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl sealed::Sealed for Awaitable<'_> {}
impl<'py> AsObject<'py> for Awaitable<'py> {
    #[inline]
    fn object_ptr(&self) -> *mut PyObject {
        self.as_ptr()
    }
}

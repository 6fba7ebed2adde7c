//! The awaitable object: a coroutine whose body is a queue of C callbacks.
//!
//! One routine, [`step`], drives it.  `am_send` calls it directly (no
//! StopIteration is created on that path); `__next__`, `send` and `throw`
//! are thin layers over it, the way `_asyncio.FutureIter` is built.  Awaiting
//! an item is exactly `yield from`: values sent in, `throw()` and `close()`
//! reach the item that is running.

use crate::alloc;
use crate::bindings::{PyAwaitable_Callback, PyAwaitable_Error};
use crate::callbacks::{self, Flow};
use crate::exceptions::{self, fetch_or_system_error, set_stop_iteration, type_name};
use crate::freelist;
use crate::queue::{self, Item, Queue, With};
use crate::refs::Owned;
use crate::values::Values;
use crate::with;
use pyo3_ffi::*;
use std::ffi::{c_int, c_void, CStr};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};

#[repr(C)]
pub struct Awaitable {
    ob_base: PyObject,
    weakreflist: *mut PyObject,
    state: State,
    /// Set once `tp_finalize` has run: CPython then never runs it again for
    /// this memory, so it must not be reused as a fresh object.
    finalized: bool,
    /// The value of the await; None unless SetResult was called.
    result: Option<Owned>,
    /// The await-iterator of the item that is running.
    current: Option<Owned>,
    /// What receives the running item's outcome.
    then: Then,
    queue: Queue,
    pub values: Values,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not awaited yet.
    Created,
    /// Suspended inside the running item.
    Suspended,
    /// Inside `step` or `close` (a re-entrant call is an error).
    Executing,
    /// Shutting down: exiting open blocks, closing unstarted items.  Like
    /// `Executing`, but an item added now could never run, so it is refused.
    Closing,
    /// Returned, raised or closed.
    Done,
}

/// Where the outcome of the running await goes.
enum Then {
    /// No await is running.
    Idle,
    /// An `AddAwait` item: its callbacks.
    Callbacks(PyAwaitable_Callback, PyAwaitable_Error),
    /// `__aenter__()` of an `async with`: its value opens the block.
    Enter(Box<With>),
    /// `__aexit__(...)` of a block left normally (None) or by `exc`.
    Exit {
        exc: Option<Owned>,
        on_error: PyAwaitable_Error,
    },
}

impl Then {
    fn objects(&self) -> impl Iterator<Item = *mut PyObject> {
        let (a, b) = match self {
            Then::Idle | Then::Callbacks(..) => (None, None),
            Then::Enter(with) => (Some(with.enter.as_ptr()), Some(with.exit.as_ptr())),
            Then::Exit { exc, .. } => (exc.as_ref().map(Owned::as_ptr), None),
        };
        a.into_iter().chain(b)
    }
}

/// What an item's iterator did with the value or exception given to it.
pub enum Outcome {
    Yield(Owned),
    Return(Owned),
    Raise(Owned),
}

/// What the awaitable did: the three results of `am_send`.
pub enum Sent {
    Yield(Owned),
    Return(Owned),
    /// An exception is set.
    Error,
}

enum Input {
    Send(*mut PyObject),
    Throw(Owned),
}

/// The deallocator every interpreter's awaitable type shares, as read back
/// from the first type created: it identifies our objects in one load.
static DEALLOC: AtomicUsize = AtomicUsize::new(0);

/// Remembers how to recognize awaitables; called for each type created.
pub unsafe fn register_type(tp: *mut PyTypeObject) {
    let dealloc = (*tp).tp_dealloc.map_or(0, |f| f as usize);
    DEALLOC.store(dealloc, Ordering::Relaxed);
}

/// True if `obj` is a PyAwaitable object of any interpreter.
#[inline]
pub unsafe fn is_awaitable(obj: *mut PyObject) -> bool {
    (*Py_TYPE(obj)).tp_dealloc.map_or(0, |f| f as usize) == DEALLOC.load(Ordering::Relaxed)
}

#[inline]
pub unsafe fn cast(obj: *mut PyObject) -> *mut Awaitable {
    obj.cast()
}

/// A new awaitable of type `tp` (the current interpreter's type).
pub unsafe fn new(tp: *mut PyTypeObject) -> *mut PyObject {
    let reused = freelist::pop(tp);
    if !reused.is_null() {
        // `dealloc` left every field empty and `finalized` false (a
        // finalized object is never kept): only the state is stale.
        (*cast(reused)).state = State::Created;
        PyObject_GC_Track(reused.cast());
        return reused;
    }
    // Zero-filled and already tracked by the GC.
    let alloc = (*tp).tp_alloc.unwrap_or(PyType_GenericAlloc);
    let obj = alloc(tp, 0);
    if obj.is_null() {
        return obj;
    }
    let this = cast(obj);
    // Every field gets a valid value, whatever zero means for its type.
    ptr::addr_of_mut!((*this).weakreflist).write(ptr::null_mut());
    ptr::addr_of_mut!((*this).state).write(State::Created);
    ptr::addr_of_mut!((*this).finalized).write(false);
    ptr::addr_of_mut!((*this).result).write(None);
    ptr::addr_of_mut!((*this).current).write(None);
    ptr::addr_of_mut!((*this).then).write(Then::Idle);
    ptr::addr_of_mut!((*this).queue).write(Queue::default());
    ptr::addr_of_mut!((*this).values).write(Values::default());
    obj
}

/// Queues `item` (already checked).  False (RuntimeError set) if the
/// awaitable has finished or is being closed: the item could never run.
#[inline(always)]
pub unsafe fn add(this: *mut Awaitable, func: &CStr, item: Item) -> bool {
    let why = match (*this).state {
        State::Done => c"has already finished",
        State::Closing => c"is being closed",
        _ => {
            let Err(item) = (*this).queue.push(item) else {
                return true;
            };
            alloc::no_memory();
            drop(item);
            return false;
        }
    };
    PyErr_Format(
        PyExc_RuntimeError,
        c"%s: the awaitable %s".as_ptr(),
        func.as_ptr(),
        why.as_ptr(),
    );
    false
}

pub unsafe fn set_result(this: *mut Awaitable, result: Owned) {
    let old = (*this).result.replace(result);
    drop(old);
}

/// Drops every pending item; the running item, if any, goes on, and open
/// `async with` blocks are still exited.  Adding items afterwards works as
/// before.  An exception already set (a failing C function cancelling its
/// awaitable) is kept: closing the items must neither see nor lose it.
pub unsafe fn cancel(this: *mut Awaitable) {
    let queue::Cancelled {
        current,
        outer,
        unlisted,
    } = (*this).queue.cancel();
    if current.is_empty() && outer.is_empty() && !unlisted {
        return;
    }
    let pending = exceptions::fetch();
    queue::close_unstarted(current, this.cast());
    for scope in outer {
        queue::close_unstarted(scope, this.cast());
    }
    if unlisted {
        while let Some(scope) = (*this).queue.take_outer_scope() {
            queue::close_unstarted(scope, this.cast());
        }
    }
    if let Some(pending) = pending {
        exceptions::restore(pending);
    }
}

/// The one routine behind `am_send`, `__next__`, `send` and `throw`.
/// Inlined into each: a call layer per await is measurable.
#[inline(always)]
unsafe fn step(this: *mut Awaitable, input: Input) -> Sent {
    match (*this).state {
        State::Done => {
            PyErr_SetString(
                PyExc_RuntimeError,
                c"cannot reuse already awaited awaitable".as_ptr(),
            );
            Sent::Error
        }
        State::Executing | State::Closing => {
            PyErr_SetString(PyExc_ValueError, c"awaitable already executing".as_ptr());
            Sent::Error
        }
        State::Created => match input {
            Input::Send(value) if value != Py_None() => {
                PyErr_SetString(
                    PyExc_TypeError,
                    c"can't send non-None value to a just-started awaitable".as_ptr(),
                );
                Sent::Error
            }
            // Thrown in before the first item started: nothing can catch it.
            Input::Throw(exc) => finish_with_error(this, exc),
            // Nothing queued (a METH_ASYNC function that only returned a
            // value): the result, without entering the item loop.
            Input::Send(_) if (*this).queue.is_empty() => {
                (*this).state = State::Done;
                Sent::Return((*this).result.take().unwrap_or_else(Owned::none))
            }
            Input::Send(_) => {
                (*this).state = State::Executing;
                // Inline up to the first suspension or the end: the common
                // case (items that finish without suspending) never enters
                // the general loop.
                match start_next(this) {
                    Next::Finish(sent) => sent,
                    next => advance(this, next),
                }
            }
        },
        State::Suspended => {
            (*this).state = State::Executing;
            // Our own reference: code run by the item may drop others.
            let iter = (*this)
                .current
                .clone()
                .expect("a suspended awaitable has an item");
            match input {
                Input::Send(value) => advance(this, Next::Run(send(&iter, value))),
                Input::Throw(exc) if exceptions::is_instance(&exc, PyExc_GeneratorExit) => {
                    // `yield from` closes the inner iterator, then raises
                    // GeneratorExit where it was suspended.
                    (*this).state = State::Closing;
                    (*this).current = None;
                    let error = queue::close_iter(iter.as_ptr()).unwrap_or(exc);
                    finish_with_error(this, error)
                }
                Input::Throw(exc) => advance(this, Next::Run(throw(&iter, exc))),
            }
        }
    }
}

/// The next thing `advance` does.
enum Next {
    /// Hand the running await's outcome to `then`.
    Run(Outcome),
    /// Continue with the next item, or raise in the awaitable.
    Settle(Flow),
    /// Return this from `step`.
    Finish(Sent),
}

/// Delivers the running item's outcome, then starts items until one
/// suspends or the queue is empty.  A loop, not recursion: any number of
/// items that finish without suspending use constant C stack.
#[inline]
unsafe fn advance(this: *mut Awaitable, mut next: Next) -> Sent {
    loop {
        next = match next {
            Next::Run(outcome) => {
                let finished = match outcome {
                    Outcome::Yield(value) => {
                        (*this).state = State::Suspended;
                        return Sent::Yield(value);
                    }
                    Outcome::Return(value) => Ok(value),
                    Outcome::Raise(exc) => Err(exc),
                };
                drop((*this).current.take());
                Next::Settle(settle(this, finished))
            }
            Next::Settle(Flow::Continue) => start_next(this),
            Next::Settle(Flow::Raise(exc)) => unwind(this, exc),
            Next::Finish(sent) => return sent,
        }
    }
}

/// Hands the outcome of the await that just finished to what waits for it.
#[inline(always)]
unsafe fn settle(this: *mut Awaitable, outcome: Result<Owned, Owned>) -> Flow {
    let obj = this.cast::<PyObject>();
    match std::mem::replace(&mut (*this).then, Then::Idle) {
        Then::Callbacks(on_result, on_error) => match outcome {
            Ok(value) => callbacks::on_result(obj, on_result, on_error, value),
            Err(exc) => callbacks::on_error(obj, on_error, exc),
        },
        Then::Enter(with) => match outcome {
            Ok(value) => {
                let With {
                    exit,
                    body,
                    on_error,
                    ..
                } = *with;
                (*this).queue.enter_block(exit, on_error);
                // Raised in the block: `__aexit__` sees it whatever the
                // code, so there is no error callback to skip.
                callbacks::on_result(obj, body, None, value)
            }
            // `__aenter__` failed: the block never started.
            Err(exc) => callbacks::on_error(obj, with.on_error, exc),
        },
        Then::Exit { exc, on_error } => with::exited(obj, outcome, exc, on_error),
        Then::Idle => Flow::Continue,
    }
}

/// Starts the next item; leaves the innermost block when its items are
/// done; returns the result when everything is.
#[inline(always)]
unsafe fn start_next(this: *mut Awaitable) -> Next {
    // Items that finish without suspending run in this loop.
    loop {
        let Some(item) = (*this).queue.pop() else {
            if let Some((block, _)) = (*this).queue.leave_block() {
                return start_exit(this, block, None);
            }
            (*this).state = State::Done;
            return Next::Finish(Sent::Return(
                (*this).result.take().unwrap_or_else(Owned::none),
            ));
        };
        return match item {
            Item::Await {
                awaitable,
                on_result,
                on_error,
            } => match start_await(this, awaitable) {
                // Finished without suspending (the common case): straight to
                // the callback, as `Run` would, and on to the next item
                // without a trip through `advance`.
                Outcome::Return(value) => {
                    match callbacks::on_result(this.cast(), on_result, on_error, value) {
                        Flow::Continue => continue,
                        raise => Next::Settle(raise),
                    }
                }
                first => {
                    (*this).then = Then::Callbacks(on_result, on_error);
                    Next::Run(first)
                }
            },
            Item::Defer(cb) => Next::Settle(callbacks::on_defer(this.cast(), cb)),
            Item::With(with) => {
                // Room for the block first: once `__aenter__` has run,
                // entering it must not fail.  Without it, the statement
                // fails as if `__aenter__` had raised MemoryError.
                let entered = if (*this).queue.reserve_block() {
                    Owned::from_new(PyObject_CallNoArgs(with.enter.as_ptr()))
                } else {
                    alloc::no_memory();
                    None
                };
                (*this).then = Then::Enter(with);
                Next::Run(match entered {
                    Some(awaitable) => start_await(this, awaitable),
                    None => Outcome::Raise(fetch_or_system_error(c"__aenter__")),
                })
            }
        };
    }
}

/// An exception raised in the awaitable: the innermost open block gets it
/// in `__aexit__`; with none open, the awaitable fails with it.
unsafe fn unwind(this: *mut Awaitable, exc: Owned) -> Next {
    match (*this).queue.leave_block() {
        Some((block, unstarted)) => {
            queue::close_unstarted(unstarted, this.cast());
            start_exit(this, block, Some(exc))
        }
        None => Next::Finish(finish_with_error(this, exc)),
    }
}

/// Awaits `__aexit__` of a block left normally (`exc` None) or by `exc`.
unsafe fn start_exit(this: *mut Awaitable, block: queue::Block, exc: Option<Owned>) -> Next {
    let exiting = with::call_exit(&block.exit, exc.as_ref());
    (*this).then = Then::Exit {
        exc,
        on_error: block.on_error,
    };
    Next::Run(match exiting {
        Some(awaitable) => start_await(this, awaitable),
        None => Outcome::Raise(fetch_or_system_error(c"__aexit__")),
    })
}

/// `await awaitable`: gets its iterator and sends the first None.  The
/// iterator is kept as the running item only if it suspended: `Run` would
/// drop it before the outcome's callback anyway.  Inlined: it is on the
/// path of every await.
#[inline(always)]
unsafe fn start_await(this: *mut Awaitable, awaitable: Owned) -> Outcome {
    match queue::await_iter(awaitable) {
        Some(iter) => {
            let first = send(&iter, Py_None());
            if let Outcome::Yield(_) = first {
                (*this).current = Some(iter);
            }
            first
        }
        None => Outcome::Raise(fetch_or_system_error(c"await")),
    }
}

#[inline]
pub unsafe fn send(iter: &Owned, value: *mut PyObject) -> Outcome {
    let iter = iter.as_ptr();
    let mut result = ptr::null_mut();
    // am_send directly when there is one (coroutines, our awaitables):
    // PyIter_Send would only check for it again.
    let am = (*Py_TYPE(iter)).tp_as_async;
    let status = match if am.is_null() { None } else { (*am).am_send } {
        Some(am_send) => am_send(iter, value, &mut result),
        None => PyIter_Send(iter, value, &mut result),
    };
    match status {
        PySendResult::PYGEN_NEXT => Outcome::Yield(Owned::from_new(result).expect("value")),
        PySendResult::PYGEN_RETURN => Outcome::Return(Owned::from_new(result).expect("value")),
        PySendResult::PYGEN_ERROR => Outcome::Raise(fetch_or_system_error(c"await")),
    }
}

/// `throw` as `yield from` delivers it: through the iterator's `throw`
/// method, or raised at the await point if it has none.
unsafe fn throw(iter: &Owned, exc: Owned) -> Outcome {
    let Some(meth) = Owned::from_new(PyObject_GetAttrString(iter.as_ptr(), c"throw".as_ptr()))
    else {
        if PyErr_ExceptionMatches(PyExc_AttributeError) != 0 {
            PyErr_Clear();
            return Outcome::Raise(exc);
        }
        return Outcome::Raise(fetch_or_system_error(c"throw"));
    };
    if let Some(value) = Owned::from_new(PyObject_CallOneArg(meth.as_ptr(), exc.as_ptr())) {
        return Outcome::Yield(value);
    }
    let raised = fetch_or_system_error(c"throw");
    if exceptions::is_instance(&raised, PyExc_StopIteration) {
        match exceptions::stop_iteration_value(&raised) {
            Some(value) => Outcome::Return(value),
            None => Outcome::Raise(fetch_or_system_error(c"StopIteration.value")),
        }
    } else {
        Outcome::Raise(raised)
    }
}

/// An exception nothing handled: the awaitable is done, the items still
/// queued are closed without running, and `exc` is raised.
unsafe fn finish_with_error(this: *mut Awaitable, exc: Owned) -> Sent {
    match shut_down(this, Some(exc)) {
        Some(exc) => exceptions::restore(exc),
        // Not reached (an error in gives an error out), but Sent::Error
        // promises an exception.
        None => PyErr_SetNone(PyExc_SystemError),
    }
    Sent::Error
}

/// Ends the awaitable without running anything more: drops the result and
/// the running item, closes the unstarted items, and exits the open blocks
/// innermost first with `error` (as `close()` exits `async with` blocks
/// with GeneratorExit).  Returns the exception left to raise, if any.
unsafe fn shut_down(this: *mut Awaitable, mut error: Option<Owned>) -> Option<Owned> {
    (*this).state = State::Closing; // exits may run code that re-enters
    drop((*this).current.take());
    drop((*this).result.take());
    (*this).then = Then::Idle;
    let (current, mut blocks) = (*this).queue.take();
    queue::close_unstarted(current, this.cast());
    for block in &mut blocks {
        queue::close_unstarted(block.take_scope(), this.cast());
    }
    for block in blocks {
        error = Some(with::exit_while_closing(&block.exit, error));
    }
    (*this).state = State::Done;
    error
}

/// `close()`: stop the running item like `yield from` does, drop the rest.
unsafe fn close(this: *mut Awaitable) -> c_int {
    let error = match (*this).state {
        State::Done => return 0,
        State::Executing | State::Closing => {
            PyErr_SetString(PyExc_ValueError, c"awaitable already executing".as_ptr());
            return -1;
        }
        State::Created => None,
        State::Suspended => {
            (*this).state = State::Closing;
            let iter = (*this).current.take();
            iter.and_then(|iter| queue::close_iter(iter.as_ptr()))
        }
    };
    match shut_down(this, error) {
        // Closing means GeneratorExit got where it was going.
        Some(exc) if !exceptions::is_instance(&exc, PyExc_GeneratorExit) => {
            exceptions::restore(exc);
            -1
        }
        _ => 0,
    }
}

/// Turns a step into a Python-level return: a yielded value, or
/// StopIteration carrying the result exactly.
unsafe fn into_python(sent: Sent) -> *mut PyObject {
    match sent {
        Sent::Yield(value) => value.into_ptr(),
        Sent::Return(value) => {
            set_stop_iteration(value);
            ptr::null_mut()
        }
        Sent::Error => ptr::null_mut(),
    }
}

// ---------------------------------------------------------------------------
// Type slots
// ---------------------------------------------------------------------------

unsafe extern "C" fn am_await(obj: *mut PyObject) -> *mut PyObject {
    Py_INCREF(obj);
    obj
}

unsafe extern "C" fn am_send(
    obj: *mut PyObject,
    arg: *mut PyObject,
    result: *mut *mut PyObject,
) -> PySendResult {
    match step(cast(obj), Input::Send(arg)) {
        Sent::Yield(value) => {
            *result = value.into_ptr();
            PySendResult::PYGEN_NEXT
        }
        Sent::Return(value) => {
            *result = value.into_ptr();
            PySendResult::PYGEN_RETURN
        }
        Sent::Error => {
            *result = ptr::null_mut();
            PySendResult::PYGEN_ERROR
        }
    }
}

unsafe extern "C" fn iternext(obj: *mut PyObject) -> *mut PyObject {
    match step(cast(obj), Input::Send(Py_None())) {
        // NULL with no exception set is StopIteration(None) for tp_iternext.
        Sent::Return(value) if value.as_ptr() == Py_None() => ptr::null_mut(),
        sent => into_python(sent),
    }
}

unsafe extern "C" fn method_send(obj: *mut PyObject, arg: *mut PyObject) -> *mut PyObject {
    into_python(step(cast(obj), Input::Send(arg)))
}

unsafe extern "C" fn method_throw(
    obj: *mut PyObject,
    args: *mut *mut PyObject,
    nargs: Py_ssize_t,
) -> *mut PyObject {
    if !(1..=3).contains(&nargs) {
        throw_count_error(args, nargs);
        return ptr::null_mut();
    }
    #[cfg(Py_3_12)]
    if nargs > 1
        && PyErr_WarnEx(
            PyExc_DeprecationWarning,
            c"the (type, exc, tb) signature of throw() is deprecated, use the single-arg signature instead.".as_ptr(),
            1,
        ) < 0
    {
        return ptr::null_mut();
    }
    let arg = |i: Py_ssize_t| {
        if i < nargs {
            *args.offset(i)
        } else {
            ptr::null_mut()
        }
    };
    match throw_argument(arg(0), arg(1), arg(2)) {
        Some(exc) => into_python(step(cast(obj), Input::Throw(exc))),
        None => ptr::null_mut(),
    }
}

/// Raises the TypeError `coroutine.throw()` raises for `nargs` arguments.
/// Generators check the count with the routine behind PyArg_UnpackTuple,
/// so that function words it exactly as the running interpreter does.
#[cold]
unsafe fn throw_count_error(args: *mut *mut PyObject, nargs: Py_ssize_t) {
    let Some(tuple) = Owned::from_new(PyTuple_New(nargs)) else {
        return;
    };
    for i in 0..nargs {
        let arg = *args.offset(i);
        Py_INCREF(arg);
        PyTuple_SET_ITEM(tuple.as_ptr(), i, arg);
    }
    // The out-pointers it would fill for a good count.
    let mut out: [*mut PyObject; 3] = [ptr::null_mut(); 3];
    let [a, b, c] = out.each_mut().map(|p| p as *mut *mut PyObject);
    if PyArg_UnpackTuple(tuple.as_ptr(), c"throw".as_ptr(), 1, 3, a, b, c) != 0 {
        // Not reached for a bad count; never return without an exception.
        PyErr_SetString(PyExc_SystemError, c"throw(): bad argument count".as_ptr());
    }
}

/// The exception instance `throw(typ, val, tb)` raises, with the checks and
/// normalization generators apply.
unsafe fn throw_argument(
    typ: *mut PyObject,
    val: *mut PyObject,
    tb: *mut PyObject,
) -> Option<Owned> {
    let given = |p: *mut PyObject| !p.is_null() && p != Py_None();
    if given(tb) && PyTraceBack_Check(tb) == 0 {
        PyErr_SetString(
            PyExc_TypeError,
            c"throw() third argument must be a traceback object".as_ptr(),
        );
        return None;
    }
    let exc = if PyExceptionClass_Check(typ) != 0 {
        instantiate(typ, val)?
    } else if PyExceptionInstance_Check(typ) != 0 {
        if given(val) {
            PyErr_SetString(
                PyExc_TypeError,
                c"instance exception may not have a separate value".as_ptr(),
            );
            return None;
        }
        Owned::from_borrowed(typ)
    } else {
        PyErr_Format(
            PyExc_TypeError,
            c"exceptions must be classes or instances deriving from BaseException, not %s".as_ptr(),
            type_name(typ),
        );
        return None;
    };
    if given(tb) {
        PyException_SetTraceback(exc.as_ptr(), tb);
    }
    Some(exc)
}

/// `throw(cls, val)`'s instance, made as generators make it.  Not with
/// PyErr_SetObject: that would also make the exception the caller is
/// handling its `__context__`, which `yield from` does not.  An exception
/// raised by the constructor is thrown instead.
#[allow(deprecated)] // PyErr_NormalizeException: what genobject.c calls
unsafe fn instantiate(cls: *mut PyObject, val: *mut PyObject) -> Option<Owned> {
    let (mut ty, mut value, mut tb) = (cls, val, ptr::null_mut());
    Py_INCREF(ty);
    Py_XINCREF(value);
    PyErr_NormalizeException(&mut ty, &mut value, &mut tb);
    Py_DECREF(ty);
    let tb = Owned::from_new(tb);
    let Some(exc) = Owned::from_new(value) else {
        PyErr_SetString(
            PyExc_SystemError,
            c"throw(): exception normalization failed".as_ptr(),
        );
        return None;
    };
    // A constructor's exception: before 3.12 its traceback is kept apart.
    if let Some(tb) = tb {
        PyException_SetTraceback(exc.as_ptr(), tb.as_ptr());
    }
    Some(exc)
}

unsafe extern "C" fn method_close(obj: *mut PyObject, _: *mut PyObject) -> *mut PyObject {
    if close(cast(obj)) < 0 {
        return ptr::null_mut();
    }
    Owned::none().into_ptr()
}

/// Whether finalization has work: items queued that never ran (warn, close
/// them), or an item suspended mid-await (close it).  Anything else is
/// finished or empty, and dealloc skips the finalizer altogether.
unsafe fn needs_finalizer(this: *mut Awaitable) -> bool {
    match (*this).state {
        State::Created => !(*this).queue.is_empty(),
        State::Suspended => true,
        State::Executing | State::Closing | State::Done => false,
    }
}

/// PEP 442 finalizer: runs on deallocation and before GC clears a cycle.
unsafe extern "C" fn finalize(obj: *mut PyObject) {
    let this = cast(obj);
    (*this).finalized = true;
    if !needs_finalizer(this) {
        return;
    }
    let saved = exceptions::fetch();
    if (*this).state == State::Created
        && PyErr_WarnFormat(
            PyExc_RuntimeWarning,
            1,
            c"%R was never awaited".as_ptr(),
            obj,
        ) < 0
    {
        // -W error: the warning is an exception with nowhere to go.
        PyErr_WriteUnraisable(obj);
    }
    if close(this) < 0 {
        PyErr_WriteUnraisable(obj);
    }
    if let Some(saved) = saved {
        exceptions::restore(saved);
    }
}

unsafe extern "C" fn traverse(obj: *mut PyObject, visit: visitproc, arg: *mut c_void) -> c_int {
    let this = cast(obj);
    let objects = std::iter::once(Py_TYPE(obj).cast::<PyObject>())
        .chain((*this).result.as_ref().map(Owned::as_ptr))
        .chain((*this).current.as_ref().map(Owned::as_ptr))
        .chain((*this).then.objects())
        .chain((*this).queue.objects())
        .chain((*this).values.objects());
    for o in objects {
        let rc = visit(o, arg);
        if rc != 0 {
            return rc;
        }
    }
    0
}

unsafe extern "C" fn clear(obj: *mut PyObject) -> c_int {
    let this = cast(obj);
    // Take everything out first: dropping a reference can run arbitrary
    // code that must find the awaitable consistent.
    let result = (*this).result.take();
    let current = (*this).current.take();
    let then = std::mem::replace(&mut (*this).then, Then::Idle);
    let queued = (*this).queue.take();
    let values = (*this).values.take_objects();
    drop((result, current, then, queued, values));
    0
}

unsafe extern "C" fn dealloc(obj: *mut PyObject) {
    let tp = Py_TYPE(obj);
    let this = cast(obj);
    PyObject_GC_UnTrack(obj.cast());
    if !(*this).weakreflist.is_null() {
        PyObject_ClearWeakRefs(obj);
        (*this).weakreflist = ptr::null_mut();
    }
    // Skip the finalizer (and its resurrection dance) when it has no work.
    if needs_finalizer(this) {
        // The finalizer may run Python code: keep the object visible to GC.
        PyObject_GC_Track(obj.cast());
        if PyObject_CallFinalizerFromDealloc(obj) < 0 {
            return; // resurrected
        }
        PyObject_GC_UnTrack(obj.cast());
    }
    // Unreachable now (no references, untracked, no weakrefs): release
    // what the fields own, leaving each empty, as `new` expects of an
    // object from the freelist.  A finished awaitable usually owns nothing.
    drop((*this).result.take());
    drop((*this).current.take());
    if !matches!((*this).then, Then::Idle) {
        (*this).then = Then::Idle;
    }
    if !(*this).queue.owns_nothing() {
        (*this).queue = Queue::default();
    }
    if !(*this).values.is_unused() {
        (*this).values = Values::default();
    }
    if (*this).finalized || !freelist::push(obj) {
        let free = (*tp).tp_free.expect("heap types have tp_free");
        free(obj.cast());
    }
    Py_DECREF(tp.cast());
}

// ---------------------------------------------------------------------------
// Type spec
// ---------------------------------------------------------------------------

static mut METHODS: [PyMethodDef; 4] = [
    PyMethodDef {
        ml_name: c"send".as_ptr(),
        ml_meth: PyMethodDefPointer {
            PyCFunction: method_send,
        },
        ml_flags: METH_O,
        ml_doc: c"send(arg) -> send 'arg' into the awaitable,\nreturn next yielded value or raise StopIteration.".as_ptr(),
    },
    PyMethodDef {
        ml_name: c"throw".as_ptr(),
        ml_meth: PyMethodDefPointer {
            PyCFunctionFast: method_throw,
        },
        ml_flags: METH_FASTCALL,
        ml_doc: c"throw(value)\nthrow(type[,value[,traceback]])\n\nRaise exception in the awaitable, return next yielded value or raise\nStopIteration.".as_ptr(),
    },
    PyMethodDef {
        ml_name: c"close".as_ptr(),
        ml_meth: PyMethodDefPointer {
            PyCFunction: method_close,
        },
        ml_flags: METH_NOARGS,
        ml_doc: c"close() -> raise GeneratorExit inside the running item.".as_ptr(),
    },
    PyMethodDef::zeroed(),
];

static mut MEMBERS: [PyMemberDef; 2] = [
    PyMemberDef {
        name: c"__weaklistoffset__".as_ptr(),
        type_code: Py_T_PYSSIZET,
        offset: std::mem::offset_of!(Awaitable, weakreflist) as Py_ssize_t,
        flags: Py_READONLY,
        doc: ptr::null(),
    },
    PyMemberDef {
        name: ptr::null(),
        type_code: 0,
        offset: 0,
        flags: 0,
        doc: ptr::null(),
    },
];

static mut SLOTS: [PyType_Slot; 11] = [
    PyType_Slot {
        slot: Py_tp_dealloc,
        pfunc: dealloc as *mut c_void,
    },
    PyType_Slot {
        slot: Py_tp_traverse,
        pfunc: traverse as *mut c_void,
    },
    PyType_Slot {
        slot: Py_tp_clear,
        pfunc: clear as *mut c_void,
    },
    PyType_Slot {
        slot: Py_tp_finalize,
        pfunc: finalize as *mut c_void,
    },
    PyType_Slot {
        slot: Py_tp_iternext,
        pfunc: iternext as *mut c_void,
    },
    PyType_Slot {
        slot: Py_am_await,
        pfunc: am_await as *mut c_void,
    },
    PyType_Slot {
        slot: Py_am_send,
        pfunc: am_send as *mut c_void,
    },
    PyType_Slot {
        slot: Py_tp_methods,
        pfunc: ptr::addr_of_mut!(METHODS).cast(),
    },
    PyType_Slot {
        slot: Py_tp_members,
        pfunc: ptr::addr_of_mut!(MEMBERS).cast(),
    },
    PyType_Slot {
        slot: Py_tp_doc,
        pfunc: c"A coroutine created by PyAwaitable_New().\n\nAwaiting it awaits the items queued on it, in order, and calls their\nC callbacks; its value is the result set with PyAwaitable_SetResult().".as_ptr() as *mut c_void,
    },
    PyType_Slot {
        slot: 0,
        pfunc: ptr::null_mut(),
    },
];

pub static mut SPEC: PyType_Spec = PyType_Spec {
    name: c"pyawaitable_backport.awaitable".as_ptr(),
    basicsize: std::mem::size_of::<Awaitable>() as c_int,
    itemsize: 0,
    flags: (Py_TPFLAGS_DEFAULT
        | Py_TPFLAGS_HAVE_GC
        | Py_TPFLAGS_IMMUTABLETYPE
        | Py_TPFLAGS_DISALLOW_INSTANTIATION) as _,
    slots: ptr::addr_of_mut!(SLOTS).cast(),
};

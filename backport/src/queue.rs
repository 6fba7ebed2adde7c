//! The queue of pending items and how an item becomes an await-iterator.
//!
//! Items run first-in first-out.  The awaitable pops an item when it starts
//! it, so an item added while a callback runs goes to the end, and memory is
//! bounded by the number of pending items, not by how many have run.
//!
//! `PyAwaitable_AsyncWith` nests: while a block is open, new items go to
//! the block's own queue, which must drain (or fail) before `__aexit__`
//! runs and the items queued after the `async with` continue.

use crate::bindings::{PyAwaitable_Callback, PyAwaitable_Error};
use crate::exceptions::{self, type_name};
use crate::object;
use crate::refs::Owned;
use pyo3_ffi::*;
use std::collections::VecDeque;

/// `CO_ITERABLE_COROUTINE`: a generator made awaitable by `types.coroutine`.
const CO_ITERABLE_COROUTINE: std::ffi::c_long = 0x0100;

/// A `PyAwaitable_Defer` known not to be NULL.
pub type DeferFn = unsafe extern "C" fn(*mut PyObject) -> std::ffi::c_int;

/// One queued step of the awaitable.
pub enum Item {
    /// `await awaitable`, its outcome handed to the callbacks.
    Await {
        awaitable: Owned,
        on_result: PyAwaitable_Callback,
        on_error: PyAwaitable_Error,
    },
    /// A `PyAwaitable_DeferAwait` callback.
    Defer(DeferFn),
    /// A `PyAwaitable_AsyncWith` statement, not entered yet.
    With(Box<With>),
}

/// `async with ctx as v: body(v)`, with the special methods looked up when
/// the statement was queued (as `async with` looks them up first).
pub struct With {
    /// `ctx.__aenter__`, bound.
    pub enter: Owned,
    /// `ctx.__aexit__`, bound.
    pub exit: Owned,
    pub body: PyAwaitable_Callback,
    pub on_error: PyAwaitable_Error,
}

/// An entered `async with` block.
pub struct Block {
    pub exit: Owned,
    pub on_error: PyAwaitable_Error,
    /// The items queued after the `async with` statement, set aside while
    /// the block runs.
    outer: Scope,
}

impl Block {
    /// The items queued after the statement, removed (to close).
    pub fn take_scope(&mut self) -> Scope {
        std::mem::take(&mut self.outer)
    }
}

/// What `Queue::cancel` removed, to close in this order.
pub struct Cancelled {
    pub current: Scope,
    /// The open blocks' scopes that held items, innermost first.
    pub outer: Vec<Scope>,
    /// No memory for `outer`: the blocks still hold their items, for
    /// `Queue::take_outer_scope` to remove one scope at a time.
    pub unlisted: bool,
}

/// The items of one nesting level.  The front item is stored inline: most
/// awaitables queue one item, and that one then costs no allocation.
#[derive(Default)]
pub struct Scope {
    /// The front item, if it is inline; when it is None, `rest` holds the
    /// front (so order is kept whichever way items arrive).
    head: Option<Item>,
    rest: VecDeque<Item>,
}

impl Scope {
    fn iter(&self) -> impl Iterator<Item = &Item> {
        self.head.iter().chain(&self.rest)
    }

    pub fn is_empty(&self) -> bool {
        self.head.is_none() && self.rest.is_empty()
    }
}

/// A scope's items, in order, without allocating (closing items must not
/// need memory).
impl IntoIterator for Scope {
    type Item = Item;
    type IntoIter =
        std::iter::Chain<std::option::IntoIter<Item>, std::collections::vec_deque::IntoIter<Item>>;

    fn into_iter(self) -> Self::IntoIter {
        self.head.into_iter().chain(self.rest)
    }
}

/// FIFO of items, with a stack of open `async with` blocks.
#[derive(Default)]
pub struct Queue {
    /// The innermost open block's items (the top level's if none is open).
    current: Scope,
    blocks: Vec<Block>,
}

impl Queue {
    /// Queues `item`; gives it back if there is no memory for it.
    #[inline]
    pub fn push(&mut self, item: Item) -> Result<(), Item> {
        let scope = &mut self.current;
        if scope.head.is_none() && scope.rest.is_empty() {
            // Nothing to drop in an empty head: skip the generic drop glue.
            std::mem::forget(scope.head.replace(item));
        } else {
            // Only a full deque needs to grow: one compare on the way.
            if scope.rest.len() == scope.rest.capacity() && scope.rest.try_reserve(1).is_err() {
                return Err(item);
            }
            scope.rest.push_back(item);
        }
        Ok(())
    }

    /// The next item of the innermost scope; None when that scope is done
    /// (then the innermost block, if any, is left next).
    #[inline]
    pub fn pop(&mut self) -> Option<Item> {
        let scope = &mut self.current;
        scope.head.take().or_else(|| scope.rest.pop_front())
    }

    /// True if nothing is queued at any level and no block is open.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.current.head.is_none() && self.current.rest.is_empty() && self.blocks.is_empty()
    }

    /// True if the queue owns nothing (no item, no allocation), so dropping
    /// it would do nothing: the deallocator then skips the drop code.
    #[inline]
    pub fn owns_nothing(&self) -> bool {
        self.current.head.is_none()
            && self.current.rest.capacity() == 0
            && self.blocks.capacity() == 0
    }

    /// Makes room for one more open block, before `__aenter__` is called,
    /// so that entering the block cannot fail afterwards.
    pub fn reserve_block(&mut self) -> bool {
        self.blocks.try_reserve(1).is_ok()
    }

    /// Opens a block: the items queued so far wait until it is left.  Its
    /// room was reserved with `reserve_block`.
    pub fn enter_block(&mut self, exit: Owned, on_error: PyAwaitable_Error) {
        debug_assert!(self.blocks.len() < self.blocks.capacity());
        let outer = std::mem::take(&mut self.current);
        self.blocks.push(Block {
            exit,
            on_error,
            outer,
        });
    }

    /// Leaves the innermost block: its unstarted items are returned (for
    /// the caller to close) and the items after the statement come back.
    /// None outside any block, checked inline: the end of every awaitable
    /// asks.
    #[inline]
    pub fn leave_block(&mut self) -> Option<(Block, Scope)> {
        if self.blocks.is_empty() {
            return None;
        }
        self.leave_open_block()
    }

    fn leave_open_block(&mut self) -> Option<(Block, Scope)> {
        let mut block = self.blocks.pop()?;
        let inner = std::mem::replace(&mut self.current, std::mem::take(&mut block.outer));
        Some((block, inner))
    }

    /// `PyAwaitable_Cancel`: removes every pending item at every level, in
    /// order, for the caller to close.  Open blocks stay open, so their
    /// `__aexit__` still runs, as it would after a `return`.
    ///
    /// With blocks open this needs a list of their scopes, so that what
    /// closing the items runs cannot change which items were cancelled.
    /// Without memory for it, the blocks keep their items (`unlisted`) for
    /// the caller to remove one scope at a time (`take_outer_scope`).
    pub fn cancel(&mut self) -> Cancelled {
        let current = std::mem::take(&mut self.current);
        let mut outer = Vec::new();
        let open = self.blocks.iter().filter(|b| !b.outer.is_empty()).count();
        let unlisted = open > 0 && outer.try_reserve_exact(open).is_err();
        if !unlisted {
            for block in self.blocks.iter_mut().rev() {
                if !block.outer.is_empty() {
                    outer.push(std::mem::take(&mut block.outer));
                }
            }
        }
        Cancelled {
            current,
            outer,
            unlisted,
        }
    }

    /// The innermost block scope still holding items, emptied (after a
    /// `cancel` that could not get memory).
    pub fn take_outer_scope(&mut self) -> Option<Scope> {
        let block = self.blocks.iter_mut().rev().find(|b| !b.outer.is_empty())?;
        Some(std::mem::take(&mut block.outer))
    }

    /// Removes everything: the pending items (to close, innermost scope
    /// first) and the open blocks (innermost first, to exit).  Allocates
    /// nothing: the blocks keep their scopes.
    pub fn take(&mut self) -> (Scope, Vec<Block>) {
        let current = std::mem::take(&mut self.current);
        let mut blocks = std::mem::take(&mut self.blocks);
        blocks.reverse();
        (current, blocks)
    }

    /// Every object the queue holds a reference to (for GC traversal).
    pub fn objects(&self) -> impl Iterator<Item = *mut PyObject> + '_ {
        let scopes = std::iter::once(&self.current).chain(self.blocks.iter().map(|b| &b.outer));
        let items = scopes.flat_map(Scope::iter).flat_map(Item::objects);
        let exits = self.blocks.iter().map(|b| b.exit.as_ptr());
        items.chain(exits)
    }
}

impl Item {
    fn objects(&self) -> impl Iterator<Item = *mut PyObject> {
        let (a, b) = match self {
            Item::Await { awaitable, .. } => (Some(awaitable.as_ptr()), None),
            Item::Defer(_) => (None, None),
            Item::With(with) => (Some(with.enter.as_ptr()), Some(with.exit.as_ptr())),
        };
        a.into_iter().chain(b)
    }
}

/// True for a generator decorated with `types.coroutine`.
unsafe fn is_iterable_coroutine(obj: *mut PyObject) -> bool {
    if PyGen_Check(obj) == 0 {
        return false;
    }
    // Rare path: the code object is not part of the public C API on 3.10.
    let Some(code) = Owned::from_new(PyObject_GetAttrString(obj, c"gi_code".as_ptr())) else {
        PyErr_Clear();
        return false;
    };
    let Some(flags) = Owned::from_new(PyObject_GetAttrString(code.as_ptr(), c"co_flags".as_ptr()))
    else {
        PyErr_Clear();
        return false;
    };
    let flags = PyLong_AsLong(flags.as_ptr());
    if flags == -1 && !PyErr_Occurred().is_null() {
        PyErr_Clear();
        return false;
    }
    flags & CO_ITERABLE_COROUTINE != 0
}

#[inline]
unsafe fn has_am_await(obj: *mut PyObject) -> bool {
    let am = (*Py_TYPE(obj)).tp_as_async;
    !am.is_null() && (*am).am_await.is_some()
}

/// Checks at add time that `await obj` is valid; TypeError naming `func`
/// otherwise.
pub unsafe fn check_awaitable(func: &std::ffi::CStr, obj: *mut PyObject) -> bool {
    if PyCoro_CheckExact(obj) != 0 || has_am_await(obj) || is_iterable_coroutine(obj) {
        return true;
    }
    PyErr_Format(
        PyExc_TypeError,
        c"%s: object %.100s can't be used in 'await' expression".as_ptr(),
        func.as_ptr(),
        type_name(obj),
    );
    false
}

/// The iterator that `await obj` delegates to, with the checks CPython's
/// `await` makes.  Raises (returns None) like `await` would.  Takes the
/// reference: a coroutine is its own iterator.
#[inline(always)]
pub unsafe fn await_iter(obj: Owned) -> Option<Owned> {
    // A coroutine is its own iterator: the common case, inline.
    if PyCoro_CheckExact(obj.as_ptr()) != 0 {
        return Some(obj);
    }
    await_iter_slow(obj)
}

unsafe fn await_iter_slow(obj: Owned) -> Option<Owned> {
    let ptr = obj.as_ptr();
    if PyGen_Check(ptr) != 0 && is_iterable_coroutine(ptr) {
        return Some(obj);
    }
    let am = (*Py_TYPE(ptr)).tp_as_async;
    let am_await = if am.is_null() { None } else { (*am).am_await };
    let Some(am_await) = am_await else {
        PyErr_Format(
            PyExc_TypeError,
            c"object %.100s can't be used in 'await' expression".as_ptr(),
            type_name(ptr),
        );
        return None;
    };
    let iter = Owned::from_new(am_await(ptr))?;
    if PyCoro_CheckExact(iter.as_ptr()) != 0 || is_iterable_coroutine(iter.as_ptr()) {
        PyErr_SetString(
            PyExc_TypeError,
            c"__await__() returned a coroutine".as_ptr(),
        );
        return None;
    }
    if PyIter_Check(iter.as_ptr()) == 0 {
        PyErr_Format(
            PyExc_TypeError,
            c"__await__() returned non-iterator of type '%.100s'".as_ptr(),
            type_name(iter.as_ptr()),
        );
        return None;
    }
    Some(iter)
}

/// Calls `obj.close()` if it exists: how `yield from` stops the iterator it
/// delegates to.  Returns the exception close raised, if any.
pub unsafe fn close_iter(obj: *mut PyObject) -> Option<Owned> {
    let meth = PyObject_GetAttrString(obj, c"close".as_ptr());
    let Some(meth) = Owned::from_new(meth) else {
        if PyErr_ExceptionMatches(PyExc_AttributeError) != 0 {
            PyErr_Clear();
            return None;
        }
        return exceptions::fetch();
    };
    match Owned::from_new(PyObject_CallNoArgs(meth.as_ptr())) {
        Some(_) => None,
        None => exceptions::fetch(),
    }
}

/// Drops items that will never run.  Coroutines (native ones and our own
/// awaitables) are closed first so they do not warn that they were never
/// awaited: the awaitable took responsibility for them.
pub unsafe fn close_unstarted(items: impl IntoIterator<Item = Item>, owner: *mut PyObject) {
    for item in items {
        let Item::Await { awaitable, .. } = item else {
            continue;
        };
        let obj = awaitable.as_ptr();
        if PyCoro_CheckExact(obj) != 0 || PyGen_Check(obj) != 0 || object::is_awaitable(obj) {
            if let Some(exc) = close_iter(obj) {
                exceptions::write_unraisable(exc, owner);
            }
        }
    }
}

//! The queue of pending items and how an item becomes an await-iterator.
//!
//! Items run first-in first-out.  The awaitable pops an item when it starts
//! it, so an item added while a callback runs goes to the end, and memory is
//! bounded by the number of pending items, not by how many have run.

use crate::bindings::{PyAwaitable_Callback, PyAwaitable_Error};
use crate::exceptions::{self, type_name};
use crate::object;
use crate::refs::Owned;
use pyo3_ffi::*;
use std::collections::VecDeque;

/// `CO_ITERABLE_COROUTINE`: a generator made awaitable by `types.coroutine`.
const CO_ITERABLE_COROUTINE: std::ffi::c_long = 0x0100;

/// One queued `await`, with the callbacks that receive its outcome.
pub struct Item {
    pub awaitable: Owned,
    pub on_result: PyAwaitable_Callback,
    pub on_error: PyAwaitable_Error,
}

/// FIFO of items.  The front item is stored inline: most awaitables queue
/// one item, and that one then costs no allocation.
#[derive(Default)]
pub struct Queue {
    /// The front item, if it is inline; when it is None, `rest` holds the
    /// front (so order is kept whichever way items arrive).
    head: Option<Item>,
    rest: VecDeque<Item>,
}

impl Queue {
    #[inline]
    pub fn push(&mut self, item: Item) {
        if self.head.is_none() && self.rest.is_empty() {
            self.head = Some(item);
        } else {
            self.rest.push_back(item);
        }
    }

    #[inline]
    pub fn pop(&mut self) -> Option<Item> {
        self.head.take().or_else(|| self.rest.pop_front())
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.head.is_none() && self.rest.is_empty()
    }

    /// Removes every pending item, in order; the caller closes them.
    pub fn take(&mut self) -> Vec<Item> {
        match self.head.take() {
            None if self.rest.is_empty() => Vec::new(),
            head => head.into_iter().chain(self.rest.drain(..)).collect(),
        }
    }

    pub fn objects(&self) -> impl Iterator<Item = *mut PyObject> + '_ {
        self.head
            .iter()
            .chain(&self.rest)
            .map(|item| item.awaitable.as_ptr())
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
pub unsafe fn await_iter(obj: Owned) -> Option<Owned> {
    let ptr = obj.as_ptr();
    if PyCoro_CheckExact(ptr) != 0 || (PyGen_Check(ptr) != 0 && is_iterable_coroutine(ptr)) {
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
pub unsafe fn close_unstarted(items: Vec<Item>, owner: *mut PyObject) {
    for item in items {
        let obj = item.awaitable.as_ptr();
        if PyCoro_CheckExact(obj) != 0 || PyGen_Check(obj) != 0 || object::is_awaitable(obj) {
            if let Some(exc) = close_iter(obj) {
                exceptions::write_unraisable(exc, owner);
            }
        }
    }
}

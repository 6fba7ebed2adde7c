//! The exported table: every C entry point of `pyawaitable.h`, checking its
//! arguments and naming itself in the exceptions it raises, then handing
//! over to the object, queue and values modules.
//!
//! Misuse is a Python exception, never a crash: a NULL awaitable is a
//! SystemError, an object of another type a TypeError, a NULL argument a
//! ValueError, a bad index an IndexError.

use crate::alloc;
use crate::bindings::{
    _PyAwaitable_API, _PyAwaitable_API_VERSION, PyAwaitable_Callback, PyAwaitable_Defer,
    PyAwaitable_Error,
};
use crate::object::{self, Awaitable};
use crate::queue::{self, Item, With};
use crate::refs::Owned;
use crate::runtime;
use crate::values::Refused;
use crate::with;
use pyo3_ffi::*;
use std::ffi::{c_int, c_void, CStr};
use std::{ptr, slice};

pub static TABLE: _PyAwaitable_API = _PyAwaitable_API {
    version: _PyAwaitable_API_VERSION,
    size: std::mem::size_of::<_PyAwaitable_API>() as u32,
    New: Some(new),
    AddAwait: Some(add_await),
    AddExpr: Some(add_expr),
    SetResult: Some(set_result),
    Cancel: Some(cancel),
    GetType: Some(get_type),
    Check: Some(check),
    SaveValuesArray: Some(save_values),
    UnpackValuesArray: Some(unpack_values),
    SetValue: Some(set_value),
    GetValue: Some(get_value),
    ValuesSize: Some(values_size),
    SaveArbValuesArray: Some(save_arb_values),
    UnpackArbValuesArray: Some(unpack_arb_values),
    SetArbValue: Some(set_arb_value),
    GetArbValue: Some(get_arb_value),
    ArbValuesSize: Some(arb_values_size),
    DeferAwait: Some(defer_await),
    AsyncWith: Some(async_with),
    AddFunctions: Some(add_functions),
    AddMethods: Some(add_methods),
};

/// The awaitable argument of `func`, or None with an exception set.
unsafe fn awaitable(func: &CStr, aw: *mut PyObject) -> Option<*mut Awaitable> {
    if aw.is_null() {
        PyErr_Format(
            PyExc_SystemError,
            c"%s: the awaitable is NULL".as_ptr(),
            func.as_ptr(),
        );
        None
    } else if !object::is_awaitable(aw) {
        PyErr_Format(
            PyExc_TypeError,
            c"%s: expected a PyAwaitable object, got %.100s".as_ptr(),
            func.as_ptr(),
            crate::exceptions::type_name(aw),
        );
        None
    } else {
        Some(object::cast(aw))
    }
}

/// ValueError naming `func` and the argument that was NULL.
unsafe fn null_argument(func: &CStr, name: &CStr) -> c_int {
    PyErr_Format(
        PyExc_ValueError,
        c"%s: %s is NULL".as_ptr(),
        func.as_ptr(),
        name.as_ptr(),
    );
    -1
}

unsafe fn refused(func: &CStr, why: Refused) {
    match why {
        Refused::Index { index, len } => PyErr_Format(
            PyExc_IndexError,
            c"%s: index %zd out of range (%zu values saved)".as_ptr(),
            func.as_ptr(),
            index,
            len,
        ),
        Refused::Count { wanted, len } => PyErr_Format(
            PyExc_ValueError,
            c"%s: cannot unpack %zd values (%zu saved)".as_ptr(),
            func.as_ptr(),
            wanted,
            len,
        ),
    };
}

/// A non-negative count with a non-NULL array behind it, as a slice length.
unsafe fn array_len<T>(func: &CStr, n: Py_ssize_t, array: *const T) -> Option<usize> {
    let Ok(len) = usize::try_from(n) else {
        PyErr_Format(
            PyExc_ValueError,
            c"%s: count must be non-negative, got %zd".as_ptr(),
            func.as_ptr(),
            n,
        );
        return None;
    };
    if len > 0 && array.is_null() {
        null_argument(func, c"the array");
        return None;
    }
    Some(len)
}

unsafe extern "C" fn new() -> *mut PyObject {
    let tp = runtime::awaitable_type();
    if tp.is_null() {
        return ptr::null_mut();
    }
    object::new(tp)
}

#[inline(always)]
unsafe fn add_item(
    func: &CStr,
    aw: *mut PyObject,
    coro: Owned,
    cb: PyAwaitable_Callback,
    err: PyAwaitable_Error,
) -> c_int {
    let Some(this) = awaitable(func, aw) else {
        return -1;
    };
    if coro.as_ptr() == aw {
        PyErr_Format(
            PyExc_ValueError,
            c"%s: an awaitable cannot await itself".as_ptr(),
            func.as_ptr(),
        );
        return -1;
    }
    if !queue::check_awaitable(func, coro.as_ptr()) {
        return -1;
    }
    let item = Item::Await {
        awaitable: coro,
        on_result: cb,
        on_error: err,
    };
    if !object::add(this, func, item) {
        return -1;
    }
    0
}

unsafe extern "C" fn defer_await(aw: *mut PyObject, cb: PyAwaitable_Defer) -> c_int {
    let func = c"PyAwaitable_DeferAwait";
    let Some(this) = awaitable(func, aw) else {
        return -1;
    };
    let Some(cb) = cb else {
        return null_argument(func, c"cb");
    };
    if !object::add(this, func, Item::Defer(cb)) {
        return -1;
    }
    0
}

unsafe extern "C" fn async_with(
    aw: *mut PyObject,
    ctx: *mut PyObject,
    body: PyAwaitable_Callback,
    err: PyAwaitable_Error,
) -> c_int {
    let func = c"PyAwaitable_AsyncWith";
    let Some(this) = awaitable(func, aw) else {
        return -1;
    };
    if ctx.is_null() {
        return null_argument(func, c"ctx");
    }
    let Ok((enter, exit)) = with::lookup(func, ctx) else {
        return -1;
    };
    let Some(with) = alloc::try_box(With {
        enter,
        exit,
        body,
        on_error: err,
    }) else {
        alloc::no_memory();
        return -1;
    };
    let item = Item::With(with);
    if !object::add(this, func, item) {
        return -1;
    }
    0
}

unsafe extern "C" fn add_await(
    aw: *mut PyObject,
    coro: *mut PyObject,
    cb: PyAwaitable_Callback,
    err: PyAwaitable_Error,
) -> c_int {
    let func = c"PyAwaitable_AddAwait";
    if coro.is_null() {
        return null_argument(func, c"coro");
    }
    add_item(func, aw, Owned::from_borrowed(coro), cb, err)
}

/// Like AddAwait, but steals `expr`, and a NULL `expr` (a failed call used
/// as the argument) keeps the caller's exception.
unsafe extern "C" fn add_expr(
    aw: *mut PyObject,
    expr: *mut PyObject,
    cb: PyAwaitable_Callback,
    err: PyAwaitable_Error,
) -> c_int {
    let func = c"PyAwaitable_AddExpr";
    let Some(expr) = Owned::from_new(expr) else {
        if PyErr_Occurred().is_null() {
            return null_argument(func, c"expr");
        }
        return -1;
    };
    add_item(func, aw, expr, cb, err)
}

unsafe extern "C" fn set_result(aw: *mut PyObject, result: *mut PyObject) -> c_int {
    let func = c"PyAwaitable_SetResult";
    let Some(this) = awaitable(func, aw) else {
        return -1;
    };
    if result.is_null() {
        return null_argument(func, c"result");
    }
    object::set_result(this, Owned::from_borrowed(result));
    0
}

unsafe extern "C" fn cancel(aw: *mut PyObject) {
    if let Some(this) = awaitable(c"PyAwaitable_Cancel", aw) {
        object::cancel(this);
    }
}

unsafe extern "C" fn get_type() -> *mut PyTypeObject {
    runtime::awaitable_type()
}

unsafe extern "C" fn check(op: *mut PyObject) -> c_int {
    (!op.is_null() && object::is_awaitable(op)) as c_int
}

unsafe extern "C" fn save_values(
    aw: *mut PyObject,
    n: Py_ssize_t,
    values: *const *mut PyObject,
) -> c_int {
    let func = c"PyAwaitable_SaveValuesArray";
    let Some(this) = awaitable(func, aw) else {
        return -1;
    };
    let Some(len) = array_len(func, n, values) else {
        return -1;
    };
    let values = if len == 0 {
        &[][..]
    } else {
        slice::from_raw_parts(values, len)
    };
    // Check every value before saving any: a failed call saves nothing.
    if let Some(i) = values.iter().position(|v| v.is_null()) {
        PyErr_Format(
            PyExc_ValueError,
            c"%s: value %zu is NULL".as_ptr(),
            func.as_ptr(),
            i,
        );
        return -1;
    }
    if !(*this).values.save(values) {
        alloc::no_memory();
        return -1;
    }
    0
}

unsafe extern "C" fn unpack_values(
    aw: *mut PyObject,
    n: Py_ssize_t,
    out: *mut *mut PyObject,
) -> c_int {
    let func = c"PyAwaitable_UnpackValuesArray";
    let Some(this) = awaitable(func, aw) else {
        return -1;
    };
    let Some(len) = array_len(func, n, out) else {
        return -1;
    };
    let out = if len == 0 {
        &mut [][..]
    } else {
        slice::from_raw_parts_mut(out, len)
    };
    match (*this).values.unpack(n, out) {
        Ok(()) => 0,
        Err(why) => {
            refused(func, why);
            -1
        }
    }
}

unsafe extern "C" fn set_value(
    aw: *mut PyObject,
    index: Py_ssize_t,
    value: *mut PyObject,
) -> c_int {
    let func = c"PyAwaitable_SetValue";
    let Some(this) = awaitable(func, aw) else {
        return -1;
    };
    if value.is_null() {
        return null_argument(func, c"value");
    }
    match (*this).values.set(index, Owned::from_borrowed(value)) {
        Ok(old) => {
            drop(old);
            0
        }
        Err(why) => {
            refused(func, why);
            -1
        }
    }
}

unsafe extern "C" fn get_value(aw: *mut PyObject, index: Py_ssize_t) -> *mut PyObject {
    let func = c"PyAwaitable_GetValue";
    let Some(this) = awaitable(func, aw) else {
        return ptr::null_mut();
    };
    (*this).values.get(index).unwrap_or_else(|why| {
        refused(func, why);
        ptr::null_mut()
    })
}

unsafe extern "C" fn values_size(aw: *mut PyObject) -> Py_ssize_t {
    match awaitable(c"PyAwaitable_ValuesSize", aw) {
        Some(this) => (*this).values.len() as Py_ssize_t,
        None => -1,
    }
}

unsafe extern "C" fn save_arb_values(
    aw: *mut PyObject,
    n: Py_ssize_t,
    values: *const *mut c_void,
) -> c_int {
    let func = c"PyAwaitable_SaveArbValuesArray";
    let Some(this) = awaitable(func, aw) else {
        return -1;
    };
    let Some(len) = array_len(func, n, values) else {
        return -1;
    };
    if len > 0
        && !(*this)
            .values
            .save_arbitrary(slice::from_raw_parts(values, len))
    {
        alloc::no_memory();
        return -1;
    }
    0
}

unsafe extern "C" fn unpack_arb_values(
    aw: *mut PyObject,
    n: Py_ssize_t,
    out: *mut *mut c_void,
) -> c_int {
    let func = c"PyAwaitable_UnpackArbValuesArray";
    let Some(this) = awaitable(func, aw) else {
        return -1;
    };
    let Some(len) = array_len(func, n, out) else {
        return -1;
    };
    let out = if len == 0 {
        &mut [][..]
    } else {
        slice::from_raw_parts_mut(out, len)
    };
    match (*this).values.unpack_arbitrary(n, out) {
        Ok(()) => 0,
        Err(why) => {
            refused(func, why);
            -1
        }
    }
}

unsafe extern "C" fn set_arb_value(
    aw: *mut PyObject,
    index: Py_ssize_t,
    value: *mut c_void,
) -> c_int {
    let func = c"PyAwaitable_SetArbValue";
    let Some(this) = awaitable(func, aw) else {
        return -1;
    };
    match (*this).values.set_arbitrary(index, value) {
        Ok(()) => 0,
        Err(why) => {
            refused(func, why);
            -1
        }
    }
}

unsafe extern "C" fn get_arb_value(aw: *mut PyObject, index: Py_ssize_t) -> *mut c_void {
    let func = c"PyAwaitable_GetArbValue";
    let Some(this) = awaitable(func, aw) else {
        return ptr::null_mut();
    };
    (*this).values.get_arbitrary(index).unwrap_or_else(|why| {
        refused(func, why);
        ptr::null_mut()
    })
}

unsafe extern "C" fn arb_values_size(aw: *mut PyObject) -> Py_ssize_t {
    match awaitable(c"PyAwaitable_ArbValuesSize", aw) {
        Some(this) => (*this).values.len_arbitrary() as Py_ssize_t,
        None => -1,
    }
}

unsafe extern "C" fn add_functions(module: *mut PyObject, functions: *mut PyMethodDef) -> c_int {
    let func = c"PyAwaitable_AddFunctions";
    if module.is_null() {
        return null_argument(func, c"module");
    }
    if functions.is_null() {
        return null_argument(func, c"functions");
    }
    crate::method::register::add_functions(func, module, functions)
}

unsafe extern "C" fn add_methods(tp: *mut PyTypeObject, methods: *mut PyMethodDef) -> c_int {
    let func = c"PyAwaitable_AddMethods";
    if tp.is_null() {
        return null_argument(func, c"type");
    }
    if methods.is_null() {
        return null_argument(func, c"methods");
    }
    crate::method::register::add_methods(func, tp, methods)
}

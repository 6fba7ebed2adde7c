//! `METH_ASYNC` functions in a method table, for modules written on raw
//! `pyo3-ffi` (PyO3's `#[pyfunction]`s return an [`Awaitable`] instead).
//!
//! [`Awaitable`]: super::Awaitable

use super::table::{api, call};
use super::{Error, Object};
use pyo3_ffi::PyMethodDef;
use std::ffi::c_int;

/// `METH_ASYNC` of `pyawaitable.h`: marks a [`PyMethodDef`] entry as an
/// async function.  The C function gets a fresh awaitable right after
/// `self` (for `METH_O`: `f(module, aw, arg)`), queues on it, and returns
/// its result (a new reference; callbacks may set another), or NULL with an
/// exception set, which the call raises.  The caller gets the awaitable.
/// Stock CPython ignores the bit: register the table with
/// [`add_functions`] (whose example uses it).
///
/// ```
/// // The value pyawaitable.h defines, free among CPython's METH_ flags.
/// assert_eq!(pyawaitable_backport::METH_ASYNC, 0x0400);
/// assert_eq!(pyawaitable_backport::METH_ASYNC & pyo3_ffi::METH_COEXIST, 0);
/// ```
pub const METH_ASYNC: c_int = crate::bindings::METH_ASYNC as c_int;

/// `PyAwaitable_AddFunctions()`: adds every entry of a NULL-terminated
/// method table to `module`, as `PyModule_AddFunctions()` does, the
/// [`METH_ASYNC`] ones as async functions.  Call it from the module's exec
/// slot; `functions` may be the module's own `m_methods` (only its
/// `METH_ASYNC` entries are replaced).  Errors: `SystemError` naming an
/// entry with invalid flags, or the runtime's `ImportError`.
///
/// ```
/// use pyawaitable_backport::{add_functions, embed, Attached, Awaitable, Object, METH_ASYNC};
/// use pyo3_ffi::*;
/// use std::ptr;
///
/// /// `async def echo(coro): return await coro`, as METH_O | METH_ASYNC.
/// unsafe extern "C" fn echo(_module: *mut PyObject, aw: *mut PyObject, coro: *mut PyObject) -> *mut PyObject {
///     let attached = Attached::assume();
///     let queued = Awaitable::from_borrowed_ptr(attached, aw).and_then(|aw| {
///         let coro = Object::from_borrowed_ptr(attached, coro).expect("METH_O passes one");
///         aw.await_(&coro, |aw, value| aw.set_result(&value))
///     });
///     match queued {
///         Ok(()) => Py_NewRef(Py_None()), // the result until the callback sets one
///         Err(err) => {
///             err.restore(attached);
///             ptr::null_mut()
///         }
///     }
/// }
///
/// static mut FUNCTIONS: [PyMethodDef; 2] = [
///     PyMethodDef {
///         ml_name: c"echo".as_ptr(),
///         // Three pointers in, one out: the shape of PyCFunctionWithKeywords.
///         ml_meth: PyMethodDefPointer { PyCFunctionWithKeywords: echo },
///         ml_flags: METH_O | METH_ASYNC,
///         ml_doc: ptr::null(),
///     },
///     PyMethodDef::zeroed(),
/// ];
///
/// embed::run(|attached| {
///     let module = unsafe { Object::from_owned_ptr(attached, PyModule_New(c"demo".as_ptr())) }.unwrap();
///     unsafe { add_functions(&module, ptr::addr_of_mut!(FUNCTIONS).cast()) }?;
///     embed::exec(attached, "import asyncio")?;
///     let coro = embed::eval(attached, "asyncio.sleep(0, 'echoed')")?;
///     let aw = unsafe {
///         let echo = PyObject_GetAttrString(module.as_ptr(), c"echo".as_ptr());
///         let aw = PyObject_CallOneArg(echo, coro.as_ptr());
///         Py_DECREF(echo);
///         Object::from_owned_ptr(attached, aw).expect("the call succeeded")
///     };
///     assert_eq!(format!("{:?}", embed::drive(&aw)?), "'echoed'");
///     Ok::<(), pyawaitable_backport::Error>(())
/// })
/// .unwrap();
/// ```
///
/// # Safety
/// `functions` points to a NULL-terminated array that outlives the module
/// (a `static`), whose entries' functions have the signatures their flags
/// select, with the awaitable after `self` for the `METH_ASYNC` ones.
pub unsafe fn add_functions(module: &Object<'_>, functions: *mut PyMethodDef) -> Result<(), Error> {
    let attached = module.attached();
    let api = api(attached)?;
    // SAFETY: attached; the caller vouches for the table.
    if unsafe { call!(api, AddFunctions(module.as_ptr(), functions)) } < 0 {
        return Err(Error::fetch(attached));
    }
    Ok(())
}

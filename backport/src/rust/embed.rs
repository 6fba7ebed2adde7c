//! Running Python inside a Rust program with this crate's runtime: for
//! embedding applications, and for this API's own tests and examples.
//!
//! An extension module never needs this: the installed
//! `pyawaitable_backport` package provides the runtime.

use super::{Attached, Error, Object};
use pyo3_ffi::*;
use std::ffi::CString;
use std::sync::Once;

const RUNTIME: &std::ffi::CStr = c"pyawaitable_backport._runtime";

/// Installs this crate's runtime as `pyawaitable_backport._runtime` in the
/// current interpreter (creating a `pyawaitable_backport` package module if
/// there is none), so that [`init`](crate::init) and C extensions find it
/// without the wheel being installed.  Does nothing if the runtime is
/// already imported.
///
/// ```
/// # pyawaitable_backport::embed::run(|attached| {
/// pyawaitable_backport::embed::install_runtime(attached).unwrap();
/// pyawaitable_backport::init(attached).unwrap();
/// # });
/// ```
pub fn install_runtime(attached: Attached<'_>) -> Result<(), Error> {
    let fail = || Error::fetch(attached);
    // SAFETY: attached; every pointer is checked; new references are owned
    // by `Object`s.
    unsafe {
        let modules = PyImport_GetModuleDict(); // borrowed
        if !PyDict_GetItemString(modules, RUNTIME.as_ptr()).is_null() {
            return Ok(());
        }
        let def = crate::PyInit__runtime().cast::<PyModuleDef>();
        let machinery = Object::from_owned_ptr(
            attached,
            PyImport_ImportModule(c"importlib.machinery".as_ptr()),
        )
        .ok_or_else(fail)?;
        let spec = Object::from_owned_ptr(
            attached,
            PyObject_CallMethod(
                machinery.as_ptr(),
                c"ModuleSpec".as_ptr(),
                c"sO".as_ptr(),
                RUNTIME.as_ptr(),
                Py_None(),
            ),
        )
        .ok_or_else(fail)?;
        let module = Object::from_owned_ptr(attached, PyModule_FromDefAndSpec(def, spec.as_ptr()))
            .ok_or_else(fail)?;
        if PyModule_ExecDef(module.as_ptr(), def) < 0
            || PyDict_SetItemString(modules, RUNTIME.as_ptr(), module.as_ptr()) < 0
        {
            return Err(fail());
        }
        let package = PyDict_GetItemString(modules, c"pyawaitable_backport".as_ptr());
        let package = if package.is_null() {
            let package =
                Object::from_owned_ptr(attached, PyModule_New(c"pyawaitable_backport".as_ptr()))
                    .ok_or_else(fail)?;
            let path = Object::from_owned_ptr(attached, PyList_New(0)).ok_or_else(fail)?;
            if PyObject_SetAttrString(package.as_ptr(), c"__path__".as_ptr(), path.as_ptr()) < 0
                || PyDict_SetItemString(modules, c"pyawaitable_backport".as_ptr(), package.as_ptr())
                    < 0
            {
                return Err(fail());
            }
            package
        } else {
            Object::from_borrowed_ptr(attached, package).expect("non-NULL")
        };
        if PyObject_SetAttrString(package.as_ptr(), c"_runtime".as_ptr(), module.as_ptr()) < 0 {
            return Err(fail());
        }
    }
    Ok(())
}

static STARTED: Once = Once::new();

/// Runs `f` attached to an embedded interpreter, started on first use with
/// [`install_runtime`] done (an interpreter already running, for example
/// one PyO3 started, is used as it is, with the runtime installed).
/// Callable from any thread, as often as needed.
///
/// ```
/// let answer = pyawaitable_backport::embed::run(|attached| {
///     let aw = pyawaitable_backport::Awaitable::new(attached).unwrap();
///     aw.cancel();
///     42
/// });
/// assert_eq!(answer, 42);
/// ```
pub fn run<R>(f: impl for<'py> FnOnce(Attached<'py>) -> R) -> R {
    STARTED.call_once(|| {
        // SAFETY: initializing (if needed) and attaching by the C API's
        // rules; the thread is detached again at the end.
        unsafe {
            let started_here = Py_IsInitialized() == 0;
            let gstate = if started_here {
                Py_InitializeEx(0);
                None
            } else {
                Some(PyGILState_Ensure())
            };
            install_runtime(Attached::assume()).expect("installing the runtime");
            match gstate {
                Some(gstate) => PyGILState_Release(gstate),
                None => {
                    PyEval_SaveThread();
                }
            }
        }
    });
    attach(f)
}

#[cfg(not(feature = "pyo3"))]
fn attach<R>(f: impl for<'py> FnOnce(Attached<'py>) -> R) -> R {
    /// Detaches even if `f` panics (a failed assertion in a test), so
    /// other threads are not left waiting for the GIL.
    struct Guard(PyGILState_STATE);
    impl Drop for Guard {
        fn drop(&mut self) {
            // SAFETY: pairs with the Ensure below, on this thread.
            unsafe { PyGILState_Release(self.0) }
        }
    }
    // SAFETY: the interpreter is initialized.
    let _guard = Guard(unsafe { PyGILState_Ensure() });
    // SAFETY: attached until the guard drops, after `f` returns.
    f(unsafe { Attached::assume() })
}

/// With PyO3, attach the PyO3 way, so its own bookkeeping knows.
#[cfg(feature = "pyo3")]
fn attach<R>(f: impl for<'py> FnOnce(Attached<'py>) -> R) -> R {
    pyo3::Python::attach(|py| f(py.into()))
}

/// Evaluates a Python expression in `__main__`'s namespace.
///
/// ```
/// # pyawaitable_backport::embed::run(|attached| {
/// let three = pyawaitable_backport::embed::eval(attached, "1 + 2").unwrap();
/// assert_eq!(format!("{three:?}"), "3");
/// # });
/// ```
pub fn eval<'py>(attached: Attached<'py>, expr: &str) -> Result<Object<'py>, Error> {
    run_code(attached, expr, Py_eval_input)
}

/// Executes Python statements in `__main__`'s namespace.
///
/// ```
/// # pyawaitable_backport::embed::run(|attached| {
/// use pyawaitable_backport::embed;
/// embed::exec(attached, "async def answer():\n    return 42").unwrap();
/// assert_eq!(format!("{:?}", embed::eval(attached, "answer.__name__").unwrap()), "'answer'");
/// # });
/// ```
pub fn exec(attached: Attached<'_>, code: &str) -> Result<(), Error> {
    run_code(attached, code, Py_file_input).map(drop)
}

fn run_code<'py>(
    attached: Attached<'py>,
    code: &str,
    start: std::ffi::c_int,
) -> Result<Object<'py>, Error> {
    let code = CString::new(code)
        .map_err(|_| unsafe { Error::raw(attached, PyExc_ValueError, "code contains NUL") })?;
    // SAFETY: attached; __main__'s dict is borrowed from sys.modules.
    unsafe {
        let main = PyImport_AddModule(c"__main__".as_ptr());
        if main.is_null() {
            return Err(Error::fetch(attached));
        }
        let globals = PyModule_GetDict(main);
        Object::from_owned_ptr(
            attached,
            PyRun_String(code.as_ptr(), start, globals, globals),
        )
        .ok_or_else(|| Error::fetch(attached))
    }
}

/// Runs a coroutine (or an awaitable's iterator) to completion by sending
/// `None` until it returns, as an event loop does when every await is
/// ready at once; returns its value, or its exception as `Err`.
///
/// ```
/// # pyawaitable_backport::embed::run(|attached| {
/// use pyawaitable_backport::embed;
/// let coro = embed::eval(attached, "__import__('asyncio').sleep(0, 'done')").unwrap();
/// assert_eq!(format!("{:?}", embed::drive(&coro).unwrap()), "'done'");
/// # });
/// ```
pub fn drive<'py>(coro: &Object<'py>) -> Result<Object<'py>, Error> {
    let attached = coro.attached();
    loop {
        let mut out = std::ptr::null_mut();
        // SAFETY: attached; PyIter_Send returns a new reference in `out`
        // for RETURN and NEXT.
        let status = unsafe { PyIter_Send(coro.as_ptr(), Py_None(), &mut out) };
        match status {
            PySendResult::PYGEN_RETURN => {
                return Ok(unsafe { Object::from_owned_ptr(attached, out) }.expect("a value"))
            }
            PySendResult::PYGEN_NEXT => drop(unsafe { Object::from_owned_ptr(attached, out) }),
            PySendResult::PYGEN_ERROR => return Err(Error::fetch(attached)),
        }
    }
}

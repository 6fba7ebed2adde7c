//! A CPython extension written on raw `pyo3-ffi`, without PyO3, whose async
//! functions use the `pyawaitable_backport` Rust API: `extern "C"` entry
//! points, a method table, multi-phase initialization, and closures as the
//! callbacks.

use pyawaitable_backport::{add_functions, Attached, Awaitable, Error, Object, Owned, METH_ASYNC};
use pyo3_ffi::*;
use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;
use std::rc::Rc;

/// The return of an entry point: a new reference, or NULL with the error
/// raised.
fn into_ptr(attached: Attached<'_>, result: Result<Object<'_>, Error>) -> *mut PyObject {
    match result {
        Ok(object) => object.into_ptr(),
        Err(err) => {
            err.restore(attached);
            ptr::null_mut()
        }
    }
}

/// The `N` positional arguments of a `METH_FASTCALL` function.
///
/// # Safety
/// `args` holds `nargs` live objects.
unsafe fn arguments<'py, const N: usize>(
    attached: Attached<'py>,
    name: &str,
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
) -> Result<[Object<'py>; N], Error> {
    if nargs != N as Py_ssize_t {
        let message = format!("{name}() takes exactly {N} arguments ({nargs} given)");
        return Err(Error::builtin(attached, "TypeError", &message));
    }
    Ok(std::array::from_fn(|i| {
        Object::from_borrowed_ptr(attached, *args.add(i)).expect("CPython passes objects")
    }))
}

/// `async def scaled(coro, factor): return await coro * factor`
///
/// The closure captures `factor` (an [`Owned`] reference: no lifetime, so
/// it can outlive this call).
unsafe extern "C" fn scaled(
    _module: *mut PyObject,
    args: *mut *mut PyObject,
    nargs: Py_ssize_t,
) -> *mut PyObject {
    let attached = Attached::assume();
    let result = (|| {
        let [coro, factor] = arguments(attached, "scaled", args, nargs)?;
        let factor: Owned = factor.unbind();
        let aw = Awaitable::new(attached)?;
        aw.await_(&coro, move |aw, value| {
            let attached = aw.attached();
            let product = PyNumber_Multiply(value.as_ptr(), factor.as_ptr());
            let product =
                Object::from_owned_ptr(attached, product).ok_or_else(|| Error::fetch(attached))?;
            aw.set_result(&product)
        })?;
        Ok(aw.into_object())
    })();
    into_ptr(attached, result)
}

/// ```python
/// async def locked(lock, coro):
///     async with lock:
///         return await coro
/// ```
///
/// What the body closure queues runs inside the block: the lock is held
/// while `coro` runs, and released after, also if it raises.
unsafe extern "C" fn locked(
    _module: *mut PyObject,
    args: *mut *mut PyObject,
    nargs: Py_ssize_t,
) -> *mut PyObject {
    let attached = Attached::assume();
    let result = (|| {
        let [lock, coro] = arguments(attached, "locked", args, nargs)?;
        let coro = coro.unbind();
        let aw = Awaitable::new(attached)?;
        aw.async_with(&lock, move |aw, _| {
            aw.await_(&coro.bind(aw.attached()), |aw, value| aw.set_result(&value))
        })?;
        Ok(aw.into_object())
    })();
    into_ptr(attached, result)
}

/// `async def add_all(*awaitables)`: awaits each in turn and returns the
/// sum, as a `METH_FASTCALL | METH_ASYNC` function: the runtime passes a
/// fresh awaitable after the module and gives it to the caller; this
/// returns the result it has until a callback sets another.
unsafe extern "C" fn add_all(
    _module: *mut PyObject,
    aw: *mut PyObject,
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
) -> *mut PyObject {
    let attached = Attached::assume();
    let result = (|| {
        let aw = Awaitable::from_borrowed_ptr(attached, aw)?;
        let zero = Object::from_owned_ptr(attached, PyLong_FromLong(0))
            .ok_or_else(|| Error::fetch(attached))?;
        // The running total, shared by the closures (each runs after the
        // previous one: no overlap).
        let total = Rc::new(RefCell::new(zero.clone().unbind()));
        for i in 0..nargs as usize {
            let item = Object::from_borrowed_ptr(attached, *args.add(i)).expect("an argument");
            let total = total.clone();
            aw.await_(&item, move |aw, value| {
                let attached = aw.attached();
                let sum = PyNumber_Add(total.borrow().as_ptr(), value.as_ptr());
                let sum =
                    Object::from_owned_ptr(attached, sum).ok_or_else(|| Error::fetch(attached))?;
                aw.set_result(&sum)?;
                *total.borrow_mut() = sum.unbind();
                Ok(())
            })?;
        }
        Ok(zero)
    })();
    into_ptr(attached, result)
}

/// `async def passthrough(coro): return await coro`, with a closure that
/// captures nothing: queued on the awaitable directly, the cheapest await
/// (see `tests/bench.py`).
unsafe extern "C" fn passthrough(_module: *mut PyObject, coro: *mut PyObject) -> *mut PyObject {
    let attached = Attached::assume();
    let result = (|| {
        let coro = Object::from_borrowed_ptr(attached, coro).expect("METH_O passes one");
        let aw = Awaitable::new(attached)?;
        aw.await_(&coro, |aw, value| aw.set_result(&value))?;
        Ok(aw.into_object())
    })();
    into_ptr(attached, result)
}

/// `async def panics(coro): await coro; panic!()`: with `panic = "unwind"`
/// (this crate's profile) the panic becomes a `RuntimeError`.
unsafe extern "C" fn panics(_module: *mut PyObject, coro: *mut PyObject) -> *mut PyObject {
    let attached = Attached::assume();
    let result = (|| {
        let coro = Object::from_borrowed_ptr(attached, coro).expect("METH_O passes one");
        let aw = Awaitable::new(attached)?;
        aw.await_(&coro, |_, _| panic!("callback panicked on purpose"))?;
        Ok(aw.into_object())
    })();
    into_ptr(attached, result)
}

/// `METH_FASTCALL | METH_ASYNC`: four pointers in, one out.  pyo3-ffi has
/// no variant of that shape, so the pointer is stored as the untyped one.
const fn async_fast(
    f: unsafe extern "C" fn(
        *mut PyObject,
        *mut PyObject,
        *const *mut PyObject,
        Py_ssize_t,
    ) -> *mut PyObject,
) -> PyMethodDefPointer {
    // SAFETY: CPython (and the runtime) call it with the signature its
    // flags select; only the stored pointer's type differs.
    unsafe { std::mem::transmute(f) }
}

static mut METHODS: [PyMethodDef; 6] = [
    PyMethodDef {
        ml_name: c"scaled".as_ptr(),
        ml_meth: PyMethodDefPointer {
            PyCFunctionFast: scaled,
        },
        ml_flags: METH_FASTCALL,
        ml_doc: c"scaled($module, coro, factor, /)\n--\n\nAwait coro and return its value times factor.".as_ptr(),
    },
    PyMethodDef {
        ml_name: c"locked".as_ptr(),
        ml_meth: PyMethodDefPointer {
            PyCFunctionFast: locked,
        },
        ml_flags: METH_FASTCALL,
        ml_doc: c"locked($module, lock, coro, /)\n--\n\nasync with lock: return await coro.".as_ptr(),
    },
    PyMethodDef {
        ml_name: c"add_all".as_ptr(),
        ml_meth: async_fast(add_all),
        ml_flags: METH_FASTCALL | METH_ASYNC,
        ml_doc: c"add_all($module, /, *awaitables)\n--\n\nAwait each argument in turn and return the sum.".as_ptr(),
    },
    PyMethodDef {
        ml_name: c"passthrough".as_ptr(),
        ml_meth: PyMethodDefPointer {
            PyCFunction: passthrough,
        },
        ml_flags: METH_O,
        ml_doc: c"passthrough($module, coro, /)\n--\n\nReturn await coro.".as_ptr(),
    },
    PyMethodDef {
        ml_name: c"panics".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: panics },
        ml_flags: METH_O,
        ml_doc: c"panics($module, coro, /)\n--\n\nAwait coro, then panic in the callback.".as_ptr(),
    },
    PyMethodDef::zeroed(),
];

/// The exec slot: the runtime now (a missing one is an ImportError at
/// import, not at the first call), then the `METH_ASYNC` entries, which
/// stock CPython made into ordinary functions, replaced.
unsafe extern "C" fn exec(module: *mut PyObject) -> std::ffi::c_int {
    let attached = Attached::assume();
    let module = Object::from_borrowed_ptr(attached, module).expect("the module");
    let result = pyawaitable_backport::init(attached)
        .and_then(|()| add_functions(&module, ptr::addr_of_mut!(METHODS).cast()));
    match result {
        Ok(()) => 0,
        Err(err) => {
            err.restore(attached);
            -1
        }
    }
}

static mut SLOTS: [PyModuleDef_Slot; 3] = [
    PyModuleDef_Slot {
        slot: Py_mod_exec,
        value: exec as *mut c_void,
    },
    // The Rust API keeps per-thread state that is not per interpreter.
    #[cfg(Py_3_12)]
    PyModuleDef_Slot {
        slot: Py_mod_multiple_interpreters,
        value: Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED,
    },
    #[cfg(not(Py_3_12))]
    PyModuleDef_Slot {
        slot: 0,
        value: ptr::null_mut(),
    },
    PyModuleDef_Slot {
        slot: 0,
        value: ptr::null_mut(),
    },
];

static mut MODULE: PyModuleDef = PyModuleDef {
    m_base: PyModuleDef_HEAD_INIT,
    m_name: c"rust_ffi_example".as_ptr(),
    m_doc: c"Async functions on raw pyo3-ffi with the pyawaitable_backport Rust API.".as_ptr(),
    m_size: 0,
    m_methods: ptr::addr_of_mut!(METHODS).cast(),
    m_slots: ptr::addr_of_mut!(SLOTS).cast(),
    m_traverse: None,
    m_clear: None,
    m_free: None,
};

/// Multi-phase initialization: the interpreter creates the module from
/// `MODULE` and runs its slots.
///
/// # Safety
/// Called by the import system, attached.
#[no_mangle]
pub unsafe extern "C" fn PyInit_rust_ffi_example() -> *mut PyObject {
    PyModuleDef_Init(ptr::addr_of_mut!(MODULE))
}

//! The runtime module `pyawaitable_backport._runtime`: the types each
//! interpreter gets, and the capsule that publishes the function table.
//!
//! `PyAwaitable_New()` takes no arguments, so the entry points find the
//! current interpreter's types themselves.  They are kept in the
//! interpreter's state dict (which outlives every module of that
//! interpreter); the main interpreter's awaitable type is also cached in a
//! process global so the common case costs two calls and a load.

use crate::exceptions::raise;
use crate::method;
use crate::object;
use crate::table::TABLE;
use pyo3_ffi::*;
use std::ffi::{c_int, c_void, CStr};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

/// One of the types created per interpreter.
#[derive(Clone, Copy)]
pub enum Kind {
    Awaitable,
    Function,
    MethodDescriptor,
    ClassMethodDescriptor,
}

const KINDS: usize = 4;

impl Kind {
    /// Key in `PyInterpreterState_GetDict()`, and attribute of the module.
    fn names(self) -> (&'static CStr, &'static CStr) {
        match self {
            Kind::Awaitable => (c"pyawaitable_backport.awaitable_type", c"awaitable"),
            Kind::Function => (
                c"pyawaitable_backport.async_function_type",
                c"async_function",
            ),
            Kind::MethodDescriptor => (
                c"pyawaitable_backport.async_method_descriptor_type",
                c"async_method_descriptor",
            ),
            Kind::ClassMethodDescriptor => (
                c"pyawaitable_backport.async_classmethod_descriptor_type",
                c"async_classmethod_descriptor",
            ),
        }
    }

    unsafe fn spec(self) -> *mut PyType_Spec {
        match self {
            Kind::Awaitable => ptr::addr_of_mut!(object::SPEC),
            Kind::Function => ptr::addr_of_mut!(method::function::SPEC),
            Kind::MethodDescriptor => ptr::addr_of_mut!(method::descriptor::METHOD_SPEC),
            Kind::ClassMethodDescriptor => {
                ptr::addr_of_mut!(method::descriptor::CLASSMETHOD_SPEC)
            }
        }
    }

    const ALL: [Kind; KINDS] = [
        Kind::Awaitable,
        Kind::Function,
        Kind::MethodDescriptor,
        Kind::ClassMethodDescriptor,
    ];
}

/// The capsule name comes from the header, so the two cannot disagree.
const CAPSULE_NAME: &[u8] = crate::bindings::_PyAwaitable_API_CAPSULE;

/// The main interpreter's awaitable type (borrowed: the interpreter dict
/// owns it).
static MAIN_TYPE: AtomicPtr<PyTypeObject> = AtomicPtr::new(ptr::null_mut());

/// The main interpreter, remembered with its type: one load instead of a
/// call on every `PyAwaitable_New()`.
static MAIN_INTERP: AtomicPtr<PyInterpreterState> = AtomicPtr::new(ptr::null_mut());

#[repr(C)]
struct ModuleState {
    types: [*mut PyObject; KINDS],
}

/// The main interpreter's type, or NULL before its runtime is imported and
/// after its module is cleared.
#[inline]
pub fn main_type() -> *mut PyTypeObject {
    MAIN_TYPE.load(Ordering::Acquire)
}

/// The current interpreter's awaitable type (borrowed), or NULL with
/// RuntimeError if the runtime was never imported in this interpreter.
pub unsafe fn awaitable_type() -> *mut PyTypeObject {
    if PyInterpreterState_Get() == MAIN_INTERP.load(Ordering::Relaxed) {
        let tp = MAIN_TYPE.load(Ordering::Acquire);
        if !tp.is_null() {
            return tp;
        }
    }
    get_type(Kind::Awaitable)
}

/// The current interpreter's type of `kind` (borrowed), or NULL with
/// RuntimeError if the runtime was never imported in this interpreter.
pub unsafe fn get_type(kind: Kind) -> *mut PyTypeObject {
    let dict = PyInterpreterState_GetDict(PyInterpreterState_Get());
    let tp = if dict.is_null() {
        ptr::null_mut()
    } else {
        PyDict_GetItemString(dict, kind.names().0.as_ptr())
    };
    if tp.is_null() {
        raise(
            PyExc_RuntimeError,
            c"the pyawaitable_backport runtime is not initialized in this interpreter; call PyAwaitable_Init() in module exec",
        );
    }
    tp.cast()
}

unsafe fn state(module: *mut PyObject) -> *mut ModuleState {
    PyModule_GetState(module).cast()
}

/// The interpreter's type of `kind`, created on first use (a new
/// reference).  One type per interpreter, however often the module is
/// re-imported.
unsafe fn ensure_type(dict: *mut PyObject, kind: Kind) -> *mut PyObject {
    let key = kind.names().0;
    let tp = PyDict_GetItemString(dict, key.as_ptr());
    if !tp.is_null() {
        Py_INCREF(tp);
        return tp;
    }
    let tp = PyType_FromSpec(kind.spec());
    if tp.is_null() {
        return tp;
    }
    if let Kind::Awaitable = kind {
        object::register_type(tp.cast());
    }
    if PyDict_SetItemString(dict, key.as_ptr(), tp) < 0 {
        Py_DECREF(tp);
        return ptr::null_mut();
    }
    tp
}

unsafe extern "C" fn exec(module: *mut PyObject) -> c_int {
    let interp = PyInterpreterState_Get();
    let dict = PyInterpreterState_GetDict(interp);
    if dict.is_null() {
        return raise(
            PyExc_RuntimeError,
            c"pyawaitable_backport: no interpreter state dict",
        );
    }
    for (i, kind) in Kind::ALL.into_iter().enumerate() {
        let tp = ensure_type(dict, kind);
        if tp.is_null() {
            return -1;
        }
        (*state(module)).types[i] = tp;
        if PyModule_AddObjectRef(module, kind.names().1.as_ptr(), tp) < 0 {
            return -1;
        }
    }
    if interp == PyInterpreterState_Main() {
        let tp = (*state(module)).types[Kind::Awaitable as usize];
        MAIN_INTERP.store(interp, Ordering::Relaxed);
        MAIN_TYPE.store(tp.cast(), Ordering::Release);
    }
    let capsule = PyCapsule_New(
        ptr::addr_of!(TABLE) as *mut c_void,
        CAPSULE_NAME.as_ptr().cast(),
        None,
    );
    if capsule.is_null() {
        return -1;
    }
    let rc = PyModule_AddObjectRef(module, c"_API".as_ptr(), capsule);
    Py_DECREF(capsule);
    rc
}

unsafe extern "C" fn traverse(module: *mut PyObject, visit: visitproc, arg: *mut c_void) -> c_int {
    let st = state(module);
    if st.is_null() {
        return 0;
    }
    for &tp in &(*st).types {
        if !tp.is_null() {
            let rc = visit(tp, arg);
            if rc != 0 {
                return rc;
            }
        }
    }
    0
}

unsafe extern "C" fn clear(module: *mut PyObject) -> c_int {
    let st = state(module);
    if st.is_null() {
        return 0;
    }
    let types = std::mem::replace(&mut (*st).types, [ptr::null_mut(); KINDS]);
    let awaitable = types[Kind::Awaitable as usize];
    if !awaitable.is_null() {
        // A later lookup goes through the interpreter dict, which is only
        // cleared when the interpreter itself is finalized.
        let was_main = MAIN_TYPE
            .compare_exchange(
                awaitable.cast(),
                ptr::null_mut(),
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok();
        if was_main {
            crate::freelist::drain();
        }
    }
    for tp in types {
        Py_XDECREF(tp);
    }
    0
}

unsafe extern "C" fn free(module: *mut c_void) {
    clear(module.cast());
}

static mut SLOTS: [PyModuleDef_Slot; 3] = [
    PyModuleDef_Slot {
        slot: Py_mod_exec,
        value: exec as *mut c_void,
    },
    #[cfg(Py_3_12)]
    PyModuleDef_Slot {
        slot: Py_mod_multiple_interpreters,
        value: Py_MOD_PER_INTERPRETER_GIL_SUPPORTED,
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
    m_name: c"pyawaitable_backport._runtime".as_ptr(),
    m_doc: c"Runtime of the PyAwaitable C API backport (see pyawaitable.h).".as_ptr(),
    m_size: std::mem::size_of::<ModuleState>() as Py_ssize_t,
    m_methods: ptr::null_mut(),
    m_slots: ptr::addr_of_mut!(SLOTS).cast(),
    m_traverse: Some(traverse),
    m_clear: Some(clear),
    m_free: Some(free),
};

/// Module init (multi-phase).
pub unsafe fn init() -> *mut PyObject {
    PyModuleDef_Init(ptr::addr_of_mut!(MODULE))
}

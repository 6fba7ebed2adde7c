//! The runtime module `pyawaitable_backport._runtime`: one awaitable type
//! per interpreter, and the capsule that publishes the function table.
//!
//! `PyAwaitable_New()` takes no arguments, so the entry points find the
//! current interpreter's type themselves.  The type is kept in the
//! interpreter's state dict (which outlives every module of that
//! interpreter); the main interpreter's type is also cached in a process
//! global so the common case costs two calls and a load.

use crate::exceptions::raise;
use crate::object;
use crate::table::TABLE;
use pyo3_ffi::*;
use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

/// Key of the type in `PyInterpreterState_GetDict()`.
const TYPE_KEY: &std::ffi::CStr = c"pyawaitable_backport.awaitable_type";
/// The capsule name comes from the header, so the two cannot disagree.
const CAPSULE_NAME: &[u8] = crate::bindings::_PyAwaitable_API_CAPSULE;

/// The main interpreter's type (borrowed: the interpreter dict owns it).
static MAIN_TYPE: AtomicPtr<PyTypeObject> = AtomicPtr::new(ptr::null_mut());

#[repr(C)]
struct ModuleState {
    awaitable_type: *mut PyObject,
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
    let interp = PyInterpreterState_Get();
    if interp == PyInterpreterState_Main() {
        let tp = MAIN_TYPE.load(Ordering::Acquire);
        if !tp.is_null() {
            return tp;
        }
    }
    let dict = PyInterpreterState_GetDict(interp);
    let tp = if dict.is_null() {
        ptr::null_mut()
    } else {
        PyDict_GetItemString(dict, TYPE_KEY.as_ptr())
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

unsafe extern "C" fn exec(module: *mut PyObject) -> c_int {
    let interp = PyInterpreterState_Get();
    let dict = PyInterpreterState_GetDict(interp);
    if dict.is_null() {
        return raise(
            PyExc_RuntimeError,
            c"pyawaitable_backport: no interpreter state dict",
        );
    }
    // One type per interpreter, however often the module is re-imported.
    let mut tp = PyDict_GetItemString(dict, TYPE_KEY.as_ptr());
    if tp.is_null() {
        tp = PyType_FromSpec(ptr::addr_of_mut!(object::SPEC));
        if tp.is_null() {
            return -1;
        }
        object::register_type(tp.cast());
        let rc = PyDict_SetItemString(dict, TYPE_KEY.as_ptr(), tp);
        Py_DECREF(tp);
        if rc < 0 {
            return -1;
        }
    }
    Py_INCREF(tp);
    (*state(module)).awaitable_type = tp;
    if interp == PyInterpreterState_Main() {
        MAIN_TYPE.store(tp.cast(), Ordering::Release);
    }
    if PyModule_AddObjectRef(module, c"awaitable".as_ptr(), tp) < 0 {
        return -1;
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
    if !st.is_null() && !(*st).awaitable_type.is_null() {
        return visit((*st).awaitable_type, arg);
    }
    0
}

unsafe extern "C" fn clear(module: *mut PyObject) -> c_int {
    let st = state(module);
    if !st.is_null() && !(*st).awaitable_type.is_null() {
        let tp = std::mem::replace(&mut (*st).awaitable_type, ptr::null_mut());
        // A later lookup goes through the interpreter dict, which is only
        // cleared when the interpreter itself is finalized.
        let was_main = MAIN_TYPE
            .compare_exchange(
                tp.cast(),
                ptr::null_mut(),
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok();
        if was_main {
            crate::freelist::drain();
        }
        Py_DECREF(tp);
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

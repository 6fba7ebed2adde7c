//! What the async function and descriptor types share in their slots.

use crate::refs::Owned;
use pyo3_ffi::*;
use std::ffi::{c_char, c_int, CStr};
use std::ptr;

pub fn ptr_or_null(o: &Option<Owned>) -> *mut PyObject {
    o.as_ref().map_or(ptr::null_mut(), Owned::as_ptr)
}

/// `tp_traverse` over the non-NULL `objects`.
pub unsafe fn visit_all<const N: usize>(
    objects: [*mut PyObject; N],
    visit: visitproc,
    arg: *mut std::ffi::c_void,
) -> c_int {
    for o in objects.into_iter().filter(|o| !o.is_null()) {
        let rc = visit(o, arg);
        if rc != 0 {
            return rc;
        }
    }
    0
}

/// `(getattr, (owner, name))`: a `__reduce__` value that pickles a method
/// by reference.
pub unsafe fn reduce_to_getattr(owner: *mut PyObject, name: *const c_char) -> *mut PyObject {
    let Some(builtins) = Owned::from_new(PyImport_ImportModule(c"builtins".as_ptr())) else {
        return ptr::null_mut();
    };
    Py_BuildValue(
        c"N(Os)".as_ptr(),
        PyObject_GetAttrString(builtins.as_ptr(), c"getattr".as_ptr()),
        owner,
        name,
    )
}

/// A read-only attribute.
pub const fn getter(name: &'static CStr, get: getter) -> PyGetSetDef {
    PyGetSetDef {
        name: name.as_ptr(),
        get: Some(get),
        set: None,
        doc: ptr::null(),
        closure: ptr::null_mut(),
    }
}

pub const GETSET_END: PyGetSetDef = PyGetSetDef {
    name: ptr::null(),
    get: None,
    set: None,
    doc: ptr::null(),
    closure: ptr::null_mut(),
};

/// The `__reduce__` method entry.
pub const fn reduce_method(reduce: PyCFunction) -> PyMethodDef {
    PyMethodDef {
        ml_name: c"__reduce__".as_ptr(),
        ml_meth: PyMethodDefPointer {
            PyCFunction: reduce,
        },
        ml_flags: METH_NOARGS,
        ml_doc: ptr::null(),
    }
}

/// A read-only `Py_ssize_t` member, for the special offsets.
pub const fn offset_member(name: &'static CStr, offset: usize) -> PyMemberDef {
    PyMemberDef {
        name: name.as_ptr(),
        type_code: Py_T_PYSSIZET,
        offset: offset as Py_ssize_t,
        flags: Py_READONLY,
        doc: ptr::null(),
    }
}

pub const MEMBERS_END: PyMemberDef = PyMemberDef {
    name: ptr::null(),
    type_code: 0,
    offset: 0,
    flags: 0,
    doc: ptr::null(),
};

/// A slot entry.
pub const fn slot(slot: c_int, pfunc: *mut std::ffi::c_void) -> PyType_Slot {
    PyType_Slot { slot, pfunc }
}

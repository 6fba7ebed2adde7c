//! `PyAwaitable_AddFunctions` and `PyAwaitable_AddMethods`: stock CPython
//! ignores the METH_ASYNC bit and would call such an entry with the wrong
//! signature, so these replace what it created for those entries (and add
//! the entries of any other array, as the interpreter would).

use super::call::{Convention, KNOWN, METH_ASYNC};
use super::descriptor;
use super::function::{self, Binding};
use crate::refs::Owned;
use crate::runtime::Kind;
use pyo3_ffi::*;
use std::ffi::{c_int, CStr};
use std::ptr;

/// Where the entries go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Module,
    Type,
}

/// The entries of a NULL-terminated array.
unsafe fn entries(defs: *mut PyMethodDef) -> impl Iterator<Item = *mut PyMethodDef> {
    (0..)
        .map(move |i| defs.add(i))
        .take_while(|&def| !(*def).ml_name.is_null())
}

fn is_async(def: &PyMethodDef) -> bool {
    def.ml_flags & METH_ASYNC != 0
}

/// The convention of an async entry, or None with SystemError naming the
/// function and the entry.
unsafe fn check(func: &CStr, def: *mut PyMethodDef, target: Target) -> Option<Convention> {
    let flags = (*def).ml_flags;
    let problem = if flags & !KNOWN != 0 {
        c"has unknown flag bits"
    } else if (*def).ml_meth.PyCFunction as usize == 0 {
        c"has no C function"
    } else if target == Target::Module && flags & (METH_CLASS | METH_STATIC) != 0 {
        c"is a module function and cannot be METH_CLASS or METH_STATIC"
    } else if target == Target::Module && flags & METH_METHOD != 0 {
        c"is a module function and cannot be METH_METHOD (it has no defining class)"
    } else if flags & METH_CLASS != 0 && flags & METH_STATIC != 0 {
        c"cannot be both METH_CLASS and METH_STATIC"
    } else if flags & METH_STATIC != 0 && flags & METH_METHOD != 0 {
        c"cannot be both METH_STATIC and METH_METHOD (it has no defining class)"
    } else if let Some(conv) = Convention::of(flags) {
        return Some(conv);
    } else {
        c"has an invalid combination of calling-convention flags"
    };
    PyErr_Format(
        PyExc_SystemError,
        c"%s: entry '%s' (ml_flags 0x%x) %s".as_ptr(),
        func.as_ptr(),
        (*def).ml_name,
        flags,
        problem.as_ptr(),
    );
    None
}

/// Checks every async entry before anything is changed.
unsafe fn check_all(func: &CStr, defs: *mut PyMethodDef, target: Target) -> bool {
    entries(defs)
        .filter(|&def| is_async(&*def))
        .all(|def| check(func, def, target).is_some())
}

pub unsafe fn add_functions(func: &CStr, module: *mut PyObject, defs: *mut PyMethodDef) -> c_int {
    if PyModule_Check(module) == 0 {
        PyErr_Format(
            PyExc_TypeError,
            c"%s: expected a module, got %s".as_ptr(),
            func.as_ptr(),
            crate::exceptions::type_name(module),
        );
        return -1;
    }
    if !check_all(func, defs, Target::Module) {
        return -1;
    }
    let module_def = PyModule_GetDef(module);
    if module_def.is_null() {
        PyErr_Clear(); // a module made without a PyModuleDef
    }
    // The interpreter already added the ordinary entries of m_methods.
    let from_def = !module_def.is_null() && (*module_def).m_methods == defs;
    let Some(name) = Owned::from_new(PyModule_GetNameObject(module)) else {
        return -1;
    };
    for def in entries(defs) {
        let obj = if is_async(&*def) {
            let Some(conv) = check(func, def, Target::Module) else {
                return -1;
            };
            function::new(
                def,
                conv,
                Binding {
                    slf: module,
                    module: name.as_ptr(),
                    class: ptr::null_mut(),
                },
            )
        } else if from_def {
            continue;
        } else if (*def).ml_flags & (METH_CLASS | METH_STATIC) != 0 {
            PyErr_Format(
                PyExc_ValueError,
                c"%s: module functions cannot set METH_CLASS or METH_STATIC ('%s')".as_ptr(),
                func.as_ptr(),
                (*def).ml_name,
            );
            return -1;
        } else {
            PyCMethod_New(def, module, name.as_ptr(), ptr::null_mut())
        };
        let Some(obj) = Owned::from_new(obj) else {
            return -1;
        };
        if PyObject_SetAttrString(module, (*def).ml_name, obj.as_ptr()) < 0 {
            return -1;
        }
    }
    0
}

/// True if `existing` is what `PyType_Ready()` made for `def`: a method or
/// class method descriptor, or a static method wrapping a builtin.
unsafe fn made_by_interpreter(existing: *mut PyObject, def: *mut PyMethodDef) -> bool {
    let tp = Py_TYPE(existing);
    if tp == ptr::addr_of_mut!(PyMethodDescr_Type)
        || tp == ptr::addr_of_mut!(PyClassMethodDescr_Type)
    {
        return (*existing.cast::<PyMethodDescrObject>()).d_method == def;
    }
    if tp == ptr::addr_of_mut!(PyStaticMethod_Type) {
        let Some(func) = Owned::from_new(PyObject_GetAttrString(existing, c"__func__".as_ptr()))
        else {
            PyErr_Clear();
            return false;
        };
        return PyCFunction_Check(func.as_ptr()) != 0
            && (*func.as_ptr().cast::<PyCFunctionObject>()).m_ml == def;
    }
    false
}

/// What `PyType_Ready()` would put in the dict for `def` (async or not).
unsafe fn make(
    tp: *mut PyTypeObject,
    def: *mut PyMethodDef,
    conv: Option<Convention>,
) -> *mut PyObject {
    let flags = (*def).ml_flags;
    if flags & METH_STATIC != 0 {
        let func = match conv {
            Some(conv) => function::new(
                def,
                conv,
                Binding {
                    slf: tp.cast(),
                    module: ptr::null_mut(),
                    class: ptr::null_mut(),
                },
            ),
            None => PyCFunction_NewEx(def, tp.cast(), ptr::null_mut()),
        };
        let Some(func) = Owned::from_new(func) else {
            return ptr::null_mut();
        };
        return PyStaticMethod_New(func.as_ptr());
    }
    match (conv, flags & METH_CLASS != 0) {
        (Some(conv), true) => descriptor::new(Kind::ClassMethodDescriptor, tp, def, conv),
        (Some(conv), false) => descriptor::new(Kind::MethodDescriptor, tp, def, conv),
        (None, true) => PyDescr_NewClassMethod(tp, def),
        (None, false) => PyDescr_NewMethod(tp, def),
    }
}

pub unsafe fn add_methods(func: &CStr, tp: *mut PyTypeObject, defs: *mut PyMethodDef) -> c_int {
    if PyType_Check(tp.cast()) == 0 {
        PyErr_Format(
            PyExc_TypeError,
            c"%s: expected a type, got %s".as_ptr(),
            func.as_ptr(),
            crate::exceptions::type_name(tp.cast()),
        );
        return -1;
    }
    if (*tp).tp_flags & Py_TPFLAGS_READY == 0 || (*tp).tp_dict.is_null() {
        PyErr_Format(
            PyExc_SystemError,
            c"%s: type '%s' is not ready; call it after PyType_Ready() or PyType_FromSpec()"
                .as_ptr(),
            func.as_ptr(),
            (*tp).tp_name,
        );
        return -1;
    }
    if !check_all(func, defs, Target::Type) {
        return -1;
    }
    let dict = (*tp).tp_dict;
    // PyType_Ready() already added the entries of tp_methods.
    let from_type = (*tp).tp_methods == defs;
    for def in entries(defs) {
        let conv = if is_async(&*def) {
            check(func, def, Target::Type)
        } else {
            None
        };
        if from_type && conv.is_none() {
            continue;
        }
        let existing = PyDict_GetItemString(dict, (*def).ml_name);
        let keep = if from_type {
            // The interpreter's descriptor is replaced; an attribute that
            // won over the entry (no METH_COEXIST) stays.
            existing.is_null() || !made_by_interpreter(existing, def)
        } else {
            !existing.is_null() && (*def).ml_flags & METH_COEXIST == 0
        };
        if keep {
            continue;
        }
        let Some(descr) = Owned::from_new(make(tp, def, conv)) else {
            return -1;
        };
        if PyDict_SetItemString(dict, (*def).ml_name, descr.as_ptr()) < 0 {
            return -1;
        }
    }
    PyType_Modified(tp);
    0
}

//! The async method descriptors: what a METH_ASYNC entry of a type is in
//! the type's dict, like `method_descriptor` and `classmethod_descriptor`.
//! Getting one from an instance (or, for class methods, from the class)
//! binds it into an async function; calling it unbound takes the instance
//! or class as the first argument.  The instance-method type sets
//! `Py_TPFLAGS_METHOD_DESCRIPTOR`, so `obj.method(...)` calls it without
//! creating a bound function first.

use super::call::{self, call_error, Convention, Entry};
use super::function::{self, Binding};
use super::slots::{
    getter, offset_member, ptr_or_null, reduce_method, reduce_to_getattr, slot, visit_all,
    GETSET_END, MEMBERS_END,
};
use super::{doc, marker};
use crate::exceptions::type_name;
use crate::refs::Owned;
use crate::runtime::{self, Kind};
use pyo3_ffi::*;
use std::ffi::{c_int, c_void};
use std::ptr;

#[repr(C)]
pub struct Descriptor {
    ob_base: PyObject,
    vectorcall: Option<vectorcallfunc>,
    def: *mut PyMethodDef,
    conv: Convention,
    /// A METH_CLASS entry: binds to the class.
    class_method: bool,
    /// The class whose dict holds the descriptor (`__objclass__`).
    objclass: Option<Owned>,
    awaitable_type: Option<Owned>,
}

/// A new descriptor of `kind` (an instance or class method descriptor) for
/// `def` (validated) on `objclass`, in the current interpreter.
pub unsafe fn new(
    kind: Kind,
    objclass: *mut PyTypeObject,
    def: *mut PyMethodDef,
    conv: Convention,
) -> *mut PyObject {
    let tp = runtime::get_type(kind);
    let awaitable_type = runtime::awaitable_type();
    if tp.is_null() || awaitable_type.is_null() {
        return ptr::null_mut();
    }
    let obj = PyType_GenericAlloc(tp, 0);
    if obj.is_null() {
        return obj;
    }
    let this = cast(obj);
    ptr::addr_of_mut!((*this).vectorcall).write(Some(vectorcall));
    ptr::addr_of_mut!((*this).class_method).write(matches!(kind, Kind::ClassMethodDescriptor));
    ptr::addr_of_mut!((*this).def).write(def);
    ptr::addr_of_mut!((*this).conv).write(conv);
    ptr::addr_of_mut!((*this).objclass).write(Some(Owned::from_borrowed(objclass.cast())));
    ptr::addr_of_mut!((*this).awaitable_type)
        .write(Some(Owned::from_borrowed(awaitable_type.cast())));
    obj
}

unsafe fn cast(obj: *mut PyObject) -> *mut Descriptor {
    obj.cast()
}

unsafe fn objclass(this: *mut Descriptor) -> *mut PyTypeObject {
    ptr_or_null(&(*this).objclass).cast()
}

/// The entry called with `slf` as its first C argument.
unsafe fn entry(this: *mut Descriptor, slf: *mut PyObject) -> Entry {
    Entry {
        def: (*this).def,
        conv: (*this).conv,
        slf,
        class: objclass(this),
        awaitable_type: ptr_or_null(&(*this).awaitable_type).cast(),
    }
}

unsafe fn name(this: *mut Descriptor) -> *const std::ffi::c_char {
    (*(*this).def).ml_name
}

/// TypeError unless `obj` is an instance of the descriptor's class.
unsafe fn check_instance(this: *mut Descriptor, obj: *mut PyObject) -> bool {
    if PyObject_TypeCheck(obj, objclass(this)) != 0 {
        return true;
    }
    PyErr_Format(
        PyExc_TypeError,
        c"descriptor '%s' for '%s' objects doesn't apply to a '%s' object".as_ptr(),
        name(this),
        (*objclass(this)).tp_name,
        type_name(obj),
    );
    false
}

/// TypeError unless `tp` is the descriptor's class or a subclass, worded
/// as CPython's `classmethod_descriptor` words it (`classmethod_get`).
unsafe fn check_class(this: *mut Descriptor, tp: *mut PyObject) -> bool {
    if PyType_Check(tp) == 0 {
        PyErr_Format(
            PyExc_TypeError,
            c"descriptor '%s' for type '%.100s' needs a type, not a '%.100s' as arg 2".as_ptr(),
            name(this),
            (*objclass(this)).tp_name,
            type_name(tp),
        );
        return false;
    }
    if PyType_IsSubtype(tp.cast(), objclass(this)) == 0 {
        PyErr_Format(
            PyExc_TypeError,
            c"descriptor '%s' requires a subtype of '%.100s' but received '%.100s'".as_ptr(),
            name(this),
            (*objclass(this)).tp_name,
            (*tp.cast::<PyTypeObject>()).tp_name,
        );
        return false;
    }
    true
}

/// An unbound call: `Type.method(obj, ...)` (and `obj.method(...)`
/// through the method-descriptor fast path), or
/// `Type.__dict__['classmethod'](cls, ...)`.
unsafe extern "C" fn vectorcall(
    callable: *mut PyObject,
    args: *const *mut PyObject,
    nargsf: usize,
    kwnames: *mut PyObject,
) -> *mut PyObject {
    let this = cast(callable);
    let nargs = PyVectorcall_NARGS(nargsf);
    if nargs < 1 && (*this).class_method {
        // As `classmethoddescr_call`.
        PyErr_Format(
            PyExc_TypeError,
            c"descriptor '%s' of '%.100s' object needs an argument".as_ptr(),
            name(this),
            (*objclass(this)).tp_name,
        );
        return ptr::null_mut();
    }
    if nargs < 1 {
        return call_error(
            PyExc_TypeError,
            callable,
            c"unbound method %U needs an argument",
            0,
        );
    }
    let applies = if (*this).class_method {
        check_class(this, *args)
    } else {
        check_instance(this, *args)
    };
    if !applies {
        return ptr::null_mut();
    }
    call::invoke(
        callable,
        &entry(this, *args),
        args.add(1),
        nargs - 1,
        kwnames,
    )
}

/// An async function for the descriptor's entry bound to `slf`.
unsafe fn bind(this: *mut Descriptor, slf: *mut PyObject) -> *mut PyObject {
    function::new(
        (*this).def,
        (*this).conv,
        Binding {
            slf,
            module: ptr::null_mut(),
            class: objclass(this),
        },
    )
}

unsafe extern "C" fn method_get(
    descr: *mut PyObject,
    obj: *mut PyObject,
    _tp: *mut PyObject,
) -> *mut PyObject {
    let this = cast(descr);
    if obj.is_null() || obj == Py_None() {
        return Owned::from_borrowed(descr).into_ptr();
    }
    if !check_instance(this, obj) {
        return ptr::null_mut();
    }
    bind(this, obj)
}

unsafe extern "C" fn classmethod_get(
    descr: *mut PyObject,
    obj: *mut PyObject,
    tp: *mut PyObject,
) -> *mut PyObject {
    let this = cast(descr);
    // As `classmethod_get`: only a missing type (NULL; `__get__` passes
    // None as NULL) falls back on the object's.
    let tp = match (tp.is_null(), obj.is_null()) {
        (false, _) => tp,
        (true, false) => Py_TYPE(obj).cast(),
        (true, true) => {
            PyErr_Format(
                PyExc_TypeError,
                c"descriptor '%s' for type '%.100s' needs either an object or a type".as_ptr(),
                name(this),
                (*objclass(this)).tp_name,
            );
            return ptr::null_mut();
        }
    };
    if !check_class(this, tp) {
        return ptr::null_mut();
    }
    bind(this, tp)
}

unsafe extern "C" fn get_name(obj: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    PyUnicode_FromString(name(cast(obj)))
}

unsafe extern "C" fn get_qualname(obj: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    let this = cast(obj);
    let Some(qualname) = Owned::from_new(PyObject_GetAttrString(
        objclass(this).cast(),
        c"__qualname__".as_ptr(),
    )) else {
        return ptr::null_mut();
    };
    PyUnicode_FromFormat(c"%U.%s".as_ptr(), qualname.as_ptr(), name(this))
}

unsafe extern "C" fn get_doc(obj: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    doc::doc((*cast(obj)).def)
}

unsafe extern "C" fn get_text_signature(obj: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    doc::text_signature((*cast(obj)).def)
}

unsafe extern "C" fn get_objclass(obj: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    Owned::from_borrowed(objclass(cast(obj)).cast()).into_ptr()
}

/// None, as for bound methods: errors name `Type.method()`.
unsafe extern "C" fn get_module(_: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    Owned::none().into_ptr()
}

/// Pickled as `getattr(objclass, name)`, like method descriptors.
unsafe extern "C" fn reduce(obj: *mut PyObject, _: *mut PyObject) -> *mut PyObject {
    let this = cast(obj);
    reduce_to_getattr(objclass(this).cast(), name(this))
}

unsafe extern "C" fn repr(obj: *mut PyObject) -> *mut PyObject {
    let this = cast(obj);
    let format = if (*this).class_method {
        c"<async classmethod '%s' of '%s' objects>"
    } else {
        c"<async method '%s' of '%s' objects>"
    };
    PyUnicode_FromFormat(format.as_ptr(), name(this), (*objclass(this)).tp_name)
}

unsafe extern "C" fn traverse(obj: *mut PyObject, visit: visitproc, arg: *mut c_void) -> c_int {
    let this = cast(obj);
    let objects = [
        Py_TYPE(obj).cast(),
        ptr_or_null(&(*this).objclass),
        ptr_or_null(&(*this).awaitable_type),
    ];
    visit_all(objects, visit, arg)
}

unsafe extern "C" fn clear(obj: *mut PyObject) -> c_int {
    let this = cast(obj);
    let objclass = (*this).objclass.take();
    let awaitable_type = (*this).awaitable_type.take();
    drop((objclass, awaitable_type));
    0
}

unsafe extern "C" fn dealloc(obj: *mut PyObject) {
    let tp = Py_TYPE(obj);
    PyObject_GC_UnTrack(obj.cast());
    clear(obj);
    let free = (*tp).tp_free.expect("heap types have tp_free");
    free(obj.cast());
    Py_DECREF(tp.cast());
}

// ---------------------------------------------------------------------------
// Type specs
// ---------------------------------------------------------------------------

static mut METHODS: [PyMethodDef; 2] = [reduce_method(reduce), PyMethodDef::zeroed()];

static mut MEMBERS: [PyMemberDef; 2] = [
    offset_member(
        c"__vectorcalloffset__",
        std::mem::offset_of!(Descriptor, vectorcall),
    ),
    MEMBERS_END,
];

static mut GETSET: [PyGetSetDef; 7] = [
    getter(c"__name__", get_name),
    getter(c"__qualname__", get_qualname),
    getter(c"__doc__", get_doc),
    getter(c"__text_signature__", get_text_signature),
    getter(c"__objclass__", get_objclass),
    getter(c"__module__", get_module),
    GETSET_END,
];

/// The two descriptor types differ only in how they bind (and in the
/// method-descriptor flag).
macro_rules! slots {
    ($get:expr) => {
        [
            slot(Py_tp_dealloc, dealloc as *mut c_void),
            slot(Py_tp_traverse, traverse as *mut c_void),
            slot(Py_tp_clear, clear as *mut c_void),
            slot(Py_tp_call, PyVectorcall_Call as *mut c_void),
            slot(Py_tp_descr_get, $get as *mut c_void),
            slot(Py_tp_repr, repr as *mut c_void),
            slot(Py_tp_getattro, marker::getattro as *mut c_void),
            slot(Py_tp_methods, ptr::addr_of_mut!(METHODS).cast()),
            slot(Py_tp_members, ptr::addr_of_mut!(MEMBERS).cast()),
            slot(Py_tp_getset, ptr::addr_of_mut!(GETSET).cast()),
            slot(0, ptr::null_mut()),
        ]
    };
}

static mut METHOD_SLOTS: [PyType_Slot; 11] = slots!(method_get);

static mut CLASSMETHOD_SLOTS: [PyType_Slot; 11] = slots!(classmethod_get);

const FLAGS: u64 = Py_TPFLAGS_DEFAULT
    | Py_TPFLAGS_HAVE_GC
    | Py_TPFLAGS_IMMUTABLETYPE
    | Py_TPFLAGS_DISALLOW_INSTANTIATION
    | Py_TPFLAGS_HAVE_VECTORCALL;

pub static mut METHOD_SPEC: PyType_Spec = PyType_Spec {
    name: c"pyawaitable_backport.async_method_descriptor".as_ptr(),
    basicsize: std::mem::size_of::<Descriptor>() as c_int,
    itemsize: 0,
    flags: (FLAGS | Py_TPFLAGS_METHOD_DESCRIPTOR) as _,
    slots: ptr::addr_of_mut!(METHOD_SLOTS).cast(),
};

pub static mut CLASSMETHOD_SPEC: PyType_Spec = PyType_Spec {
    name: c"pyawaitable_backport.async_classmethod_descriptor".as_ptr(),
    basicsize: std::mem::size_of::<Descriptor>() as c_int,
    itemsize: 0,
    flags: FLAGS as _,
    slots: ptr::addr_of_mut!(CLASSMETHOD_SLOTS).cast(),
};

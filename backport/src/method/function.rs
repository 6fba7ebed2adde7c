//! The async builtin function: what a METH_ASYNC module function, bound
//! method, class method or static method is.  It behaves like
//! `builtin_function_or_method`: `__self__`, `__module__`, `__qualname__`,
//! `__text_signature__`, pickling by reference, vectorcall; and calling it
//! returns an awaitable.

use super::call::{self, Convention, Entry};
use super::slots::{
    getter, offset_member, ptr_or_null, reduce_method, reduce_to_getattr, slot, visit_all,
    GETSET_END, MEMBERS_END,
};
use super::{doc, marker};
use crate::exceptions::type_name;
use crate::refs::Owned;
use crate::runtime::{self, Kind};
use pyo3_ffi::*;
use std::ffi::{c_int, c_long, c_void};
use std::ptr;

#[repr(C)]
pub struct Function {
    ob_base: PyObject,
    vectorcall: Option<vectorcallfunc>,
    def: *mut PyMethodDef,
    conv: Convention,
    /// Module, instance or class the function is bound to.
    slf: Option<Owned>,
    /// `__module__`: the module's name for module functions.
    module: *mut PyObject,
    /// The defining class of a method (for `METH_METHOD`).
    class: Option<Owned>,
    awaitable_type: Owned,
    weakreflist: *mut PyObject,
}

/// What a new function is bound to (all borrowed).
pub struct Binding {
    pub slf: *mut PyObject,
    pub module: *mut PyObject,
    pub class: *mut PyTypeObject,
}

/// A new async function for `def` (validated), in the current interpreter.
pub unsafe fn new(def: *mut PyMethodDef, conv: Convention, b: Binding) -> *mut PyObject {
    let tp = runtime::get_type(Kind::Function);
    let awaitable_type = runtime::awaitable_type();
    if tp.is_null() || awaitable_type.is_null() {
        return ptr::null_mut();
    }
    let obj = PyType_GenericAlloc(tp, 0);
    if obj.is_null() {
        return obj;
    }
    let this = obj.cast::<Function>();
    let borrowed = |p: *mut PyObject| (!p.is_null()).then(|| Owned::from_borrowed(p));
    ptr::addr_of_mut!((*this).vectorcall).write(Some(vectorcall));
    ptr::addr_of_mut!((*this).def).write(def);
    ptr::addr_of_mut!((*this).conv).write(conv);
    ptr::addr_of_mut!((*this).slf).write(borrowed(b.slf));
    Py_XINCREF(b.module);
    ptr::addr_of_mut!((*this).module).write(b.module);
    ptr::addr_of_mut!((*this).class).write(borrowed(b.class.cast()));
    ptr::addr_of_mut!((*this).awaitable_type).write(Owned::from_borrowed(awaitable_type.cast()));
    obj
}

unsafe fn cast(obj: *mut PyObject) -> *mut Function {
    obj.cast()
}

unsafe extern "C" fn vectorcall(
    callable: *mut PyObject,
    args: *const *mut PyObject,
    nargsf: usize,
    kwnames: *mut PyObject,
) -> *mut PyObject {
    let this = cast(callable);
    let entry = Entry {
        def: (*this).def,
        conv: (*this).conv,
        slf: ptr_or_null(&(*this).slf),
        class: ptr_or_null(&(*this).class).cast(),
        awaitable_type: (*this).awaitable_type.as_ptr().cast(),
    };
    call::invoke(callable, &entry, args, PyVectorcall_NARGS(nargsf), kwnames)
}

/// True for a module function (bound to a module, or to nothing).
unsafe fn is_module_function(this: *mut Function) -> bool {
    match &(*this).slf {
        None => true,
        Some(s) => PyModule_Check(s.as_ptr()) != 0,
    }
}

unsafe fn name(this: *mut Function) -> *mut PyObject {
    PyUnicode_FromString((*(*this).def).ml_name)
}

unsafe extern "C" fn get_name(obj: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    name(cast(obj))
}

unsafe extern "C" fn get_qualname(obj: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    let this = cast(obj);
    if is_module_function(this) {
        return name(this);
    }
    let slf = ptr_or_null(&(*this).slf);
    // Bound to a class (class and static methods) or to an instance.
    let owner = if PyType_Check(slf) != 0 {
        slf
    } else {
        Py_TYPE(slf).cast()
    };
    let Some(qualname) = Owned::from_new(PyObject_GetAttrString(owner, c"__qualname__".as_ptr()))
    else {
        return ptr::null_mut();
    };
    PyUnicode_FromFormat(c"%U.%s".as_ptr(), qualname.as_ptr(), (*(*this).def).ml_name)
}

unsafe extern "C" fn get_module(obj: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    let module = (*cast(obj)).module;
    let module = if module.is_null() { Py_None() } else { module };
    Owned::from_borrowed(module).into_ptr()
}

unsafe extern "C" fn set_module(obj: *mut PyObject, value: *mut PyObject, _: *mut c_void) -> c_int {
    let this = cast(obj);
    Py_XINCREF(value);
    let old = std::mem::replace(&mut (*this).module, value);
    Py_XDECREF(old);
    0
}

unsafe extern "C" fn get_doc(obj: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    doc::doc((*cast(obj)).def)
}

unsafe extern "C" fn get_text_signature(obj: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    doc::text_signature((*cast(obj)).def)
}

unsafe extern "C" fn get_self(obj: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    match &(*cast(obj)).slf {
        Some(s) => s.clone().into_ptr(),
        None => Owned::none().into_ptr(),
    }
}

/// `__signature__`: inspect only reads `__text_signature__` of the builtin
/// types it knows, so the signature is made here, with public inspect API:
/// the signature of an unbound descriptor for the same entry, without the
/// bound first parameter.  None (inspect's "no signature") without a text
/// signature.
unsafe extern "C" fn get_signature(obj: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    let this = cast(obj);
    let def = (*this).def;
    if !doc::has_text_signature(def) {
        return Owned::none().into_ptr();
    }
    signature(this).map_or(ptr::null_mut(), Owned::into_ptr)
}

unsafe fn signature(this: *mut Function) -> Option<Owned> {
    let unbound = Owned::from_new(super::descriptor::new(
        Kind::MethodDescriptor,
        Py_TYPE(this.cast()),
        (*this).def,
        (*this).conv,
    ))?;
    let inspect = Owned::from_new(PyImport_ImportModule(c"inspect".as_ptr()))?;
    let sig = Owned::from_new(PyObject_CallMethod(
        inspect.as_ptr(),
        c"signature".as_ptr(),
        c"O".as_ptr(),
        unbound.as_ptr(),
    ))?;
    if !doc::has_bound_parameter((*this).def) {
        return Some(sig);
    }
    let params = Owned::from_new(PyObject_GetAttrString(sig.as_ptr(), c"parameters".as_ptr()))?;
    let values = Owned::from_new(PyObject_CallMethod(
        params.as_ptr(),
        c"values".as_ptr(),
        ptr::null(),
    ))?;
    let list = Owned::from_new(PySequence_List(values.as_ptr()))?;
    let rest = Owned::from_new(PyList_GetSlice(
        list.as_ptr(),
        1,
        PyList_GET_SIZE(list.as_ptr()),
    ))?;
    let replace = Owned::from_new(PyObject_GetAttrString(sig.as_ptr(), c"replace".as_ptr()))?;
    let args = Owned::from_new(PyTuple_New(0))?;
    let kwargs = Owned::from_new(PyDict_New())?;
    if PyDict_SetItemString(kwargs.as_ptr(), c"parameters".as_ptr(), rest.as_ptr()) < 0 {
        return None;
    }
    Owned::from_new(PyObject_Call(
        replace.as_ptr(),
        args.as_ptr(),
        kwargs.as_ptr(),
    ))
}

/// Module functions pickle by name; methods as `getattr(self, name)`.
unsafe extern "C" fn reduce(obj: *mut PyObject, _: *mut PyObject) -> *mut PyObject {
    let this = cast(obj);
    if is_module_function(this) {
        return name(this);
    }
    reduce_to_getattr(ptr_or_null(&(*this).slf), (*(*this).def).ml_name)
}

/// The C function, as an address.
unsafe fn address(def: *const PyMethodDef) -> usize {
    (*def).ml_meth.PyCFunction as usize
}

unsafe extern "C" fn repr(obj: *mut PyObject) -> *mut PyObject {
    let this = cast(obj);
    let name = (*(*this).def).ml_name;
    if is_module_function(this) {
        return PyUnicode_FromFormat(c"<built-in async function %s>".as_ptr(), name);
    }
    let slf = ptr_or_null(&(*this).slf);
    PyUnicode_FromFormat(
        c"<built-in async method %s of %s object at %p>".as_ptr(),
        name,
        type_name(slf),
        slf,
    )
}

/// Equal when bound to the same object and calling the same C function,
/// as for builtin methods (`obj.m == obj.m`).
unsafe extern "C" fn richcompare(a: *mut PyObject, b: *mut PyObject, op: c_int) -> *mut PyObject {
    if (op != Py_EQ && op != Py_NE) || Py_TYPE(a) != Py_TYPE(b) {
        return Owned::from_borrowed(Py_NotImplemented()).into_ptr();
    }
    let (a, b) = (cast(a), cast(b));
    let same =
        ptr_or_null(&(*a).slf) == ptr_or_null(&(*b).slf) && address((*a).def) == address((*b).def);
    PyBool_FromLong(c_long::from(same == (op == Py_EQ)))
}

unsafe extern "C" fn hash(obj: *mut PyObject) -> Py_hash_t {
    let this = cast(obj);
    let slf = match &(*this).slf {
        Some(s) => s.as_ptr(),
        None => Py_None(),
    };
    let h = PyObject_Hash(slf);
    if h == -1 {
        return -1;
    }
    // Pointers are aligned: drop the low bits that never vary.
    let x = h ^ address((*this).def).rotate_right(4) as Py_hash_t;
    if x == -1 {
        -2
    } else {
        x
    }
}

unsafe extern "C" fn traverse(obj: *mut PyObject, visit: visitproc, arg: *mut c_void) -> c_int {
    let this = cast(obj);
    let objects = [
        Py_TYPE(obj).cast(),
        ptr_or_null(&(*this).slf),
        (*this).module,
        ptr_or_null(&(*this).class),
        (*this).awaitable_type.as_ptr(),
    ];
    visit_all(objects, visit, arg)
}

unsafe extern "C" fn clear(obj: *mut PyObject) -> c_int {
    let this = cast(obj);
    let slf = (*this).slf.take();
    let module = std::mem::replace(&mut (*this).module, ptr::null_mut());
    let class = (*this).class.take();
    drop((slf, class));
    Py_XDECREF(module);
    0
}

unsafe extern "C" fn dealloc(obj: *mut PyObject) {
    let tp = Py_TYPE(obj);
    let this = cast(obj);
    PyObject_GC_UnTrack(obj.cast());
    if !(*this).weakreflist.is_null() {
        PyObject_ClearWeakRefs(obj);
    }
    ptr::drop_in_place(ptr::addr_of_mut!((*this).slf));
    Py_XDECREF((*this).module);
    ptr::drop_in_place(ptr::addr_of_mut!((*this).class));
    ptr::drop_in_place(ptr::addr_of_mut!((*this).awaitable_type));
    let free = (*tp).tp_free.expect("heap types have tp_free");
    free(obj.cast());
    Py_DECREF(tp.cast());
}

// ---------------------------------------------------------------------------
// Type spec
// ---------------------------------------------------------------------------

static mut METHODS: [PyMethodDef; 2] = [reduce_method(reduce), PyMethodDef::zeroed()];

static mut MEMBERS: [PyMemberDef; 3] = [
    offset_member(
        c"__vectorcalloffset__",
        std::mem::offset_of!(Function, vectorcall),
    ),
    offset_member(
        c"__weaklistoffset__",
        std::mem::offset_of!(Function, weakreflist),
    ),
    MEMBERS_END,
];

static mut GETSET: [PyGetSetDef; 8] = [
    getter(c"__name__", get_name),
    // Writable, as for builtin functions.
    PyGetSetDef {
        name: c"__module__".as_ptr(),
        get: Some(get_module),
        set: Some(set_module),
        doc: ptr::null(),
        closure: ptr::null_mut(),
    },
    getter(c"__qualname__", get_qualname),
    getter(c"__doc__", get_doc),
    getter(c"__text_signature__", get_text_signature),
    getter(c"__self__", get_self),
    getter(c"__signature__", get_signature),
    GETSET_END,
];

static mut SLOTS: [PyType_Slot; 12] = [
    slot(Py_tp_dealloc, dealloc as *mut c_void),
    slot(Py_tp_traverse, traverse as *mut c_void),
    slot(Py_tp_clear, clear as *mut c_void),
    slot(Py_tp_call, PyVectorcall_Call as *mut c_void),
    slot(Py_tp_repr, repr as *mut c_void),
    slot(Py_tp_richcompare, richcompare as *mut c_void),
    slot(Py_tp_hash, hash as *mut c_void),
    slot(Py_tp_getattro, marker::getattro as *mut c_void),
    slot(Py_tp_methods, ptr::addr_of_mut!(METHODS).cast()),
    slot(Py_tp_members, ptr::addr_of_mut!(MEMBERS).cast()),
    slot(Py_tp_getset, ptr::addr_of_mut!(GETSET).cast()),
    slot(0, ptr::null_mut()),
];

pub static mut SPEC: PyType_Spec = PyType_Spec {
    name: c"pyawaitable_backport.async_function".as_ptr(),
    basicsize: std::mem::size_of::<Function>() as c_int,
    itemsize: 0,
    flags: (Py_TPFLAGS_DEFAULT
        | Py_TPFLAGS_HAVE_GC
        | Py_TPFLAGS_IMMUTABLETYPE
        | Py_TPFLAGS_DISALLOW_INSTANTIATION
        | Py_TPFLAGS_HAVE_VECTORCALL) as _,
    slots: ptr::addr_of_mut!(SLOTS).cast(),
};

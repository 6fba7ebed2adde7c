//! Docstrings with a text signature, read the way CPython reads `ml_doc`
//! of builtins: `name(sig)\n--\n\nbody` gives `__text_signature__` "(sig)"
//! and `__doc__` "body".

use crate::refs::Owned;
use pyo3_ffi::*;
use std::ffi::{c_char, CStr};

const END_MARKER: &[u8] = b")\n--\n\n";

/// Splits `doc` into its text signature (from the opening parenthesis to
/// the closing one) and the documentation that follows.  The doc must begin
/// with the last dotted component of `name` and a parenthesis, and the
/// marker must come before any blank line; otherwise all of it is
/// documentation.
pub fn split<'a>(name: &[u8], doc: &'a [u8]) -> (Option<&'a [u8]>, &'a [u8]) {
    let name = name.rsplit(|&b| b == b'.').next().unwrap_or(name);
    let Some(sig) = doc.strip_prefix(name).filter(|s| s.first() == Some(&b'(')) else {
        return (None, doc);
    };
    for i in 0..sig.len() {
        if sig[i..].starts_with(END_MARKER) {
            return (Some(&sig[..=i]), &sig[i + END_MARKER.len()..]);
        }
        if sig[i..].starts_with(b"\n\n") {
            break;
        }
    }
    (None, doc)
}

unsafe fn parts(def: *const PyMethodDef) -> (Option<&'static [u8]>, Option<&'static [u8]>) {
    let doc = (*def).ml_doc;
    if doc.is_null() {
        return (None, None);
    }
    let name = CStr::from_ptr((*def).ml_name).to_bytes();
    let (sig, body) = split(name, CStr::from_ptr(doc).to_bytes());
    (sig, Some(body).filter(|b| !b.is_empty()))
}

unsafe fn string_or_none(bytes: Option<&[u8]>) -> *mut PyObject {
    match bytes {
        Some(b) => PyUnicode_FromStringAndSize(b.as_ptr().cast::<c_char>(), b.len() as Py_ssize_t),
        None => Owned::none().into_ptr(),
    }
}

/// `__doc__` of the entry: its docstring without the signature, or None.
pub unsafe fn doc(def: *const PyMethodDef) -> *mut PyObject {
    string_or_none(parts(def).1)
}

/// `__text_signature__` of the entry, or None.
pub unsafe fn text_signature(def: *const PyMethodDef) -> *mut PyObject {
    string_or_none(parts(def).0)
}

/// True if the docstring begins with a text signature.
pub unsafe fn has_text_signature(def: *const PyMethodDef) -> bool {
    parts(def).0.is_some()
}

/// True if the text signature names a bound first parameter (`$self`,
/// `$module`, `$type`), which a bound callable does not take.
pub unsafe fn has_bound_parameter(def: *const PyMethodDef) -> bool {
    parts(def).0.is_some_and(|s| s.starts_with(b"($"))
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn signature_and_body() {
        let doc = b"hello($module, coro, /)\n--\n\nAwait coro.";
        assert_eq!(
            split(b"hello", doc),
            (Some(&b"($module, coro, /)"[..]), &b"Await coro."[..])
        );
    }

    #[test]
    fn dotted_name_uses_last_component() {
        let doc = b"get($self)\n--\n\n";
        assert_eq!(
            split(b"mod.Type.get", doc),
            (Some(&b"($self)"[..]), &b""[..])
        );
    }

    #[test]
    fn no_signature() {
        for (name, doc) in [
            (&b"hello"[..], &b"Say hello."[..]),
            (b"hello", b"hello world"),
            (b"hello", b"other(x)\n--\n\nbody"),
            // A blank line before the marker ends the search.
            (b"hello", b"hello(x)\n\nmore)\n--\n\nbody"),
            (b"hello", b"hello(x) without marker"),
        ] {
            assert_eq!(split(name, doc), (None, doc));
        }
    }
}

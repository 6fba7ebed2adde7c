fn main() {
    // Py_3_11, Py_3_12, ... cfgs for the interpreter we build against.
    pyo3_build_config::use_pyo3_cfgs();
    // `cargo test` runs binaries that embed libpython; an extension module
    // (maturin sets PYO3_BUILD_EXTENSION_MODULE) must not carry that rpath.
    println!("cargo:rerun-if-env-changed=PYO3_BUILD_EXTENSION_MODULE");
    if std::env::var_os("PYO3_BUILD_EXTENSION_MODULE").is_none() {
        pyo3_build_config::add_libpython_rpath_link_args();
    }
}

fn main() {
    // Py_3_12, ... cfgs for the interpreter maturin builds for (the module's
    // slots differ).
    pyo3_build_config::use_pyo3_cfgs();
}

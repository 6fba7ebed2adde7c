//! METH_ASYNC: async functions and methods declared in a `PyMethodDef`.
//!
//! | module | holds |
//! |--------|-------|
//! | [`call`] | the calling conventions and the eager call |
//! | [`function`] | the async builtin function (module functions, bound methods) |
//! | [`descriptor`] | the async method and class method descriptors |
//! | [`register`] | `PyAwaitable_AddFunctions` / `PyAwaitable_AddMethods` |
//! | [`doc`] | text signatures in docstrings |
//! | [`marker`] | `iscoroutinefunction()` markers |
//! | `slots` | what the function and descriptor types share |

pub mod call;
pub mod descriptor;
pub mod doc;
pub mod function;
pub mod marker;
pub mod register;
mod slots;

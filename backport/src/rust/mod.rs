//! The Rust API: async functions for Rust extensions, over the same
//! runtime C extensions use.
//!
//! An [`Awaitable`] is a queue of awaits whose callbacks are Rust closures
//! (capturing their state instead of saving values), errors are
//! [`Result`]s of [`Error`], and references are owned types ([`Object`],
//! [`Owned`]).  Every call goes through the installed runtime's function
//! table ([`init`]), so awaitables, types and per-interpreter state are
//! shared with C extensions using `pyawaitable.h`.
//!
//! Everything needs a thread attached to the interpreter: an [`Attached`]
//! token proves it (with the `pyo3` feature, from `Python<'py>`).
//!
//! ```
//! use pyawaitable_backport::{embed, Awaitable, Error, Object};
//!
//! /// async def add_then(first, second): return await first + await second
//! fn add_then<'py>(first: &Object<'py>, second: Object<'py>) -> Result<Awaitable<'py>, Error> {
//!     let aw = Awaitable::new(first.attached())?;
//!     let second = second.unbind();
//!     aw.await_(first, move |aw, a| {
//!         let a = a.unbind();
//!         aw.await_(&second.bind(aw.attached()), move |aw, b| {
//!             let sum = unsafe { pyo3_ffi::PyNumber_Add(a.as_ptr(), b.as_ptr()) };
//!             let sum = unsafe { Object::from_owned_ptr(aw.attached(), sum) }
//!                 .ok_or_else(|| Error::fetch(aw.attached()))?;
//!             aw.set_result(&sum)
//!         })
//!     })?;
//!     Ok(aw)
//! }
//!
//! embed::run(|attached| {
//!     let first = embed::eval(attached, "__import__('asyncio').sleep(0, 40)")?;
//!     let second = embed::eval(attached, "__import__('asyncio').sleep(0, 2)")?;
//!     let aw = add_then(&first, second)?;
//!     assert_eq!(format!("{:?}", embed::drive(aw.as_object())?), "42");
//!     Ok::<(), Error>(())
//! })
//! .unwrap();
//! ```
//!
//! | module | holds |
//! |--------|-------|
//! | `attached` | the [`Attached`] token |
//! | `object` | [`Object`], [`Owned`], [`AsObject`] |
//! | `error` | [`Error`] |
//! | `functions` | [`add_functions`], [`METH_ASYNC`]: async functions in a method table |
//! | `awaitable` | [`Awaitable`] and its methods |
//! | `callbacks` | closures as C callbacks: the trampolines |
//! | `with` | closures as the callbacks of `async with` |
//! | `table` | [`init`]: the runtime's capsule |
//! | [`embed`] | an embedded interpreter with the runtime (tests, examples) |
//! | `with_pyo3` | conversions to and from PyO3 types (feature `pyo3`) |

mod attached;
mod awaitable;
mod callbacks;
pub mod embed;
mod error;
mod functions;
mod object;
mod table;
#[cfg(test)]
mod tests;
mod with;
#[cfg(feature = "pyo3")]
mod with_pyo3;

pub use attached::Attached;
pub use awaitable::Awaitable;
pub use error::Error;
pub use functions::{add_functions, METH_ASYNC};
pub use object::{AsObject, Object, Owned};
pub use table::init;

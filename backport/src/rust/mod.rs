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
//! # Panics
//!
//! C calls every closure of this API (and drops what a closure captured)
//! through a trampoline that runs it inside [`std::panic::catch_unwind`],
//! since a panic must not unwind into C.  What a panic then does depends on
//! the panic strategy the extension is built with (its workspace's profile,
//! which applies to this crate as a dependency too):
//!
//! - `panic = "unwind"` (Cargo's default): the panic raises
//!   `RuntimeError("a Rust callback panicked: <message>")` (PyO3's
//!   `PanicException` with the `pyo3` feature), as a closure returning
//!   `Err(e.propagate())` (code -2) would: a result closure's error closure
//!   is skipped, a panic in an `async with` block goes to `__aexit__`, and
//!   one in an error closure replaces the exception, which becomes its
//!   `__context__`.  A payload that is not a string shows as
//!   `Box<dyn Any>`.  A panic while dropping a closure's captures (its
//!   awaitable was freed before it ran) is caught and discarded: nothing can
//!   be raised there.
//! - `panic = "abort"`: nothing is caught; the panic hook prints the message
//!   and the process aborts.  The runtime module is built so (the
//!   repository's root workspace), where no panic is expected.  An
//!   extension that relies on panics becoming exceptions can refuse to
//!   build otherwise: `#[cfg(panic = "abort")] compile_error!("...");`.
//!
//! An extension's own `extern "C"` entry points are not covered: a panic
//! there aborts under either strategy, as for any `extern "C"` function
//! (PyO3's `#[pyfunction]` catches its own).
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

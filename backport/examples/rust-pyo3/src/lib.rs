//! A PyO3 extension whose async functions are written with the
//! `pyawaitable_backport` Rust API: no Python shim, no asyncio task per
//! await, and they run under any event loop (asyncio, uvloop, trio).

use pyawaitable_backport::{Awaitable, Error, Object};
use pyo3::prelude::*;

/// `async def double(coro): return 2 * await coro`
///
/// The closure captures nothing, so the API queues it on the awaitable
/// directly (no child awaitable): the cheapest await there is.
#[pyfunction]
fn double<'py>(coro: Bound<'py, PyAny>) -> PyResult<Awaitable<'py>> {
    let aw = Awaitable::new(coro.py().into())?;
    aw.await_(&coro, |aw, value| {
        let value = value.into_bound();
        aw.set_result(&value.add(&value)?)
    })?;
    Ok(aw)
}

/// ```python
/// async def fetch_then_store(fetch, store, key):
///     value = await fetch(key)
///     ok = await store(key, value.upper())
///     return (key, value.upper(), ok)
/// ```
///
/// The closures capture the second function and the key (PyO3 `Py`
/// handles), and the transformed value between the two awaits.
#[pyfunction]
fn fetch_then_store<'py>(
    fetch: Bound<'py, PyAny>,
    store: Py<PyAny>,
    key: Py<PyAny>,
) -> PyResult<Awaitable<'py>> {
    let py = fetch.py();
    let aw = Awaitable::new(py.into())?;
    let first = fetch.call1((key.bind(py),))?;
    aw.await_(&first, move |aw, value| {
        let py = aw.py();
        let upper = value.into_bound().call_method0("upper")?;
        let second = store.bind(py).call1((key.bind(py), &upper))?;
        let (key, upper) = (key, upper.unbind());
        aw.await_(&second, move |aw, ok| {
            let py = aw.py();
            let result = (key, upper, Object::into_bound(ok)).into_pyobject(py)?;
            aw.set_result(&result)
        })
    })?;
    Ok(aw)
}

/// ```python
/// async def or_default(coro, default, *exceptions):
///     try:
///         return await coro
///     except exceptions:
///         return default
/// ```
///
/// An error closure: swallow a matching exception (setting the default as
/// the result), re-raise anything else unchanged.
#[pyfunction]
#[pyo3(signature = (coro, default, *exceptions))]
fn or_default<'py>(
    coro: Bound<'py, PyAny>,
    default: Py<PyAny>,
    exceptions: Py<pyo3::types::PyTuple>,
) -> PyResult<Awaitable<'py>> {
    let aw = Awaitable::new(coro.py().into())?;
    aw.await_with_error(
        &coro,
        |aw, value| aw.set_result(&value),
        move |aw, exc: Error| {
            if exc.is_instance(aw.attached(), &Object::from(exceptions.into_bound(aw.py()))) {
                aw.set_result(&default.into_bound(aw.py()))
            } else {
                Err(exc)
            }
        },
    )?;
    Ok(aw)
}

/// ```python
/// async def locked(lock, coro):
///     async with lock:
///         return await coro
/// ```
///
/// The body closure captures the coroutine; what it queues runs inside the
/// block, so the lock is held while `coro` runs and released after, also
/// when `coro` raises.
#[pyfunction]
fn locked<'py>(lock: Bound<'py, PyAny>, coro: Py<PyAny>) -> PyResult<Awaitable<'py>> {
    let aw = Awaitable::new(lock.py().into())?;
    aw.async_with(&lock, move |aw, _| {
        aw.await_(&coro.into_bound(aw.py()), |aw, value| aw.set_result(&value))
    })?;
    Ok(aw)
}

/// ```python
/// async def rolled_back(transaction, *exceptions):
///     try:
///         async with transaction as t:
///             await t.fail()
///     except exceptions as exc:
///         return repr(exc)
/// ```
///
/// The statement's error closure sees what propagates out of it (here after
/// `__aexit__` has seen it too) and may swallow it.
#[pyfunction]
#[pyo3(signature = (transaction, *exceptions))]
fn rolled_back<'py>(
    transaction: Bound<'py, PyAny>,
    exceptions: Py<pyo3::types::PyTuple>,
) -> PyResult<Awaitable<'py>> {
    let aw = Awaitable::new(transaction.py().into())?;
    aw.async_with_error(
        &transaction,
        |aw, t| {
            let failing = t.into_bound().call_method0("fail")?;
            aw.await_ignore(&failing)
        },
        move |aw, exc: Error| {
            let value = exc.value(aw.attached()).into_bound();
            if value.is_instance(exceptions.bind(aw.py()))? {
                aw.set_result(&value.repr()?)
            } else {
                Err(exc)
            }
        },
    )?;
    Ok(aw)
}

/// `async def passthrough(coro): return await coro`, with a closure that
/// captures nothing: queued directly, no child awaitable (see
/// `tests/bench.py`).
#[pyfunction]
fn passthrough<'py>(coro: Bound<'py, PyAny>) -> PyResult<Awaitable<'py>> {
    let aw = Awaitable::new(coro.py().into())?;
    aw.await_(&coro, |aw, value| aw.set_result(&value))?;
    Ok(aw)
}

/// The same with a closure that captures state: the child-awaitable path.
#[pyfunction]
fn passthrough_capturing<'py>(coro: Bound<'py, PyAny>) -> PyResult<Awaitable<'py>> {
    let aw = Awaitable::new(coro.py().into())?;
    let state = Box::new(0u8);
    aw.await_(&coro, move |aw, value| {
        let _ = &state;
        aw.set_result(&value)
    })?;
    Ok(aw)
}

/// `async def panics(coro): await coro; panic!()`: a panicking callback
/// raises `PanicException` (this crate is built with `panic = "unwind"`).
#[pyfunction]
fn panics<'py>(coro: Bound<'py, PyAny>) -> PyResult<Awaitable<'py>> {
    let aw = Awaitable::new(coro.py().into())?;
    aw.await_(&coro, |_, _| panic!("callback panicked on purpose"))?;
    Ok(aw)
}

#[pymodule]
fn rust_pyo3_example(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // A missing runtime is an ImportError now, not at the first call.
    pyawaitable_backport::init(m.py().into())?;
    m.add_function(wrap_pyfunction!(double, m)?)?;
    m.add_function(wrap_pyfunction!(fetch_then_store, m)?)?;
    m.add_function(wrap_pyfunction!(or_default, m)?)?;
    m.add_function(wrap_pyfunction!(locked, m)?)?;
    m.add_function(wrap_pyfunction!(rolled_back, m)?)?;
    m.add_function(wrap_pyfunction!(passthrough, m)?)?;
    m.add_function(wrap_pyfunction!(passthrough_capturing, m)?)?;
    m.add_function(wrap_pyfunction!(panics, m)?)?;
    Ok(())
}

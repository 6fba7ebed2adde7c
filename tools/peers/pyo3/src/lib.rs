//! The bench scenarios written with PyO3 0.30's `async fn`.
//!
//! PyO3 cannot await a Python awaitable by itself: pyo3-async-runtimes
//! schedules it as an asyncio Task on the running loop and hands back a
//! Rust future completed from the Task's done callback, so every await
//! here needs a running event loop.
use pyo3::prelude::*;

/// `async def value(v): return v`
#[pyfunction]
async fn value(v: Py<PyAny>) -> Py<PyAny> {
    v
}

/// Await a Python awaitable from Rust.
async fn await_py(awaitable: Py<PyAny>) -> PyResult<Py<PyAny>> {
    let future = Python::attach(|py| {
        let locals = pyo3_async_runtimes::TaskLocals::with_running_loop(py)?;
        pyo3_async_runtimes::into_future_with_locals(&locals, awaitable.into_bound(py))
    })?;
    future.await
}

/// `async def trampoline(coro): return await coro`
#[pyfunction]
async fn trampoline(coro: Py<PyAny>) -> PyResult<Py<PyAny>> {
    await_py(coro).await
}

/// `async def chain10(f):` await `f()` ten times, return the last result.
#[pyfunction]
async fn chain10(factory: Py<PyAny>) -> PyResult<Py<PyAny>> {
    let mut last = None;
    for _ in 0..10 {
        let coro = Python::attach(|py| factory.call0(py))?;
        last = Some(await_py(coro).await?);
    }
    Ok(last.expect("ten awaits"))
}

#[pymodule]
fn _peer_pyo3(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(value, m)?)?;
    m.add_function(wrap_pyfunction!(trampoline, m)?)?;
    m.add_function(wrap_pyfunction!(chain10, m)?)?;
    Ok(())
}

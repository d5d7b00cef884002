//! Which runtime (and which worker of it) the calling thread belongs to.

use std::cell::RefCell;
use std::sync::Arc;

use super::Runtime;
use super::worker::WorkerCtx;
use crate::core::thread_state::{self, ThreadState};

thread_local! {
    /// The runtimes this thread belongs to, innermost last: a worker or blocking thread's own,
    /// then one per `block_on` it is inside (a task of runtime A may block on runtime B).
    static RUNTIMES: RefCell<Vec<*const Runtime>> = const { RefCell::new(Vec::new()) };
}

// The worker context of a worker thread is `ThreadState::worker` (one lookup with the other hot
// per-thread state).

pub(crate) struct RuntimeGuard(());

/// Marks the calling thread as belonging to `shared` while the guard lives (a worker or
/// blocking thread, or a thread inside `block_on`); the caller holds an `Arc`, so the pointer
/// stays valid.
pub(crate) fn enter_runtime(shared: &Arc<Runtime>) -> RuntimeGuard {
    RUNTIMES.with(|r| r.borrow_mut().push(Arc::as_ptr(shared)));
    RuntimeGuard(())
}

impl Drop for RuntimeGuard {
    fn drop(&mut self) {
        RUNTIMES.with(|r| r.borrow_mut().pop());
    }
}

/// Calls `f` with the innermost runtime of the calling thread, if it is one of a runtime's
/// threads or inside a `block_on`.
pub(crate) fn with_current_runtime<R>(f: impl FnOnce(&Arc<Runtime>) -> R) -> Option<R> {
    let p = RUNTIMES.with(|r| r.borrow().last().copied())?;
    // SAFETY: listed (from `Arc::as_ptr`) only while a guard lives on this thread, whose owner
    // holds an Arc; ManuallyDrop borrows that count without taking it.
    let rt = std::mem::ManuallyDrop::new(unsafe { Arc::from_raw(p) });
    Some(f(&rt))
}

/// Whether the calling thread belongs to `shared` at any level: waiting for `shared` to stop
/// from here would wait for this very thread.
pub(crate) fn belongs_to(shared: &Runtime) -> bool {
    RUNTIMES.with(|r| r.borrow().iter().any(|&p| std::ptr::eq(p, shared)))
}

pub(crate) struct WorkerGuard;

pub(crate) fn enter_worker(w: &WorkerCtx) -> WorkerGuard {
    thread_state::with(|s| s.worker.set((w as *const WorkerCtx).cast()));
    WorkerGuard
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        thread_state::with(|s| s.worker.set(std::ptr::null()));
    }
}

/// The worker context of the calling thread, if it is a worker.
pub(crate) fn current_worker<'a>() -> Option<&'a WorkerCtx> {
    thread_state::with(worker_in)
}

/// The worker context in the given thread state (for callers that already looked it up).
#[inline]
pub(crate) fn worker_in<'a>(state: &ThreadState) -> Option<&'a WorkerCtx> {
    let p = state.worker.get().cast::<WorkerCtx>();
    // SAFETY: the context lives on the worker thread's stack for as long as it is set.
    unsafe { p.as_ref() }
}

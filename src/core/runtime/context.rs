//! Which runtime (and which worker of it) the calling thread belongs to.

use std::cell::Cell;
use std::sync::Arc;

use super::Shared;
use super::worker::WorkerCtx;

thread_local! {
    static RUNTIME: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
    static WORKER: Cell<*const WorkerCtx> = const { Cell::new(std::ptr::null()) };
}

pub(crate) struct RuntimeGuard {
    prev: *const Shared,
}

/// Marks the calling thread (a worker or blocking thread) as belonging to `shared` while the
/// guard lives; the thread holds an `Arc`, so the pointer stays valid.
pub(crate) fn enter_runtime(shared: &Arc<Shared>) -> RuntimeGuard {
    RuntimeGuard {
        prev: RUNTIME.with(|c| c.replace(Arc::as_ptr(shared))),
    }
}

impl Drop for RuntimeGuard {
    fn drop(&mut self) {
        RUNTIME.with(|c| c.set(self.prev));
    }
}

/// The runtime of the calling thread, if it is one of a runtime's threads.
pub(crate) fn current_runtime() -> Option<&'static Shared> {
    let p = RUNTIME.with(|c| c.get());
    // SAFETY: set only while the thread (which holds an Arc) runs its loop.
    unsafe { p.as_ref() }
}

pub(crate) struct WorkerGuard;

pub(crate) fn enter_worker(w: &WorkerCtx) -> WorkerGuard {
    WORKER.with(|c| c.set(w));
    WorkerGuard
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        WORKER.with(|c| c.set(std::ptr::null()));
    }
}

/// Restores the worker context when dropped.
pub(crate) struct SuspendGuard(*const WorkerCtx);

/// The calling thread stops counting as a worker until the guard drops (`block_in_place`).
pub(crate) fn suspend_worker() -> SuspendGuard {
    SuspendGuard(WORKER.with(|c| c.replace(std::ptr::null())))
}

impl Drop for SuspendGuard {
    fn drop(&mut self) {
        WORKER.with(|c| c.set(self.0));
    }
}

/// The worker context of the calling thread, if it is a worker.
pub(crate) fn current_worker<'a>() -> Option<&'a WorkerCtx> {
    let p = WORKER.with(|c| c.get());
    // SAFETY: the context lives on the worker thread's stack for as long as it is set.
    unsafe { p.as_ref() }
}

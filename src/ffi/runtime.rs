//! `tasks_runtime`: creating, the default runtime, shutdown, free and metrics.

use std::mem::ManuallyDrop;
use std::sync::Arc;
use std::time::Duration;

use super::metrics::tasks_metrics;
use super::{boundary, null_check, tasks_status};
use crate::core::runtime::{Config, Shared, context, default_runtime};

/// A runtime: worker threads, a blocking pool and the tasks spawned on it.
pub struct tasks_runtime {
    _private: [u8; 0],
}

pub(crate) fn to_ptr(shared: &Shared) -> *mut tasks_runtime {
    (shared as *const Shared).cast_mut().cast()
}

/// Borrows the runtime behind a non-NULL `tasks_runtime*` as an `Arc` without touching the
/// count. The pointer came from `Arc::into_raw` or is the default runtime's.
pub(crate) unsafe fn borrow(rt: *mut tasks_runtime) -> ManuallyDrop<Arc<Shared>> {
    // SAFETY: see above; ManuallyDrop keeps the count unchanged.
    ManuallyDrop::new(unsafe { Arc::from_raw(rt.cast::<Shared>()) })
}

/// The runtime a spawn with `rt == NULL` uses: the caller's (inside a runtime thread), else the
/// default one.
pub(crate) fn resolve(rt: *mut tasks_runtime) -> Option<ManuallyDrop<Arc<Shared>>> {
    if !rt.is_null() {
        // SAFETY: the caller passes a live runtime.
        return Some(unsafe { borrow(rt) });
    }
    if let Some(current) = context::current_runtime().filter(|r| !r.is_forked()) {
        // SAFETY: the current thread's runtime is alive while this thread runs.
        return Some(unsafe { borrow(to_ptr(current)) });
    }
    // SAFETY: the default runtime is never freed.
    default_runtime().map(|a| unsafe { borrow(to_ptr(a)) })
}

/// Creates a runtime with default settings (see tasks_builder_new) and starts its workers.
/// On success `*out` receives it; free it with tasks_runtime_free.
/// Returns TASKS_ERR_NULL, TASKS_ERR_THREAD, TASKS_ERR_NO_MEMORY.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_runtime_new(out: *mut *mut tasks_runtime) -> tasks_status {
    boundary(|| {
        null_check!(tasks_status::TASKS_ERR_NULL; out);
        match Shared::build(Config::default(), false) {
            Ok(shared) => {
                // SAFETY: checked non-NULL.
                unsafe { *out = Arc::into_raw(shared).cast_mut().cast() };
                tasks_status::TASKS_OK
            }
            Err(e) => e.into(),
        }
    })
}

/// The process-wide runtime, created on first use (TASKS_WORKER_THREADS or the number of CPUs
/// workers) and never freed. In a child process after fork() a new default runtime is created
/// on first use (the parent's has no threads there). Borrowed: do not free it (tasks_runtime_free and
/// tasks_runtime_shutdown return TASKS_ERR_INVALID for it). NULL only if its threads could not
/// be started.
#[unsafe(no_mangle)]
pub extern "C" fn tasks_runtime_default() -> *mut tasks_runtime {
    boundary(|| default_runtime().map_or(std::ptr::null_mut(), |a| to_ptr(a)))
}

fn check_can_stop(shared: &Shared) -> Option<tasks_status> {
    if shared.is_default {
        Some(tasks_status::TASKS_ERR_INVALID)
    } else if shared.is_current() {
        Some(tasks_status::TASKS_ERR_WOULD_DEADLOCK)
    } else {
        None
    }
}

/// Stops new spawns (they return TASKS_ERR_SHUTDOWN), cancels every task that is not running
/// (their drop_arg runs, their joiners see TASKS_CANCELLED), requests cancellation of running
/// ones (tasks_current_is_cancelled turns true in them) and waits up to `timeout_ns` for them.
/// Returns TASKS_OK when every task has ended, TASKS_TIMED_OUT otherwise (call again to wait
/// more). The runtime stays allocated: free it with tasks_runtime_free.
/// Returns TASKS_ERR_WOULD_DEADLOCK from one of the runtime's own threads and
/// TASKS_ERR_INVALID for the default runtime.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_runtime_shutdown(
    rt: *mut tasks_runtime,
    timeout_ns: u64,
) -> tasks_status {
    boundary(|| {
        null_check!(tasks_status::TASKS_ERR_NULL; rt);
        // SAFETY: a live runtime.
        let shared = unsafe { borrow(rt) };
        if let Some(err) = check_can_stop(&shared) {
            return err;
        }
        let timeout = (timeout_ns != u64::MAX).then(|| Duration::from_nanos(timeout_ns));
        if shared.shutdown(timeout) {
            tasks_status::TASKS_OK
        } else {
            tasks_status::TASKS_TIMED_OUT
        }
    })
}

/// Shuts the runtime down (waiting without limit for running tasks), joins every thread it
/// started and releases it; `rt` is invalid afterwards. Join and abort handles of its tasks
/// stay valid (they report TASKS_CANCELLED for what never finished) and must still be freed.
/// After it returns, every task's drop_arg has run exactly once and every output nobody can
/// take any more has been dropped.
/// Returns TASKS_ERR_NULL, TASKS_ERR_WOULD_DEADLOCK (called from one of its own threads, also
/// from inside a tasks_block_on of another runtime run by one of them; nothing is freed),
/// TASKS_ERR_INVALID (the default runtime).
/// After fork(), in the child: a runtime created before the fork behaves as shut down
/// (spawns return TASKS_ERR_SHUTDOWN); free returns TASKS_OK at once and leaves its tasks
/// alone (they belong to the parent: they never run and are never dropped in the child).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_runtime_free(rt: *mut tasks_runtime) -> tasks_status {
    boundary(|| {
        null_check!(tasks_status::TASKS_ERR_NULL; rt);
        // SAFETY: a live runtime.
        let shared = unsafe { borrow(rt) };
        if let Some(err) = check_can_stop(&shared) {
            return err;
        }
        if shared.is_forked() {
            // In a child process: the runtime's tasks belong to the parent and must not be
            // dropped here, so its memory is left as it is.
            return tasks_status::TASKS_OK;
        }
        shared.shutdown_and_join();
        // SAFETY: the caller's reference, from Arc::into_raw in tasks_runtime_new/build.
        drop(ManuallyDrop::into_inner(shared));
        tasks_status::TASKS_OK
    })
}

/// Fills `*out` with the runtime's counters (see tasks_metrics). Does nothing if either pointer
/// is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_runtime_metrics(rt: *const tasks_runtime, out: *mut tasks_metrics) {
    boundary(|| {
        null_check!(rt, out);
        // SAFETY: a live runtime; `out` checked.
        let shared = unsafe { borrow(rt.cast_mut()) };
        unsafe { *out = tasks_metrics::from(shared.metrics()) };
    })
}

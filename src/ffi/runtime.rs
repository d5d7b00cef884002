//! `tasks_runtime`: creating, the default runtime, shutdown, free and metrics.

use std::sync::Arc;

use super::cast::{self, castable};
use super::status::status_of;
use super::{Required, boundary, checked, tasks_status, timeout_from};
use crate::core::runtime::{Config, Metrics, Runtime, default_runtime, with_runtime};

/// The metrics struct under its C name, for Rust callers (cbindgen names it through
/// cbindgen.toml's rename; it does not follow `use`).
pub use crate::core::runtime::Metrics as tasks_metrics;

/// A runtime: worker threads, a blocking pool and the tasks spawned on it.
pub struct tasks_runtime {
    _private: [u8; 0],
}

castable!(tasks_runtime => Runtime, OwnedArc);

/// Calls `f` with the runtime a call names: `rt`, or for NULL the caller's (inside a runtime
/// thread), else the default one. Err(TASKS_ERR_THREAD) when the default runtime could not be
/// started.
pub(crate) fn resolve<R>(
    rt: *mut tasks_runtime,
    f: impl FnOnce(&Arc<Runtime>) -> R,
) -> Result<R, tasks_status> {
    // SAFETY: the caller's contract: NULL or a live runtime.
    let explicit = unsafe { cast::try_borrow_arc(rt) };
    with_runtime(explicit.as_deref(), f).ok_or(tasks_status::TASKS_ERR_THREAD)
}

/// The status of a call `f` makes on the runtime `rt` names (see `resolve`): its outcome or
/// its error, or TASKS_ERR_THREAD when no default runtime could be started.
pub(crate) fn status_on<O, E>(
    rt: *mut tasks_runtime,
    f: impl FnOnce(&Arc<Runtime>) -> Result<O, E>,
) -> tasks_status
where
    O: Into<tasks_status>,
    E: Into<tasks_status>,
{
    match resolve(rt, f) {
        Ok(Ok(outcome)) => outcome.into(),
        Ok(Err(e)) => e.into(),
        Err(status) => status,
    }
}

/// Hands a new runtime to C (or the build error).
pub(crate) fn give_built(
    built: Result<Arc<Runtime>, crate::core::runtime::BuildError>,
    out: *mut *mut tasks_runtime,
) -> tasks_status {
    match built {
        Ok(rt) => {
            // SAFETY: the caller checked `out`.
            unsafe { cast::write_out(out, cast::give_arc(rt)) };
            tasks_status::TASKS_OK
        }
        Err(e) => e.into(),
    }
}

/// Creates a runtime with default settings (see tasks_builder_new) and starts its workers.
/// On success `*out` receives it; free it with tasks_runtime_free.
/// Returns TASKS_ERR_NULL, TASKS_ERR_THREAD, TASKS_ERR_NO_MEMORY.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_runtime_new(out: *mut *mut tasks_runtime) -> tasks_status {
    checked(|| {
        Ok(give_built(
            Runtime::build(Config::default(), false),
            out.required()?,
        ))
    })
}

/// The process-wide runtime, created on first use (TASKS_WORKER_THREADS or the number of CPUs
/// workers) and never freed. In a child process after fork() a new default runtime is created
/// on first use (the parent's has no threads there). Borrowed: do not free it (tasks_runtime_free and
/// tasks_runtime_shutdown return TASKS_ERR_INVALID for it). NULL only if its threads could not
/// be started.
#[unsafe(no_mangle)]
pub extern "C" fn tasks_runtime_default() -> *mut tasks_runtime {
    boundary(|| default_runtime().map_or(std::ptr::null_mut(), cast::lend_arc))
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
    checked(|| {
        // SAFETY: NULL or a live runtime.
        let rt = unsafe { cast::try_ref(rt) }.required()?;
        Ok(status_of(rt.shutdown(timeout_from(timeout_ns))))
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
    checked(|| {
        // SAFETY: NULL or a live runtime, whose count the caller gives up (kept on error).
        let rt = unsafe { cast::take_arc(rt) }.required()?;
        Ok(status_of(Runtime::free(rt)))
    })
}

/// Fills `*out` with the runtime's counters (see tasks_metrics). Does nothing if either pointer
/// is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_runtime_metrics(rt: *const tasks_runtime, out: *mut Metrics) {
    boundary(|| {
        // SAFETY: NULL or a live runtime.
        if let Some(rt) = unsafe { cast::try_ref(rt) } {
            // SAFETY: NULL or writable.
            unsafe { cast::write_out(out, rt.metrics()) };
        }
    })
}

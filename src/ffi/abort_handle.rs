//! `tasks_abort_handle`: a cloneable handle that can only abort and observe a task.

use super::boundary;
use super::cast::{self, castable};
use crate::core::fork_join::cancel::current_is_cancelled;
use crate::core::task::TaskRef;

/// A handle that aborts a task and asks whether it ended; independent of the join handle.
pub struct tasks_abort_handle {
    _private: [u8; 0],
}

castable!(tasks_abort_handle => TaskRef, OwnedTask);

/// A new abort handle on `task` for C (an added reference; released by tasks_abort_handle_free).
pub(crate) fn give_abort_handle(task: &TaskRef) -> *mut tasks_abort_handle {
    cast::give_task(task.clone())
}

/// Requests cancellation, as tasks_join_handle_abort. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_abort_handle_abort(a: *const tasks_abort_handle) {
    // SAFETY: NULL or a live handle.
    boundary(|| unsafe { cast::with_task(a, TaskRef::abort) }.unwrap_or(()))
}

/// True once the task has fully ended. False for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_abort_handle_is_finished(a: *const tasks_abort_handle) -> bool {
    // SAFETY: NULL or a live handle.
    boundary(|| unsafe { cast::with_task(a, TaskRef::is_finished) }.unwrap_or(false))
}

/// The task's id. 0 for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_abort_handle_id(a: *const tasks_abort_handle) -> u64 {
    // SAFETY: NULL or a live handle.
    boundary(|| unsafe { cast::with_task(a, TaskRef::id) }.unwrap_or(0))
}

/// Another abort handle for the same task; free each one with tasks_abort_handle_free. NULL
/// for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_abort_handle_clone(
    a: *const tasks_abort_handle,
) -> *mut tasks_abort_handle {
    // SAFETY: NULL or a live handle.
    boundary(|| unsafe { cast::with_task(a, give_abort_handle) }.unwrap_or(std::ptr::null_mut()))
}

/// Frees the abort handle (the task is not affected). NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_abort_handle_free(a: *mut tasks_abort_handle) {
    // SAFETY: NULL or a live handle, which the caller gives up.
    boundary(|| drop(unsafe { cast::take_task(a) }))
}

/// Inside a running task: has abort been requested (by a handle or by runtime shutdown)?
/// Inside a scope task also: was its scope cancelled (or the task running tasks_scope_run
/// aborted)? Inside a join2 half or parallel_for subrange that another worker runs: is the
/// caller cancelled? False elsewhere.
#[unsafe(no_mangle)]
pub extern "C" fn tasks_current_is_cancelled() -> bool {
    boundary(current_is_cancelled)
}

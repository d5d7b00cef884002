//! `tasks_abort_handle`: a cloneable handle that can only abort and observe a task.

use std::ptr::NonNull;

use super::{boundary, null_check};
use crate::core::task::state::COMPLETE;
use crate::core::task::{Header, TaskRef, harness};

/// A handle that aborts a task and asks whether it ended; independent of the join handle.
pub struct tasks_abort_handle {
    _private: [u8; 0],
}

fn task_ptr(a: *const tasks_abort_handle) -> NonNull<Header> {
    // SAFETY (of callers): non-NULL, checked; provenance of the whole block (see join_handle).
    unsafe { NonNull::new_unchecked(a.cast::<Header>().cast_mut()) }
}

unsafe fn header<'a>(a: *const tasks_abort_handle) -> &'a Header {
    // SAFETY: a live abort handle owns a reference to the task header it points at.
    unsafe { &*a.cast::<Header>() }
}

/// Requests cancellation, as tasks_join_handle_abort. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_abort_handle_abort(a: *const tasks_abort_handle) {
    boundary(|| {
        null_check!(a);
        // SAFETY: a live handle.
        harness::abort(task_ptr(a));
    })
}

/// True once the task has fully ended. False for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_abort_handle_is_finished(a: *const tasks_abort_handle) -> bool {
    boundary(|| {
        null_check!(false; a);
        // SAFETY: a live handle.
        unsafe { header(a) }.state.load().has(COMPLETE)
    })
}

/// The task's id. 0 for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_abort_handle_id(a: *const tasks_abort_handle) -> u64 {
    boundary(|| {
        null_check!(0; a);
        // SAFETY: a live handle.
        unsafe { header(a) }.id
    })
}

/// Another abort handle for the same task; free each one with tasks_abort_handle_free. NULL
/// for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_abort_handle_clone(
    a: *const tasks_abort_handle,
) -> *mut tasks_abort_handle {
    boundary(|| {
        null_check!(std::ptr::null_mut(); a);
        // SAFETY: a live handle.
        TaskRef::clone_from(task_ptr(a)).into_raw().as_ptr().cast()
    })
}

/// Frees the abort handle (the task is not affected). NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_abort_handle_free(a: *mut tasks_abort_handle) {
    boundary(|| {
        null_check!(a);
        // SAFETY: the caller gives up the handle's reference.
        drop(unsafe { TaskRef::from_raw(NonNull::new_unchecked(a.cast::<Header>())) });
    })
}

/// Inside a running task: has abort been requested (by a handle or by runtime shutdown)?
/// Inside a scope task also: was its scope cancelled (or the task running tasks_scope_run
/// aborted)? Inside a join2 half or parallel_for subrange that another worker runs: is the
/// caller cancelled? False elsewhere.
#[unsafe(no_mangle)]
pub extern "C" fn tasks_current_is_cancelled() -> bool {
    // fork-join: the current task's CANCEL_REQUESTED plus the scopes/callers it inherits
    // (core::fork_join::cancel).
    boundary(|| crate::core::fork_join::cancel::CancelCtx::current().is_cancelled())
}

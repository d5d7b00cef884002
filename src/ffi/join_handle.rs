//! `tasks_join_handle`: waiting for a task's outcome, aborting it, detaching it.

use std::ffi::c_void;

use super::abort_handle::{give_abort_handle, tasks_abort_handle};
use super::body::tasks_context;
use super::cast::{self, castable};
use super::status::hand_out_result;
use super::{Required, boundary, checked, tasks_status, timeout_from};
use crate::core::runtime::wait;
use crate::core::task::{JoinHandle, TaskRef};

/// The owner's handle on a task: join it, abort it, or free it to detach the task.
pub struct tasks_join_handle {
    _private: [u8; 0],
}

castable!(tasks_join_handle => JoinHandle, OwnedTask);

/// Waits up to `timeout_ns` for the task to end. Returns TASKS_OK or TASKS_FAILED with
/// `*output` set to the task's output (handed out once: a later join returns the same status
/// and writes NULL), TASKS_CANCELLED, TASKS_TIMED_OUT (the handle stays valid) or, with a 0
/// timeout, TASKS_PENDING. `output` may be NULL: the output is then dropped with drop_output.
/// On a worker thread the join runs other tasks while it waits (fork-join never deadlocks,
/// even with one worker): a join without timeout (TASKS_FOREVER) of a run-to-completion task
/// of the same runtime that no thread has started yet runs that task right there, like a
/// function call. Elsewhere the join parks. Returns TASKS_ERR_WOULD_DEADLOCK at once, taking
/// nothing, when the wait could never end: a task joining itself (also from its own drop_arg
/// or task-local destructors), or a thread joining an unfinished task of a local executor (or
/// block_on) that it owns itself, such as an executor task joining a sibling (only this
/// thread can run it). With a 0 timeout those return TASKS_PENDING as usual.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join_handle_join(
    h: *mut tasks_join_handle,
    timeout_ns: u64,
    output: *mut *mut c_void,
) -> tasks_status {
    checked(|| {
        // SAFETY: NULL or a live handle.
        let h = unsafe { cast::try_borrow_task(h) }.required()?;
        let result = wait::join(&h, timeout_from(timeout_ns), !output.is_null())?;
        Ok(hand_out_result(result, output))
    })
}

/// `join` for poll-style tasks: if the task has ended, returns as tasks_join_handle_join does;
/// otherwise registers the context's task to be woken when it ends (replacing a waker an
/// earlier poll registered) and returns TASKS_PENDING. `cx` is the calling poll task's context.
/// Returns TASKS_ERR_NULL, TASKS_ERR_WOULD_DEADLOCK (polling one's own handle).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join_handle_poll(
    h: *mut tasks_join_handle,
    cx: *mut tasks_context,
    output: *mut *mut c_void,
) -> tasks_status {
    checked(|| {
        // SAFETY: NULL or a live handle; NULL or a context during its poll.
        let (h, cx) = unsafe { (cast::try_borrow_task(h), cast::try_ref(cx)) };
        let result = h
            .required()?
            .poll_result(cx.required()?, !output.is_null())?;
        Ok(hand_out_result(result, output))
    })
}

/// Requests cancellation (see the abort rules: a task that is not running is cancelled before
/// this returns; a running one when it next yields or checks). Does nothing if `h` is NULL or
/// the task has ended.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join_handle_abort(h: *const tasks_join_handle) {
    // SAFETY: NULL or a live handle.
    boundary(|| unsafe { cast::with_task(h, TaskRef::abort) }.unwrap_or(()))
}

/// True once the task has fully ended (its drop_arg has run). False for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join_handle_is_finished(h: *const tasks_join_handle) -> bool {
    // SAFETY: NULL or a live handle.
    boundary(|| unsafe { cast::with_task(h, TaskRef::is_finished) }.unwrap_or(false))
}

/// The task's id (unique in the process, never 0). 0 for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join_handle_id(h: *const tasks_join_handle) -> u64 {
    // SAFETY: NULL or a live handle.
    boundary(|| unsafe { cast::with_task(h, TaskRef::id) }.unwrap_or(0))
}

/// A new abort handle for the task (free it with tasks_abort_handle_free). It stays valid
/// after the join handle is freed. NULL for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join_handle_abort_handle(
    h: *const tasks_join_handle,
) -> *mut tasks_abort_handle {
    // SAFETY: NULL or a live handle.
    boundary(|| unsafe { cast::with_task(h, give_abort_handle) }.unwrap_or(std::ptr::null_mut()))
}

/// Frees the handle. A task still running is detached: it keeps running and its output is
/// dropped with drop_output; an output not yet taken is dropped now. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join_handle_free(h: *mut tasks_join_handle) {
    // SAFETY: NULL or a live handle, which the caller gives up.
    boundary(|| drop(unsafe { cast::take_task(h) }))
}

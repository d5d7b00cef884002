//! `tasks_join_handle`: waiting for a task's outcome, aborting it, detaching it.

use std::ffi::c_void;
use std::ptr::NonNull;

use super::abort_handle::tasks_abort_handle;
use super::body::{context_of, tasks_context};
use super::{boundary, deadline_after, null_check, tasks_status};
use crate::core::context::current_task;
use crate::core::local::runs_only_here;
use crate::core::runtime::join_task;
use crate::core::task::state::{COMPLETE, Outcome};
use crate::core::task::{Header, TaskRef, harness, join};

/// The owner's handle on a task: join it, abort it, or free it to detach the task.
pub struct tasks_join_handle {
    _private: [u8; 0],
}

pub(crate) unsafe fn header<'a>(h: *const tasks_join_handle) -> &'a Header {
    // SAFETY: a live handle owns a reference to the task header it points at.
    unsafe { &*h.cast::<Header>() }
}

/// The task pointer behind a non-NULL handle, with the provenance of the whole task block (it
/// came from the allocation), as needed to reach the task's body or free it.
pub(crate) fn task_ptr(h: *const tasks_join_handle) -> NonNull<Header> {
    // SAFETY (of callers): non-NULL, checked.
    unsafe { NonNull::new_unchecked(h.cast::<Header>().cast_mut()) }
}

/// Hands out the result of a completed task: the output for OK/FAILED (once; NULL after), or
/// drops it when the caller passed no place for it.
pub(crate) fn deliver(
    h: NonNull<Header>,
    outcome: Outcome,
    output: *mut *mut c_void,
) -> tasks_status {
    // SAFETY: the caller's handle keeps the task alive.
    let task = unsafe { h.as_ref() };
    match outcome {
        Outcome::Cancelled => return tasks_status::TASKS_CANCELLED,
        Outcome::Ok | Outcome::Failed => {}
    }
    if output.is_null() {
        Header::drop_output(h);
    } else {
        // SAFETY: checked non-NULL, the caller's out-pointer.
        unsafe { *output = task.take_output().cast() };
    }
    if outcome == Outcome::Ok {
        tasks_status::TASKS_OK
    } else {
        tasks_status::TASKS_FAILED
    }
}

fn is_current_task(task: &Header) -> bool {
    current_task().is_some_and(|c| std::ptr::eq(c.as_ptr(), task))
}

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
    boundary(|| {
        null_check!(tasks_status::TASKS_ERR_NULL; h);
        // SAFETY: a live handle.
        let task = unsafe { header(h) };
        if let Some(o) = join::outcome(task) {
            return deliver(task_ptr(h), o, output);
        }
        if is_current_task(task) {
            return tasks_status::TASKS_ERR_WOULD_DEADLOCK;
        }
        if timeout_ns == 0 {
            return tasks_status::TASKS_PENDING;
        }
        if runs_only_here(task) {
            // A task of a local executor (or block_on) owned by this thread: only this thread
            // can run it, and it would be blocked here.
            return tasks_status::TASKS_ERR_WOULD_DEADLOCK;
        }
        match join_task(task_ptr(h), deadline_after(timeout_ns)) {
            Some(o) => deliver(task_ptr(h), o, output),
            None => tasks_status::TASKS_TIMED_OUT,
        }
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
    boundary(|| {
        null_check!(tasks_status::TASKS_ERR_NULL; h, cx);
        // SAFETY: a live handle; a context during its poll.
        let (task, cx) = unsafe { (header(h), context_of(cx)) };
        if let Some(o) = join::outcome(task) {
            return deliver(task_ptr(h), o, output);
        }
        if std::ptr::eq(cx.header(), task) {
            return tasks_status::TASKS_ERR_WOULD_DEADLOCK;
        }
        match join::poll(task, &cx.waker()) {
            Some(o) => deliver(task_ptr(h), o, output),
            None => tasks_status::TASKS_PENDING,
        }
    })
}

/// Requests cancellation (see the abort rules: a task that is not running is cancelled before
/// this returns; a running one when it next yields or checks). Does nothing if `h` is NULL or
/// the task has ended.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join_handle_abort(h: *const tasks_join_handle) {
    boundary(|| {
        null_check!(h);
        // SAFETY: a live handle.
        harness::abort(task_ptr(h));
    })
}

/// True once the task has fully ended (its drop_arg has run). False for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join_handle_is_finished(h: *const tasks_join_handle) -> bool {
    boundary(|| {
        null_check!(false; h);
        // SAFETY: a live handle.
        unsafe { header(h) }.state.load().has(COMPLETE)
    })
}

/// The task's id (unique in the process, never 0). 0 for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join_handle_id(h: *const tasks_join_handle) -> u64 {
    boundary(|| {
        null_check!(0; h);
        // SAFETY: a live handle.
        unsafe { header(h) }.id
    })
}

/// A new abort handle for the task (free it with tasks_abort_handle_free). It stays valid
/// after the join handle is freed. NULL for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join_handle_abort_handle(
    h: *const tasks_join_handle,
) -> *mut tasks_abort_handle {
    boundary(|| {
        null_check!(std::ptr::null_mut(); h);
        // SAFETY: a live handle.
        let r = TaskRef::clone_from(task_ptr(h));
        r.into_raw().as_ptr().cast()
    })
}

/// Frees the handle. A task still running is detached: it keeps running and its output is
/// dropped with drop_output; an output not yet taken is dropped now. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join_handle_free(h: *mut tasks_join_handle) {
    boundary(|| {
        null_check!(h);
        // SAFETY: the caller gives up the handle's reference.
        join::drop_handle(task_ptr(h));
    })
}

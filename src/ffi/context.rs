//! `tasks_context`: what a poll-style task can do with its context.

use super::body::{context_of, tasks_context};
use super::waker::{boxed, tasks_waker};
use super::{boundary, null_check, tasks_status};
use crate::core::task::sleep;

/// A new waker for the task being polled; waking it (from any thread, before, during or after
/// the poll) makes the task run again. Free it with tasks_waker_free or consume it with
/// tasks_waker_wake. NULL if `cx` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_context_waker(cx: *mut tasks_context) -> *mut tasks_waker {
    boundary(|| {
        null_check!(std::ptr::null_mut(); cx);
        // SAFETY: a context during its poll.
        boxed(unsafe { context_of(cx) }.waker())
    })
}

/// The id of the task being polled. 0 if `cx` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_context_id(cx: *const tasks_context) -> u64 {
    boundary(|| {
        null_check!(0; cx);
        // SAFETY: a context during its poll.
        unsafe { context_of(cx.cast_mut()) }.id()
    })
}

/// Wakes the polled task once, after `delay_ns` (never earlier): return TASKS_POLL_PENDING
/// after calling it. A second call in the same task replaces a timer that has not fired yet.
/// Aborting the task releases its timer. Returns TASKS_ERR_NULL if `cx` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_context_sleep(
    cx: *mut tasks_context,
    delay_ns: u64,
) -> tasks_status {
    boundary(|| {
        null_check!(tasks_status::TASKS_ERR_NULL; cx);
        // SAFETY: a context during its poll.
        let cx = unsafe { context_of(cx) };
        let deadline = crate::ffi::deadline_after(delay_ns).unwrap_or_else(|| {
            std::time::Instant::now() + std::time::Duration::from_secs(u32::MAX as u64)
        });
        sleep::sleep_until(cx.task, deadline);
        tasks_status::TASKS_OK
    })
}

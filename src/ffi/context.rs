//! `tasks_context`: what a poll-style task can do with its context.

use super::body::{context_of, tasks_context};
use super::waker::{boxed, tasks_waker};
use super::{boundary, null_check};

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

//! `tasks_context`: what a poll-style task can do with its context.

use std::time::{Duration, Instant};

use super::body::tasks_context;
use super::cast;
use super::waker::{give_waker, tasks_waker};
use super::{Required, boundary, checked, deadline_after, tasks_status};

/// A new waker for the task being polled; waking it (from any thread, before, during or after
/// the poll) makes the task run again. Free it with tasks_waker_free or consume it with
/// tasks_waker_wake. NULL if `cx` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_context_waker(cx: *mut tasks_context) -> *mut tasks_waker {
    // SAFETY: NULL or a context during its poll.
    boundary(|| {
        unsafe { cast::try_ref(cx) }.map_or(std::ptr::null_mut(), |cx| give_waker(cx.waker()))
    })
}

/// The id of the task being polled. 0 if `cx` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_context_id(cx: *const tasks_context) -> u64 {
    // SAFETY: NULL or a context during its poll.
    boundary(|| unsafe { cast::try_ref(cx) }.map_or(0, |cx| cx.id()))
}

/// Wakes the polled task once, after `delay_ns` (never earlier): return TASKS_POLL_PENDING
/// after calling it. A second call in the same task replaces a timer that has not fired yet.
/// Aborting the task releases its timer. Returns TASKS_ERR_NULL if `cx` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_context_sleep(
    cx: *mut tasks_context,
    delay_ns: u64,
) -> tasks_status {
    checked(|| {
        // SAFETY: NULL or a context during its poll.
        let cx = unsafe { cast::try_ref(cx) }.required()?;
        // A delay past what `Instant` holds: as good as forever, without overflowing.
        let deadline = deadline_after(delay_ns)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(u64::from(u32::MAX)));
        cx.sleep_until(deadline);
        Ok(tasks_status::TASKS_OK)
    })
}

//! Running, completing, cancelling and waking tasks: the code paths of rules 2–8 in the
//! module docs. Every function here is called with a reference to the task held by the caller.

use std::ptr::NonNull;

use super::state::{self, AbortResult, AfterPoll, Outcome, PopResult, WakeResult};
use super::{BodyPoll, Context, Header, Notified, ScheduleKind};
use crate::core::context;
use crate::core::sync::Ordering;

/// Runs a popped queue entry (rule 2). Returns whether the task was actually polled.
pub(crate) fn run(entry: Notified) -> bool {
    run_counted(entry, || {})
}

/// [`run`], calling `before_poll` right before the body is polled: a poll counter bumped there
/// already includes the poll when a joiner sees the task complete.
pub(crate) fn run_counted(entry: Notified, before_poll: impl FnOnce()) -> bool {
    let h = entry.into_raw();
    // SAFETY: the entry owned a reference, which we now hold.
    let header = unsafe { h.as_ref() };
    match header.state.transition_from_queue() {
        PopResult::Run => {
            let polled = run_claimed(h, before_poll);
            // SAFETY: the entry's reference.
            unsafe { Header::drop_ref(h) };
            polled
        }
        PopResult::Stale { release, dealloc } => {
            stale_entry(h, release, dealloc);
            false
        }
    }
}

/// An entry that will never run (teardown): a pop whose claim, if it gets one, cancels.
pub(crate) fn discard_entry(h: NonNull<Header>) {
    // SAFETY: the entry owned a reference, which we now hold.
    let header = unsafe { h.as_ref() };
    match header.state.transition_from_queue() {
        PopResult::Run => {
            finish(h, Outcome::Cancelled, std::ptr::null_mut());
            // SAFETY: the entry's reference.
            unsafe { Header::drop_ref(h) };
        }
        PopResult::Stale { release, dealloc } => stale_entry(h, release, dealloc),
    }
}

fn stale_entry(h: NonNull<Header>, release: bool, dealloc: bool) {
    // The transition already dropped the entry's reference; when `release` is set the owner
    // list still holds one, so the block is alive until we drop that.
    if release {
        // SAFETY: the task is in its owner's list, so the scheduler is alive (rule 8).
        let header = unsafe { h.as_ref() };
        unsafe { (header.scheduler.as_ref().vtable.release)(header.scheduler, header) };
        // SAFETY: the owner list's reference, handed to us by the release.
        unsafe { Header::drop_ref(h) };
    } else if dealloc {
        // SAFETY: that was the last reference.
        unsafe { Header::dealloc(h) };
    }
}

/// Joiner on a worker of the task's runtime: runs the task on this thread if nobody has
/// started it (rule 3). Returns whether it ran.
pub(crate) fn try_run_inline(h: NonNull<Header>, before_poll: impl FnOnce()) -> bool {
    // SAFETY: the caller holds a reference.
    if unsafe { h.as_ref() }.state.try_claim() {
        run_claimed(h, before_poll)
    } else {
        false
    }
}

/// Polls a task whose RUNNING flag the caller holds, and applies the result. Returns false if
/// it cancelled the task instead (an abort requested while it was queued).
pub(crate) fn run_claimed(h: NonNull<Header>, before_poll: impl FnOnce()) -> bool {
    // SAFETY: the caller holds a reference.
    let header = unsafe { h.as_ref() };
    if header.state.load().has(state::CANCEL_REQUESTED) {
        // A thread-bound task aborted from another thread: cancelled here, unpolled.
        finish(h, Outcome::Cancelled, std::ptr::null_mut());
        return false;
    }
    let mut output: *mut () = std::ptr::null_mut();
    before_poll();
    // The task stays current through its completion below (its drop functions run with it
    // current): one guard instead of two on the hot path.
    let _current = context::enter_task(h);
    let result = {
        let mut cx = Context {
            task: h,
            _running: std::marker::PhantomData,
        };
        // SAFETY: we hold RUNNING: exclusive access to the body.
        unsafe { (header.vtable.poll)(h, &mut cx, &mut output) }
    };
    match result {
        BodyPoll::Ready => finish_current(h, Outcome::Ok, output),
        BodyPoll::Failed => finish_current(h, Outcome::Failed, output),
        BodyPoll::Pending | BodyPoll::Yield => {
            match header
                .state
                .transition_after_poll(result == BodyPoll::Yield)
            {
                AfterPoll::Idle | AfterPoll::AlreadyQueued => {}
                AfterPoll::Reschedule => {
                    // SAFETY: the transition added the entry's reference and set SCHEDULED.
                    let entry = unsafe { Notified::from_raw(h) };
                    schedule(header, entry, ScheduleKind::Yield);
                }
                AfterPoll::Cancel => finish_current(h, Outcome::Cancelled, std::ptr::null_mut()),
            }
        }
    }
    true
}

/// Submits an entry to the task's scheduler. The task is SCHEDULED, hence in its owner's
/// list, hence its scheduler is alive (rule 8).
fn schedule(header: &Header, entry: Notified, kind: ScheduleKind) {
    // SAFETY: see above.
    unsafe { (header.scheduler.as_ref().vtable.schedule)(header.scheduler, entry, kind) }
}

/// Completes a task whose RUNNING flag the caller holds (rule 7). The caller also holds a
/// reference, which it keeps.
pub(crate) fn finish(h: NonNull<Header>, outcome: Outcome, output: *mut ()) {
    // The user's drop functions see this task as current, not whichever task aborted it.
    let _current = context::enter_task(h);
    finish_current(h, outcome, output);
}

/// [`finish`] on a thread whose current task is already `h` (it was just polled here).
fn finish_current(h: NonNull<Header>, outcome: Outcome, output: *mut ()) {
    // SAFETY: the caller holds a reference.
    let header = unsafe { h.as_ref() };
    if outcome != Outcome::Cancelled {
        header.output.store(output, Ordering::Release);
    }
    // From here the body is being destroyed: the task has no name any more.
    context::body_gone();
    // SAFETY: we hold RUNNING, and a task completes once: the body is dropped once.
    unsafe { (header.vtable.drop_body)(h) };
    super::locals::destroy_all(h);
    // Before COMPLETE (and so before any release): the scheduler is certainly alive.
    super::sleep::cancel(h);
    // SAFETY: the task is listed, so the scheduler is alive.
    unsafe { (header.scheduler.as_ref().vtable.completed)(header.scheduler, header, outcome) };
    let prev = header.state.transition_to_complete(outcome);
    let release = !prev.has(state::SCHEDULED);
    if release {
        // SAFETY: the task is still in its owner's list (we have not released it), so the
        // scheduler is alive. After this call we do not touch the scheduler again.
        unsafe { (header.scheduler.as_ref().vtable.release)(header.scheduler, header) };
    }
    if !prev.has(state::JOIN_INTEREST) {
        Header::drop_output(h);
    } else if prev.has(state::JOIN_WAKER) {
        // Rule 9: the slot is ours to read until we clear JOIN_WAKER.
        // JOIN_WAKER set means the join side allocated the extension and filled the slot.
        let slot = &header.ext().join_waker;
        slot.with(|w| {
            // SAFETY: JOIN_WAKER set: the join side does not write the slot.
            if let Some(w) = unsafe { &*w } {
                w.wake_by_ref();
            }
        });
        let after = header.state.unset_join_waker_after_complete();
        if !after.has(state::JOIN_INTEREST) {
            // SAFETY: the handle is gone and COMPLETE is set: nobody else touches the slot.
            slot.with_mut(|w| drop(unsafe { (*w).take() }));
        }
    }
    if prev.has(state::JOIN_PARKED) {
        super::waiters::unpark_all(header);
    }
    if release {
        // SAFETY: the owner list's reference (the caller still holds its own).
        unsafe { Header::drop_ref(h) };
    }
}

/// Abort (rule 6). The caller holds a reference.
pub(crate) fn abort(h: NonNull<Header>) {
    // SAFETY: the caller holds a reference.
    match unsafe { h.as_ref() }.state.transition_to_abort() {
        AbortResult::Nothing | AbortResult::Requested => {}
        AbortResult::Claimed => finish(h, Outcome::Cancelled, std::ptr::null_mut()),
        AbortResult::ScheduleCancel => {
            // SAFETY: the transition added the entry's reference and set SCHEDULED.
            let entry = unsafe { Notified::from_raw(h) };
            // SAFETY: the caller holds a reference.
            schedule(unsafe { h.as_ref() }, entry, ScheduleKind::Yield);
        }
    }
}

/// The owning thread of a thread-bound task cancels it now, if nobody runs it (teardown).
pub(crate) fn cancel_now(h: NonNull<Header>) {
    // SAFETY: the caller holds a reference.
    if unsafe { h.as_ref() }.state.claim_for_cancel() {
        finish(h, Outcome::Cancelled, std::ptr::null_mut());
    }
}

/// Wake keeping the caller's reference (rule 5).
pub(crate) fn wake_by_ref(h: NonNull<Header>) {
    // SAFETY: the caller holds a reference.
    let header = unsafe { h.as_ref() };
    if header.state.transition_to_notified_by_ref() == WakeResult::Submit {
        // SAFETY: the transition added the entry's reference and set SCHEDULED.
        let entry = unsafe { Notified::from_raw(h) };
        schedule(header, entry, ScheduleKind::Wake);
    }
}

/// Wake consuming the caller's reference (rule 5).
pub(crate) fn wake_by_val(h: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the block alive until the transition.
    let header = unsafe { h.as_ref() };
    match header.state.transition_to_notified_by_val() {
        (WakeResult::Submit, _) => {
            // SAFETY: our reference moved to the entry, SCHEDULED is set.
            let entry = unsafe { Notified::from_raw(h) };
            schedule(header, entry, ScheduleKind::Wake);
        }
        (WakeResult::Nothing, true) => {
            // SAFETY: ours was the last reference.
            unsafe { Header::dealloc(h) }
        }
        (WakeResult::Nothing, false) => {}
    }
}

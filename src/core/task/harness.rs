//! Running, completing, cancelling and waking tasks: the code paths of rules 2–8 in the
//! module docs, as methods of `RawTask`. Every method is called with a reference to the task
//! held by the caller (the `RawTask` contract).

use std::ptr::null_mut;

use super::current::{self, TaskGuard};
use super::handle::Notified;
use super::raw::RawTask;
use super::state::{self, AbortResult, AfterPoll, Outcome, PopResult, WakeResult};
use super::{BodyPoll, Context, ScheduleKind};

impl RawTask {
    /// Runs a popped queue entry (rule 2), whose reference the caller gave up to this call.
    /// Returns whether the task was actually polled.
    pub(super) fn run_entry(self, before_poll: impl FnOnce()) -> bool {
        match self.header().state.transition_from_queue() {
            PopResult::Run => {
                let polled = self.run_claimed(before_poll);
                // SAFETY: the entry's reference.
                unsafe { self.drop_ref() };
                polled
            }
            PopResult::Stale { release, dealloc } => {
                self.stale_entry(release, dealloc);
                false
            }
        }
    }

    /// An entry that will never run (teardown), whose reference the caller gave up: a pop
    /// whose claim, if it gets one, cancels.
    pub(super) fn discard_entry(self) {
        match self.header().state.transition_from_queue() {
            PopResult::Run => {
                self.finish(Outcome::Cancelled, null_mut());
                // SAFETY: the entry's reference.
                unsafe { self.drop_ref() };
            }
            PopResult::Stale { release, dealloc } => self.stale_entry(release, dealloc),
        }
    }

    fn stale_entry(self, release: bool, dealloc: bool) {
        // The transition already dropped the entry's reference; when `release` is set the owner
        // list still holds one, so the block is alive until we drop that.
        if release {
            // SAFETY: the task is in its owner's list, so the scheduler is alive (rule 8).
            unsafe { (self.header().vtable.release)(self) };
            // SAFETY: the owner list's reference, handed to us by the release.
            unsafe { self.drop_ref() };
        } else if dealloc {
            // SAFETY: that was the last reference.
            unsafe { self.dealloc() };
        }
    }

    /// Joiner on a worker of the task's runtime: runs the task on this thread if nobody has
    /// started it (rule 3). Returns whether it ran.
    pub(super) fn try_run_inline(self, before_poll: impl FnOnce()) -> bool {
        self.header().state.try_claim() && self.run_claimed(before_poll)
    }

    /// Polls a task whose RUNNING flag the caller holds, and applies the result. Returns false if
    /// it cancelled the task instead (an abort requested while it was queued).
    fn run_claimed(self, before_poll: impl FnOnce()) -> bool {
        let header = self.header();
        if header.state.load().has(state::CANCEL_REQUESTED) {
            // A thread-bound task aborted from another thread: cancelled here, unpolled.
            self.finish(Outcome::Cancelled, null_mut());
            return false;
        }
        let mut output = null_mut();
        before_poll();
        // The task stays current through its completion below (its drop functions run with it
        // current): one guard instead of two on the hot path.
        let current = current::enter_task(self);
        let result = {
            let mut cx = Context {
                task: self,
                _running: std::marker::PhantomData,
            };
            // SAFETY: we hold RUNNING: exclusive access to the body.
            unsafe { (header.vtable.poll)(self, &mut cx, &mut output) }
        };
        match result {
            BodyPoll::Ready => self.finish_current(&current, Outcome::Ok, output),
            BodyPoll::Failed => self.finish_current(&current, Outcome::Failed, output),
            BodyPoll::Pending | BodyPoll::Yield => {
                match header
                    .state
                    .transition_after_poll(result == BodyPoll::Yield)
                {
                    AfterPoll::Idle | AfterPoll::AlreadyQueued => {}
                    AfterPoll::Reschedule => self.schedule_new_entry(ScheduleKind::Yield),
                    AfterPoll::Cancel => {
                        self.finish_current(&current, Outcome::Cancelled, null_mut())
                    }
                }
            }
        }
        true
    }

    /// Submits a new entry to the task's scheduler. The caller's transition set SCHEDULED and
    /// added the entry's reference; the task is SCHEDULED, hence in its owner's list, hence its
    /// scheduler is alive (rule 8).
    fn schedule_new_entry(self, kind: ScheduleKind) {
        // SAFETY: see above: the entry owns the reference the transition added.
        let entry = unsafe { Notified::from_raw(self.ptr()) };
        // SAFETY: the task is listed.
        unsafe { (self.header().vtable.schedule)(self, entry, kind) }
    }

    /// Completes a task whose RUNNING flag the caller holds (rule 7). The caller also holds a
    /// reference, which it keeps.
    fn finish(self, outcome: Outcome, output: *mut ()) {
        // The user's drop functions see this task as current, not whichever task aborted it.
        let current = current::enter_task(self);
        self.finish_current(&current, outcome, output);
    }

    /// [`finish`](Self::finish) on a thread whose current task is already this one (it was just
    /// polled here).
    fn finish_current(self, current: &TaskGuard, outcome: Outcome, output: *mut ()) {
        let header = self.header();
        if outcome != Outcome::Cancelled {
            header
                .output
                .store(output, crate::core::sync::Ordering::Release);
        }
        // From here the body is being destroyed: the task has no name any more.
        current.body_gone();
        // SAFETY: we hold RUNNING, and a task completes once: the body is dropped once.
        unsafe { (header.vtable.drop_body)(self) };
        self.destroy_locals();
        // Before COMPLETE (and so before any release): the scheduler is certainly alive.
        self.cancel_timer();
        // SAFETY: the task is listed, so the scheduler is alive.
        unsafe { (header.vtable.completed)(self, outcome) };
        let prev = header.state.transition_to_complete(outcome);
        let release = !prev.has(state::SCHEDULED);
        if release {
            // SAFETY: the task is still in its owner's list (we have not released it), so the
            // scheduler is alive. After this call we do not touch the scheduler again.
            unsafe { (header.vtable.release)(self) };
        }
        if !prev.has(state::JOIN_INTEREST) {
            self.drop_output();
        } else if prev.has(state::JOIN_WAKER) {
            self.wake_join_waker();
        }
        if prev.has(state::JOIN_PARKED) {
            super::waiters::unpark_all(header);
        }
        if release {
            // SAFETY: the owner list's reference (the caller still holds its own).
            unsafe { self.drop_ref() };
        }
    }

    /// Abort (rule 6).
    pub(super) fn abort(self) {
        match self.header().state.transition_to_abort() {
            AbortResult::Nothing | AbortResult::Requested => {}
            AbortResult::Claimed => self.finish(Outcome::Cancelled, null_mut()),
            AbortResult::ScheduleCancel => self.schedule_new_entry(ScheduleKind::Yield),
        }
    }

    /// The owning thread of a thread-bound task cancels it now, if nobody runs it (teardown).
    pub(super) fn cancel_now(self) {
        if self.header().state.claim_for_cancel() {
            self.finish(Outcome::Cancelled, null_mut());
        }
    }

    /// Wake keeping the caller's reference (rule 5).
    pub(super) fn wake_by_ref(self) {
        if self.header().state.transition_to_notified_by_ref() == WakeResult::Submit {
            self.schedule_new_entry(ScheduleKind::Wake);
        }
    }

    /// Wake consuming the caller's reference (rule 5).
    pub(super) fn wake_by_val(self) {
        match self.header().state.transition_to_notified_by_val() {
            // Our reference moved to the entry, SCHEDULED is set.
            (WakeResult::Submit, _) => self.schedule_new_entry(ScheduleKind::Wake),
            // SAFETY: ours was the last reference.
            (WakeResult::Nothing, true) => unsafe { self.dealloc() },
            (WakeResult::Nothing, false) => {}
        }
    }

    /// Takes the output (once) and drops it with the body's drop_output.
    pub(super) fn drop_output(self) {
        let out = self.header().take_output();
        if !out.is_null() {
            // An output belongs to no running task: the user's drop_output sees none.
            let _current = current::enter_no_task();
            // SAFETY: the dropper lives as long as the block.
            unsafe { (self.header().vtable.drop_output)(self, out) }
        }
    }
}

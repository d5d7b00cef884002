//! The join side of a task: the outcome, polling for it with a waker (rule 9), and giving up
//! the join interest (rule 11). Blocking joins park through `waiters` (rule 10).

use std::task::Waker;

use super::raw::RawTask;
use super::state::{self, Outcome};

impl RawTask {
    /// The outcome, if the task is complete.
    pub(super) fn outcome(self) -> Option<Outcome> {
        self.header().state.load().outcome()
    }

    /// Poll-style join: the outcome if complete, else registers `waker` (replacing an earlier
    /// one) so that it is woken exactly when the task completes, and returns None.
    pub(super) fn poll_join(self, waker: &Waker) -> Option<Outcome> {
        if let Some(o) = self.outcome() {
            return Some(o);
        }
        let header = self.header();
        if !header.state.begin_register_join_waker() {
            return self.outcome();
        }
        // We hold REGISTERING and JOIN_WAKER is clear: the slot is ours.
        header.ext().join_waker.with_mut(|slot| {
            // SAFETY: rule 9, the join side owns the slot now.
            let slot = unsafe { &mut *slot };
            match slot {
                Some(existing) if existing.will_wake(waker) => {}
                _ => *slot = Some(waker.clone()),
            }
        });
        if header.state.finish_register_join_waker() {
            None
        } else {
            self.outcome()
        }
    }

    /// The completer's side of rule 9: JOIN_WAKER was set before COMPLETE, so the slot is ours
    /// to read until we clear JOIN_WAKER.
    pub(super) fn wake_join_waker(self) {
        let header = self.header();
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

    /// Gives up the join interest (rule 11); the caller then drops the handle's reference.
    pub(super) fn drop_join_interest(self) {
        let header = self.header();
        let (prev, next) = header.state.transition_join_handle_dropped();
        if !next.has(state::JOIN_WAKER)
            && let Some(ext) = header.ext_if_present()
        {
            // SAFETY: rule 9: JOIN_WAKER is clear, the join side owns the slot.
            ext.join_waker.with_mut(|w| drop(unsafe { (*w).take() }));
        }
        if prev.has(state::COMPLETE) {
            self.drop_output();
        }
    }
}

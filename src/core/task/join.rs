//! The join side of a task: polling for the outcome with a waker (rule 9), waiting by parking
//! (rule 10), and dropping the handle (rule 11).

use std::task::Waker;

use super::Header;
use super::state::{self, Outcome};

/// The outcome, if the task is complete.
pub(crate) fn outcome(header: &Header) -> Option<Outcome> {
    header.state.load().outcome()
}

/// Poll-style join: the outcome if complete, else registers `waker` (replacing an earlier
/// one) so that it is woken exactly when the task completes, and returns None.
pub(crate) fn poll(header: &Header, waker: &Waker) -> Option<Outcome> {
    if let Some(o) = outcome(header) {
        return Some(o);
    }
    if !header.state.begin_register_join_waker() {
        return outcome(header);
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
        outcome(header)
    }
}

/// Drops the join handle's interest and reference (rule 11).
pub(crate) fn drop_handle(h: std::ptr::NonNull<Header>) {
    // SAFETY: the handle's reference keeps the task alive until the end of this function.
    let header = unsafe { h.as_ref() };
    let (prev, next) = header.state.transition_join_handle_dropped();
    if !next.has(state::JOIN_WAKER) {
        // SAFETY: rule 9: JOIN_WAKER is clear, the join side owns the slot.
        if let Some(ext) = header.ext_if_present() {
            ext.join_waker.with_mut(|w| drop(unsafe { (*w).take() }));
        }
    }
    if prev.has(state::COMPLETE) {
        Header::drop_output(h);
    }
    // SAFETY: the handle's reference.
    unsafe { Header::drop_ref(h) };
}

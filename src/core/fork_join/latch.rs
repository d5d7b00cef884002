//! The two waiting primitives of fork-join: [`Latch`] (one word: set once, wakes one waiter)
//! and [`CountLatch`] (a counter of pending pieces of work plus a latch set when it reaches
//! zero). Both live on the waiter's stack; the rules below are what make that safe.
//!
//! # Latch
//! The word is `UNSET`, `SET`, or a pointer to the waiter's parker (an `Arc<Parker>` turned
//! into a raw pointer: the word *owns* that reference while it holds it).
//! - The waiter **arms** by a CAS `UNSET -> parker` (fails once `SET`: do not park), parks,
//!   then **disarms** by a CAS `parker -> UNSET` that gives the reference back (fails if the
//!   setter took it). Only the waiter writes a parker, so arm and disarm alternate.
//! - The setter **sets** by one swap to `SET` (AcqRel). If the word held a parker, the swap
//!   moved that reference to the setter, which unparks it and drops it: the parker is the
//!   setter's own `Arc`, so it stays alive whatever the waiter does next.
//! - **After the swap the setter touches the latch no more**: the waiter may see `SET`
//!   (Acquire: everything the setter wrote before is visible) and return, freeing the frame
//!   the latch lives in. That is why `set` takes a raw pointer (a `&Latch` argument would have
//!   to stay valid for the whole call).
//!
//! # CountLatch
//! `pending` counts the pieces still running, plus one for the waiter's own part (the scope
//! body). A new piece is counted (`inc`) only by code that itself holds a count (the body, or a
//! piece), so the counter never climbs back from zero. The decrement that reaches zero sets the
//! latch; its `fetch_sub` is AcqRel, so the decrements form one release sequence and the
//! waiter, acquiring the latch, sees every piece's writes (its drop functions included).
//! Non-final decrements touch nothing after their `fetch_sub`.

use std::sync::Arc as StdArc;
#[cfg(any(loom, test))]
use std::time::Instant;

use crate::core::park::Parker;
use crate::core::sync::{AtomicUsize, Ordering};

const UNSET: usize = 0;
const SET: usize = 1;

/// A one-shot event with one waiter (see module docs).
pub(crate) struct Latch {
    state: AtomicUsize,
}

impl Latch {
    pub(crate) fn new() -> Latch {
        Latch {
            state: AtomicUsize::new(UNSET),
        }
    }

    /// Whether the latch is set. Acquire: the setter's writes before `set` are visible.
    #[inline]
    pub(crate) fn probe(&self) -> bool {
        self.state.load(Ordering::Acquire) == SET
    }

    /// Sets the latch and wakes the armed waiter, if any.
    ///
    /// # Safety
    /// `this` points to a live latch; it may be freed as soon as the swap below is done (the
    /// waiter returns), so nothing after it reads `*this`.
    #[inline]
    pub(crate) unsafe fn set(this: *const Latch) {
        // SAFETY: live until this swap completes (see above).
        let prev = unsafe { (*this).state.swap(SET, Ordering::AcqRel) };
        if prev > SET {
            // SAFETY: the word owned this reference (put there by `arm`); the swap moved it
            // to us.
            let parker = unsafe { StdArc::from_raw(prev as *const Parker) };
            parker.unpark();
        }
    }

    /// Registers `parker` to be unparked by `set`. Returns false if the latch is already set
    /// (then do not park). Called by the single waiter only, between disarms.
    pub(crate) fn arm(&self, parker: &StdArc<Parker>) -> bool {
        let raw = StdArc::into_raw(StdArc::clone(parker)) as usize;
        debug_assert!(raw > SET);
        match self
            .state
            .compare_exchange(UNSET, raw, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(_) => {
                // SAFETY: never published.
                drop(unsafe { StdArc::from_raw(raw as *const Parker) });
                false
            }
        }
    }

    /// Undoes `arm` (after the park returned). If the setter already took the parker, nothing.
    pub(crate) fn disarm(&self) {
        let cur = self.state.load(Ordering::Acquire);
        if cur > SET
            && self
                .state
                .compare_exchange(cur, UNSET, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            // SAFETY: the word owned it; the CAS gave it back to us.
            drop(unsafe { StdArc::from_raw(cur as *const Parker) });
        }
    }

    /// Waits on `parker` (a thread that is not helping: off-worker, or coreless) until the
    /// latch is set or `deadline` passes. Returns whether it is set.
    #[cfg(any(loom, test))]
    pub(crate) fn wait_parked(&self, parker: &StdArc<Parker>, deadline: Option<Instant>) -> bool {
        loop {
            if self.probe() {
                return true;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            if self.arm(parker) {
                parker.park(deadline);
                self.disarm();
            }
        }
    }
}

impl Drop for Latch {
    fn drop(&mut self) {
        // Every wait disarms before it returns, and a set takes the parker: a latch dropped
        // while holding one would be a bug (the reference would leak, not dangle).
        debug_assert!(self.state.load(Ordering::Relaxed) <= SET);
    }
}

/// Pending pieces of work plus a latch set when they reach zero (see module docs).
pub(crate) struct CountLatch {
    pending: AtomicUsize,
    latch: Latch,
}

impl CountLatch {
    /// Starts with one count: the waiter's own.
    pub(crate) fn new() -> CountLatch {
        CountLatch {
            pending: AtomicUsize::new(1),
            latch: Latch::new(),
        }
    }

    /// Counts a new piece. The caller holds a count (so the counter is not zero).
    #[inline]
    pub(crate) fn inc(&self) {
        let prev = self.pending.fetch_add(1, Ordering::Relaxed);
        debug_assert!(prev > 0);
    }

    /// Ends one count; the last one sets the latch.
    ///
    /// # Safety
    /// `this` is live and the caller holds a count. After a non-final decrement the latch may
    /// be freed at any time, so nothing after the `fetch_sub` reads `*this` unless it was the
    /// last (then only the latch's swap does).
    #[inline]
    pub(crate) unsafe fn dec(this: *const CountLatch) {
        // SAFETY: our count keeps the waiter (and so the latch) alive until this RMW.
        if unsafe { (*this).pending.fetch_sub(1, Ordering::AcqRel) } == 1 {
            // SAFETY: nobody else holds a count, so the waiter is still waiting for this set.
            unsafe { Latch::set(&raw const (*this).latch) }
        }
    }

    /// The latch set by the last decrement (wait on it).
    pub(crate) fn latch(&self) -> &Latch {
        &self.latch
    }
}

//! Which workers sleep, and waking one when work appears.
//!
//! One atomic word counts searching workers (looking for work to steal) and sleeping ones;
//! the list of sleepers is under a mutex that is only taken on the slow paths (going to sleep,
//! waking a sleeper). Rules that prevent lost wake-ups (tokio #1768):
//! - A producer pushes its task, then (SeqCst fence) reads the word: if a worker is searching,
//!   that worker will see the task; else if one sleeps, it wakes one and counts it as searching.
//! - A worker going to sleep adds itself to the list and updates the word in one locked step
//!   (SeqCst RMW), then (fence) re-checks every queue before parking. Either the producer's
//!   read sees the sleeper, or the sleeper's re-check sees the task.
//! - A searching worker that finds work stops searching; if it was the last searcher it wakes
//!   another sleeper, so a burst of work spreads over the idle workers one at a time.
//! - A worker's role (its own `searching` cell) is restored on every exit from every wait: a
//!   worker woken from [`Idle::sleep_as_idle`] may come back counted as searching, and it must
//!   [`Idle::leave_search`] before it does anything but look for work (in particular before a
//!   join returns to the user's task), or producers would count on it to find their work.
//!
//! The worker loop (`worker.rs`) uses only the role functions below; the loom models in
//! `core::tests::loom_worker` drive the same functions in the same order.

use std::cell::Cell;

use crate::core::sync::{AtomicUsize, Mutex, Ordering, fence};

const SEARCH_ONE: usize = 1;
const SLEEP_ONE: usize = 1 << 16;
const SEARCH_MASK: usize = SLEEP_ONE - 1;

pub(crate) struct Idle {
    state: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
    workers: usize,
}

impl Idle {
    pub(crate) fn new(workers: usize) -> Idle {
        Idle {
            state: AtomicUsize::new(0),
            sleepers: Mutex::new(Vec::with_capacity(workers)),
            workers,
        }
    }

    /// Called by a producer after making work visible. Returns the worker to unpark, if any.
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        fence(Ordering::SeqCst);
        self.worker_to_notify_after_seqcst()
    }

    /// [`worker_to_notify`](Self::worker_to_notify) for a producer whose push was itself a
    /// SeqCst read-modify-write (the LIFO slot's swap): that RMW orders the push before the
    /// load below as the fence would, for sleepers that re-check with SeqCst loads.
    pub(crate) fn worker_to_notify_after_seqcst(&self) -> Option<usize> {
        let s = self.state.load(Ordering::SeqCst);
        if s & SEARCH_MASK != 0 || s < SLEEP_ONE {
            return None;
        }
        let mut sleepers = self.sleepers.lock();
        let s = self.state.load(Ordering::SeqCst);
        if s & SEARCH_MASK != 0 {
            return None;
        }
        let idx = sleepers.pop()?;
        // The woken worker starts out searching.
        self.state
            .fetch_add(SEARCH_ONE.wrapping_sub(SLEEP_ONE), Ordering::SeqCst);
        Some(idx)
    }

    /// A producer that has just pushed work to a queue that sleepers re-check (a fork-join job
    /// push): whether a worker needs waking, i.e. some worker sleeps and none searches (the only
    /// case in which `worker_to_notify` wakes anyone). The fence orders the push before the
    /// load, against a sleeper's SeqCst announcement and re-check (without it both could miss
    /// each other: loom `loom_job_push_wakes_idle_worker`).
    #[inline]
    pub(crate) fn needs_notify_after_push(&self) -> bool {
        fence(Ordering::SeqCst);
        let s = self.state.load(Ordering::Relaxed);
        s & SEARCH_MASK == 0 && s >= SLEEP_ONE
    }

    /// A worker with nothing to do asks to search; at most half the workers search at once.
    fn try_start_searching(&self) -> bool {
        let s = self.state.load(Ordering::SeqCst);
        if 2 * (s & SEARCH_MASK) >= self.workers.max(2) {
            return false;
        }
        self.state.fetch_add(SEARCH_ONE, Ordering::SeqCst);
        true
    }

    /// A searching worker found work. Returns true if it was the last searcher (then the caller
    /// notifies another worker, since more work may be waiting).
    fn stop_searching(&self) -> bool {
        let prev = self.state.fetch_sub(SEARCH_ONE, Ordering::SeqCst);
        debug_assert!(prev & SEARCH_MASK >= 1);
        prev & SEARCH_MASK == 1
    }

    /// Makes the caller (whose role is `searching`) a searcher if it is not one already and
    /// fewer than half the workers search. Returns whether it is now searching.
    pub(crate) fn enter_search(&self, searching: &Cell<bool>) -> bool {
        if searching.get() {
            return true;
        }
        if !self.try_start_searching() {
            return false;
        }
        searching.set(true);
        true
    }

    /// Leaves the searching set if the caller is in it. Returns true if the caller was the last
    /// searcher: it must then notify another worker (more work may be waiting).
    pub(crate) fn leave_search(&self, searching: &Cell<bool>) -> bool {
        searching.replace(false) && self.stop_searching()
    }

    /// Sleeps as idle worker `idx`: registers as a sleeper (leaving the searching set), runs
    /// `recheck` (true: work appeared, do not park), else `park`. On return `searching` says
    /// whether a producer took this worker off the list as a searcher.
    pub(crate) fn sleep_as_idle(
        &self,
        idx: usize,
        searching: &Cell<bool>,
        recheck: impl FnOnce() -> bool,
        park: impl FnOnce(),
    ) {
        self.begin_sleep(idx, searching.replace(false));
        if !recheck() {
            park();
        }
        if !self.cancel_sleep(idx) {
            searching.set(true);
        }
    }

    /// Registers `idx` as a sleeper (leaving the searching set if `searching`). The caller must
    /// re-check all queues after this, then park or call [`cancel_sleep`](Self::cancel_sleep).
    fn begin_sleep(&self, idx: usize, searching: bool) {
        let mut sleepers = self.sleepers.lock();
        sleepers.push(idx);
        let delta = if searching {
            SLEEP_ONE - SEARCH_ONE
        } else {
            SLEEP_ONE
        };
        self.state.fetch_add(delta, Ordering::SeqCst);
        drop(sleepers);
        fence(Ordering::SeqCst);
    }

    /// Leaves the sleeper list. Returns false if a producer already took the worker off it (it
    /// was then counted as searching, and the caller must behave as a searcher).
    fn cancel_sleep(&self, idx: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        match sleepers.iter().position(|&i| i == idx) {
            Some(pos) => {
                sleepers.swap_remove(pos);
                self.state.fetch_sub(SLEEP_ONE, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }
}

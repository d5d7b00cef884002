//! Timers: an ordered map from (deadline, sequence number) to what to do at the deadline (wake
//! a waker, or start a task spawned with a delay). No thread per timer and no polling: workers
//! fire what is due when they look for work (every few ticks) and before they sleep, and one
//! sleeping worker at a time — the timer owner — sleeps only until the earliest deadline.
//!
//! Cancelling is removing the entry, so a cancelled or aborted sleeper releases its entry (and
//! the task reference in it) at once. Keys are unique (the sequence number), so a stale key
//! removes nothing.
//!
//! Lost-wakeup rule between a new earliest timer and the owner going to sleep: the inserter
//! lowers `next` and then reads `owner`; a worker becoming owner sets `owner` and then reads
//! `next` (both SeqCst). Either the inserter sees the owner (and unparks it) or the owner sees
//! the new deadline.
//!
//! Shutdown rule: `drain` closes the driver under the entries lock; an insert after that is
//! refused and its target handed back to the caller to drop (a delayed task's start entry is
//! then discarded at once: the task, already cancelled by the shutdown, is released instead of
//! waiting for a deadline no worker will fire).

use std::collections::BTreeMap;
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::core::sync::{AtomicU64, AtomicUsize, Mutex, Ordering};
use crate::core::task::Notified;

/// Identifies one pending timer: its deadline and a process-wide sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerKey {
    deadline: Instant,
    seq: u64,
}

impl TimerKey {
    pub(crate) fn new(deadline: Instant) -> TimerKey {
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        TimerKey {
            deadline,
            seq: SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }
}

/// What happens at the deadline.
pub(crate) enum TimerTarget {
    Wake(Waker),
    /// The first queue entry of a task spawned with a delay.
    Start(Notified),
}

#[derive(Default)]
struct Entries {
    map: BTreeMap<TimerKey, TimerTarget>,
    /// Set by `drain` (shutdown): no insert succeeds afterwards.
    closed: bool,
}

const NO_OWNER: usize = usize::MAX;
const NONE: u64 = u64::MAX;

pub(crate) struct TimerDriver {
    entries: Mutex<Entries>,
    /// Earliest deadline, in nanoseconds after `base`; NONE if there is none.
    next: AtomicU64,
    /// The worker sleeping until `next`, if any.
    owner: AtomicUsize,
    base: Instant,
}

/// What an insert asks of the caller.
pub(crate) enum InsertOutcome {
    /// Nothing: a later deadline than one already pending.
    Nothing,
    /// The new earliest deadline: unpark this timer owner so it sleeps less.
    UnparkOwner(usize),
    /// The new earliest deadline and nobody sleeps on timers: wake a worker to become owner.
    WakeAWorker,
    /// The driver is closed (shutdown drained it): the target comes back, for the caller to
    /// drop.
    Refused(TimerTarget),
}

impl TimerDriver {
    pub(crate) fn new() -> TimerDriver {
        TimerDriver {
            entries: Mutex::new(Entries::default()),
            next: AtomicU64::new(NONE),
            owner: AtomicUsize::new(NO_OWNER),
            base: Instant::now(),
        }
    }

    fn to_nanos(&self, t: Instant) -> u64 {
        let ns = t.saturating_duration_since(self.base).as_nanos();
        u64::try_from(ns).unwrap_or(NONE - 1)
    }

    pub(crate) fn insert(&self, key: TimerKey, target: TimerTarget) -> InsertOutcome {
        let deadline = key.deadline;
        {
            let mut entries = self.entries.lock();
            if entries.closed {
                return InsertOutcome::Refused(target);
            }
            entries.map.insert(key, target);
            let first = *entries.map.keys().next().expect("just inserted");
            if first != key {
                return InsertOutcome::Nothing;
            }
            // Under the lock, so that a concurrent drain or cancel never leaves `next` pointing
            // at an entry that is gone.
            self.next
                .fetch_min(self.to_nanos(deadline), Ordering::SeqCst);
        }
        match self.owner.load(Ordering::SeqCst) {
            NO_OWNER => InsertOutcome::WakeAWorker,
            w => InsertOutcome::UnparkOwner(w),
        }
    }

    /// Removes a pending timer; returns its target (None if it fired or was removed already).
    pub(crate) fn cancel(&self, key: TimerKey) -> Option<TimerTarget> {
        let mut entries = self.entries.lock();
        let target = entries.map.remove(&key)?;
        self.publish_next(&entries);
        Some(target)
    }

    /// Publishes the earliest deadline left (under the entries' lock, so that a concurrent
    /// insert's publish cannot be overwritten by a stale one).
    fn publish_next(&self, entries: &Entries) {
        let next = entries
            .map
            .keys()
            .next()
            .map_or(NONE, |k| self.to_nanos(k.deadline));
        self.next.store(next, Ordering::SeqCst);
    }

    /// Cheap check for the worker loop: is anything due?
    pub(crate) fn is_due(&self, now: Instant) -> bool {
        let next = self.next.load(Ordering::Relaxed);
        next != NONE && self.to_nanos(now) >= next
    }

    pub(crate) fn has_pending(&self) -> bool {
        self.next.load(Ordering::Relaxed) != NONE
    }

    /// Removes everything due at `now` and returns it (to be fired outside any lock); updates
    /// `next`.
    pub(crate) fn take_expired(&self, now: Instant) -> Vec<TimerTarget> {
        let mut entries = self.entries.lock();
        let mut due = Vec::new();
        while let Some(entry) = entries.map.first_entry() {
            if entry.key().deadline > now {
                break;
            }
            due.push(entry.remove());
        }
        self.publish_next(&entries);
        due
    }

    /// The earliest pending deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        match self.next.load(Ordering::SeqCst) {
            NONE => None,
            ns => Some(self.base + Duration::from_nanos(ns)),
        }
    }

    /// A worker about to sleep tries to become the timer owner. Returns the deadline to sleep
    /// until if it is the owner (call `release_owner` after waking).
    pub(crate) fn try_become_owner(&self, worker: usize) -> Option<Instant> {
        self.next_deadline()?;
        if self
            .owner
            .compare_exchange(NO_OWNER, worker, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return None;
        }
        // Re-read after publishing ownership (see the module docs).
        match self.next_deadline() {
            Some(d) => Some(d),
            None => {
                self.release_owner(worker);
                None
            }
        }
    }

    pub(crate) fn release_owner(&self, worker: usize) {
        let _ = self
            .owner
            .compare_exchange(worker, NO_OWNER, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Removes every entry and closes the driver: later inserts are refused (shutdown).
    pub(crate) fn drain(&self) -> Vec<TimerTarget> {
        let mut entries = self.entries.lock();
        entries.closed = true;
        self.next.store(NONE, Ordering::SeqCst);
        std::mem::take(&mut entries.map).into_values().collect()
    }
}

/// Runs fired targets: wakes wakers, submits started tasks through `start`.
pub(crate) fn fire(targets: Vec<TimerTarget>, mut start: impl FnMut(Notified)) {
    for t in targets {
        match t {
            TimerTarget::Wake(w) => w.wake(),
            TimerTarget::Start(n) => {
                n.start_delayed();
                start(n)
            }
        }
    }
}

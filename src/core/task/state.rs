//! The task state word: lifecycle flags, join flags, the outcome, the task kind and the
//! reference count, in one `AtomicU64`. Every transition is a single compare-and-swap (or
//! fetch-op) on this word, so each one is atomic with respect to all the others. The rules for
//! who may do what in each state are in the parent module's docs; this file only encodes them.

use crate::core::sync::{AtomicU64, Ordering};

/// A thread has exclusive access to the task body (function, argument, poll state): a worker
/// running it, a joiner running it inline, or an aborter cancelling it.
pub(crate) const RUNNING: u64 = 1 << 0;
/// The body is finished and dropped; the outcome bits and the output slot are final.
pub(crate) const COMPLETE: u64 = 1 << 1;
/// A queue entry for the task exists (and holds one reference).
pub(crate) const SCHEDULED: u64 = 1 << 2;
/// Woken while RUNNING: whoever runs it reschedules it once when the poll returns.
pub(crate) const NOTIFIED: u64 = 1 << 3;
/// Abort was requested.
pub(crate) const CANCEL_REQUESTED: u64 = 1 << 4;
/// The join handle exists.
pub(crate) const JOIN_INTEREST: u64 = 1 << 5;
/// The join-waker slot holds a waker that the completing thread must wake.
pub(crate) const JOIN_WAKER: u64 = 1 << 6;
/// At least one thread may be parked in the waiter table for this task.
pub(crate) const JOIN_PARKED: u64 = 1 << 7;
/// A join-waker registration is in progress (serialises concurrent registrants).
pub(crate) const REGISTERING: u64 = 1 << 8;
/// Outcome (only meaningful with COMPLETE): failed; cancelled; neither means OK.
pub(crate) const OUT_FAILED: u64 = 1 << 9;
pub(crate) const OUT_CANCELLED: u64 = 1 << 10;
/// Task kind, fixed at creation: poll-style (else run-to-completion).
pub(crate) const KIND_POLL: u64 = 1 << 11;
/// Task kind, fixed at creation: runs on the blocking pool.
pub(crate) const KIND_BLOCKING: u64 = 1 << 12;
/// Task kind, fixed at creation: bound to one thread (local executor); only that thread may
/// run or cancel it, so an abort from elsewhere schedules the cancellation instead of doing it.
pub(crate) const KIND_LOCAL: u64 = 1 << 13;

/// Spawned with a delay and not started yet: its first queue entry waits in a timer, and no
/// joiner may claim it early (a join never runs a task ahead of its start time). Set before the
/// task is published, cleared once when the timer fires.
pub(crate) const DELAYED: u64 = 1 << 14;

pub(crate) const REF_SHIFT: u32 = 16;
pub(crate) const REF_ONE: u64 = 1 << REF_SHIFT;
/// More references than this is a leak (see `ref_inc`); far below the 2^48 the count holds.
const REF_LIMIT: u64 = 1 << 47;
const FLAGS_MASK: u64 = REF_ONE - 1;

/// How a task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    Failed,
    Cancelled,
}

impl Outcome {
    fn bits(self) -> u64 {
        match self {
            Outcome::Ok => 0,
            Outcome::Failed => OUT_FAILED,
            Outcome::Cancelled => OUT_CANCELLED,
        }
    }
}

/// A loaded value of the state word.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(pub(crate) u64);

impl Snapshot {
    #[inline]
    pub(crate) fn has(self, flag: u64) -> bool {
        self.0 & flag != 0
    }
    #[inline]
    pub(crate) fn refs(self) -> u64 {
        self.0 >> REF_SHIFT
    }
    pub(crate) fn outcome(self) -> Option<Outcome> {
        if !self.has(COMPLETE) {
            None
        } else if self.has(OUT_CANCELLED) {
            Some(Outcome::Cancelled)
        } else if self.has(OUT_FAILED) {
            Some(Outcome::Failed)
        } else {
            Some(Outcome::Ok)
        }
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "State(flags={:#x}, refs={})",
            self.0 & FLAGS_MASK,
            self.refs()
        )
    }
}

/// What a worker that popped a queue entry must do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PopResult {
    /// The popper now holds RUNNING and the entry's reference: run the task.
    Run,
    /// The entry was stale (the task is running elsewhere or finished); its reference was
    /// already dropped by the transition. `release`: this pop made the task COMPLETE and
    /// unscheduled, so the popper must release it from its owner. `dealloc`: that was the last
    /// reference.
    Stale { release: bool, dealloc: bool },
}

/// What the runner must do after a poll returned PENDING or YIELD.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AfterPoll {
    /// Not woken: the task is idle until a waker schedules it.
    Idle,
    /// Woken during the poll (or yielded) and no queue entry exists: a reference was added for a
    /// new entry, which the runner must submit.
    Reschedule,
    /// Woken or yielded, but a stale queue entry still exists and will run it.
    AlreadyQueued,
    /// Abort was requested: the runner keeps RUNNING and must cancel the task.
    Cancel,
}

/// What a wake did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WakeResult {
    /// Nothing to submit (finished, running → NOTIFIED, or already queued).
    Nothing,
    /// The task was idle: it is now SCHEDULED and the caller must submit a queue entry, which
    /// owns one reference (added by the transition for wake-by-ref, the waker's own for wake-by-val).
    Submit,
}

/// What an abort request did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AbortResult {
    /// Already complete, or already requested on a running task: nothing to do.
    Nothing,
    /// Running: the request is recorded; the runner acts on it.
    Requested,
    /// The task was not running: the caller now holds RUNNING and must cancel it.
    Claimed,
    /// A thread-bound task that was idle: CANCEL_REQUESTED and SCHEDULED are set and a
    /// reference was added; the caller submits the entry, and the owning thread cancels it.
    ScheduleCancel,
}

pub(crate) struct State(AtomicU64);

impl State {
    /// A new task: `refs` references, SCHEDULED (its first queue entry is one of the refs),
    /// JOIN_INTEREST if a handle is handed out, and its kind bits.
    pub(crate) fn new(kind: u64, join_interest: bool, refs: u64) -> State {
        let mut v = kind | SCHEDULED | (refs * REF_ONE);
        if join_interest {
            v |= JOIN_INTEREST;
        }
        State(AtomicU64::new(v))
    }

    #[inline]
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Ordering::Acquire))
    }

    #[inline]
    fn update<R>(&self, mut f: impl FnMut(Snapshot) -> (Option<u64>, R)) -> (Snapshot, R) {
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            let (next, r) = f(Snapshot(cur));
            let Some(next) = next else {
                return (Snapshot(cur), r);
            };
            match self
                .0
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return (Snapshot(cur), r),
                Err(actual) => cur = actual,
            }
        }
    }

    /// A worker popped a queue entry. Clears SCHEDULED; claims RUNNING unless someone else
    /// holds it or the task is complete, in which case the entry's reference is dropped here.
    pub(crate) fn transition_from_queue(&self) -> PopResult {
        self.update(|s| {
            debug_assert!(
                s.has(SCHEDULED),
                "popped an entry of an unscheduled task: {s:?}"
            );
            let next = s.0 & !SCHEDULED;
            if s.has(RUNNING) || s.has(COMPLETE) {
                debug_assert!(s.refs() >= 1);
                let next = next - REF_ONE;
                let release = s.has(COMPLETE);
                let dealloc = Snapshot(next).refs() == 0;
                (Some(next), PopResult::Stale { release, dealloc })
            } else {
                (Some((next | RUNNING) & !NOTIFIED), PopResult::Run)
            }
        })
        .1
    }

    /// A joiner wants to run a not-yet-running task inline (on a worker of its runtime).
    /// Succeeds only if the task is neither running nor complete; a queue entry (if any) stays
    /// and becomes stale. Returns whether RUNNING was claimed.
    pub(crate) fn try_claim(&self) -> bool {
        self.update(|s| {
            if s.has(RUNNING) || s.has(COMPLETE) || s.has(DELAYED) {
                (None, false)
            } else {
                (Some(s.0 | RUNNING), true)
            }
        })
        .1
    }

    /// Marks a task that nobody else has seen yet as DELAYED.
    pub(crate) fn set_delayed(&self) {
        self.0.fetch_or(DELAYED, Ordering::Relaxed);
    }

    /// The task's start timer fired: it may be claimed from now on.
    pub(crate) fn clear_delayed(&self) {
        self.0.fetch_and(!DELAYED, Ordering::AcqRel);
    }

    /// After a poll that returned PENDING (`yielded == false`) or YIELD.
    pub(crate) fn transition_after_poll(&self, yielded: bool) -> AfterPoll {
        self.update(|s| {
            debug_assert!(s.has(RUNNING) && !s.has(COMPLETE));
            if s.has(CANCEL_REQUESTED) {
                return (None, AfterPoll::Cancel);
            }
            let idle = s.0 & !(RUNNING | NOTIFIED);
            if yielded || s.has(NOTIFIED) {
                if s.has(SCHEDULED) {
                    (Some(idle), AfterPoll::AlreadyQueued)
                } else {
                    (Some((idle | SCHEDULED) + REF_ONE), AfterPoll::Reschedule)
                }
            } else {
                (Some(idle), AfterPoll::Idle)
            }
        })
        .1
    }

    /// The holder of RUNNING finished the body. Sets COMPLETE and the outcome, clears RUNNING
    /// and NOTIFIED. Returns the state before.
    pub(crate) fn transition_to_complete(&self, outcome: Outcome) -> Snapshot {
        let bits = outcome.bits();
        self.update(|s| {
            debug_assert!(s.has(RUNNING) && !s.has(COMPLETE));
            (Some((s.0 & !(RUNNING | NOTIFIED)) | COMPLETE | bits), ())
        })
        .0
    }

    /// A wake that keeps the waker's reference.
    pub(crate) fn transition_to_notified_by_ref(&self) -> WakeResult {
        self.update(|s| {
            if s.has(COMPLETE) {
                (None, WakeResult::Nothing)
            } else if s.has(RUNNING) {
                (Some(s.0 | NOTIFIED), WakeResult::Nothing)
            } else if s.has(SCHEDULED) {
                // Still a release operation (same value written back), so that whatever the
                // waker published before waking is visible to the poll the queued entry makes.
                (Some(s.0), WakeResult::Nothing)
            } else {
                (Some((s.0 | SCHEDULED) + REF_ONE), WakeResult::Submit)
            }
        })
        .1
    }

    /// A wake that consumes the waker's reference. On `Submit` that reference moves to the new
    /// queue entry; otherwise it was dropped, and `true` in the second field means it was the
    /// last one (the caller deallocates).
    pub(crate) fn transition_to_notified_by_val(&self) -> (WakeResult, bool) {
        self.update(|s| {
            debug_assert!(s.refs() >= 1);
            if s.has(COMPLETE) {
                let next = s.0 - REF_ONE;
                (
                    Some(next),
                    (WakeResult::Nothing, Snapshot(next).refs() == 0),
                )
            } else if s.has(RUNNING) {
                (
                    Some((s.0 | NOTIFIED) - REF_ONE),
                    (WakeResult::Nothing, false),
                )
            } else if s.has(SCHEDULED) {
                let next = s.0 - REF_ONE;
                (
                    Some(next),
                    (WakeResult::Nothing, Snapshot(next).refs() == 0),
                )
            } else {
                (Some(s.0 | SCHEDULED), (WakeResult::Submit, false))
            }
        })
        .1
    }

    /// An abort request (from a handle, an abort handle or shutdown).
    pub(crate) fn transition_to_abort(&self) -> AbortResult {
        self.update(|s| {
            if s.has(COMPLETE) {
                (None, AbortResult::Nothing)
            } else if s.has(RUNNING) {
                if s.has(CANCEL_REQUESTED) {
                    (None, AbortResult::Nothing)
                } else {
                    (Some(s.0 | CANCEL_REQUESTED), AbortResult::Requested)
                }
            } else if s.has(KIND_LOCAL) {
                if s.has(CANCEL_REQUESTED) {
                    (None, AbortResult::Nothing)
                } else if s.has(SCHEDULED) {
                    (Some(s.0 | CANCEL_REQUESTED), AbortResult::Requested)
                } else {
                    let next = (s.0 | CANCEL_REQUESTED | SCHEDULED) + REF_ONE;
                    (Some(next), AbortResult::ScheduleCancel)
                }
            } else {
                (Some(s.0 | RUNNING | CANCEL_REQUESTED), AbortResult::Claimed)
            }
        })
        .1
    }

    /// The owning thread cancels a task now (local executor teardown): like an abort that
    /// claims, for any kind. Returns whether RUNNING was claimed.
    pub(crate) fn claim_for_cancel(&self) -> bool {
        self.update(|s| {
            if s.has(RUNNING) || s.has(COMPLETE) {
                (None, false)
            } else {
                (Some(s.0 | RUNNING | CANCEL_REQUESTED), true)
            }
        })
        .1
    }

    /// Takes the registration lock and clears JOIN_WAKER so the join side owns the waker slot.
    /// Fails (returns false) once the task is COMPLETE. Spins while another registrant holds the
    /// lock (it holds it for a handful of instructions).
    pub(crate) fn begin_register_join_waker(&self) -> bool {
        loop {
            let (_, r) = self.update(|s| {
                if s.has(COMPLETE) {
                    (None, Some(false))
                } else if s.has(REGISTERING) {
                    (None, None)
                } else {
                    (Some((s.0 | REGISTERING) & !JOIN_WAKER), Some(true))
                }
            });
            match r {
                Some(ok) => return ok,
                None => crate::core::sync::spin_hint(),
            }
        }
    }

    /// Ends a registration: sets JOIN_WAKER unless the task completed meanwhile (then the join
    /// side keeps owning the slot and reads the output instead). Releases the lock either way.
    /// Returns whether JOIN_WAKER was set.
    pub(crate) fn finish_register_join_waker(&self) -> bool {
        self.update(|s| {
            debug_assert!(s.has(REGISTERING) && !s.has(JOIN_WAKER));
            if s.has(COMPLETE) {
                (Some(s.0 & !REGISTERING), false)
            } else {
                (Some((s.0 & !REGISTERING) | JOIN_WAKER), true)
            }
        })
        .1
    }

    /// The completing thread has woken the join waker; it gives the slot back. Returns the state
    /// before: if JOIN_INTEREST is gone, the completer drops the waker itself.
    pub(crate) fn unset_join_waker_after_complete(&self) -> Snapshot {
        Snapshot(self.0.fetch_and(!JOIN_WAKER, Ordering::AcqRel))
    }

    /// The join handle is being dropped: clears JOIN_INTEREST and, while not COMPLETE, JOIN_WAKER.
    /// Returns (state before, state after).
    pub(crate) fn transition_join_handle_dropped(&self) -> (Snapshot, Snapshot) {
        let (prev, next) = self.update(|s| {
            let mut next = s.0 & !JOIN_INTEREST;
            if !s.has(COMPLETE) {
                next &= !JOIN_WAKER;
            }
            (Some(next), Snapshot(next))
        });
        (prev, next)
    }

    /// Marks that a thread parks in the waiter table for this task. Returns the state before.
    pub(crate) fn set_join_parked(&self) -> Snapshot {
        Snapshot(self.0.fetch_or(JOIN_PARKED, Ordering::AcqRel))
    }

    #[inline]
    pub(crate) fn ref_inc(&self) {
        let prev = self.0.fetch_add(REF_ONE, Ordering::Relaxed);
        // A reference can only be cloned from a live one, so the count is at least 1 here.
        debug_assert!(Snapshot(prev).refs() >= 1);
        // 2^47 live references means leaked clones: the next ones would wrap the count to
        // zero and free a task still in use. Abort rather than continue (as `Arc` does).
        if Snapshot(prev).refs() >= REF_LIMIT {
            std::process::abort();
        }
    }

    /// Drops one reference; true if it was the last (the caller deallocates).
    #[inline]
    pub(crate) fn ref_dec(&self) -> bool {
        let prev = Snapshot(self.0.fetch_sub(REF_ONE, Ordering::AcqRel));
        debug_assert!(prev.refs() >= 1, "reference count underflow");
        prev.refs() == 1
    }
}

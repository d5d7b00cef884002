//! Tasks: one allocation per task, a state word, and the rules every thread follows.
//!
//! # Layout
//! A task is one heap block, a `Cell<B, S>` (see `cell`): a type-erased [`Header`] (64 bytes:
//! owner-list links, state word, id, scheduler pointer, vtable, pointer to the lazily allocated
//! extension that holds the join-waker slot, output slot), then the body `B` (what the user
//! passed: function, argument, drop functions, name). Everything generic, the body's type `B`
//! and the scheduler's type `S` (a [`Schedule`]), goes through the header's vtable, so queues,
//! wakers and handles all hold one pointer to the header.
//! Blocks come from the global allocator and go back to it when freed (mimalloc, or the
//! system allocator under `TASKS_NO_RECYCLE`: `crate::allocator`); nothing here keeps them.
//!
//! # Interfaces
//! Outside this module a task is only reached through owning types, each holding one
//! reference: [`TaskRef`] (a plain reference: abort handles, owner lists), [`JoinHandle`]
//! (the reference plus the join interest), [`Notified`] (a queue entry: the reference plus
//! SCHEDULED) and the waker of [`Context::waker`]. Inside, `raw::RawTask` is the one place
//! where a pointer becomes a task: its `unsafe fn from_raw` states the contract (a live block,
//! a reference held for as long as it is used), and everything after it is a safe method. The
//! state flags and header fields are private to this module.
//!
//! # References
//! The reference count lives in the state word (see [`state`]). References are held by: the
//! owner's task list (from spawn until release, see below), each queue entry (a [`Notified`],
//! one per SCHEDULED), the join handle, each abort handle, each waker, and any thread that
//! temporarily holds a [`TaskRef`]. A count past 2^47 (leaked clones) aborts the process. The block is freed when the count reaches zero.
//!
//! # States and transitions
//! Flags: RUNNING, COMPLETE, SCHEDULED, NOTIFIED, CANCEL_REQUESTED, JOIN_INTEREST, JOIN_WAKER,
//! JOIN_PARKED, REGISTERING; outcome bits; kind bits. Every transition is one atomic RMW.
//!
//! 1. **spawn** ([`spawn`], the one spawn path of every scheduler): the state starts as
//!    SCHEDULED (+JOIN_INTEREST with a handle) with refs = list + queue entry (+ handle). The
//!    task is inserted in the owner's list (refused if the owner is closed: nothing ran, the
//!    block is freed and the body handed back untouched) and its entry submitted.
//! 2. **pop/run**: a worker pops an entry: SCHEDULED is cleared. If RUNNING or COMPLETE is set
//!    the entry was stale (someone claimed the task inline or by abort): its reference is
//!    dropped; if the task is COMPLETE this pop is the one that releases it. Otherwise the
//!    worker sets RUNNING and runs it.
//! 3. **inline claim** (join on a worker of the same runtime): a task neither RUNNING nor
//!    COMPLETE nor DELAYED may be claimed (RUNNING set) and run by the joiner; its queue entry
//!    goes stale. DELAYED (a `spawn_after` task whose start timer has not fired) is set before
//!    the task is published and cleared by the timer's firing, so a join never starts a task
//!    early.
//! 4. **poll returns PENDING/YIELD**: if CANCEL_REQUESTED → cancel (rule 7). If YIELD or
//!    NOTIFIED → clear RUNNING|NOTIFIED and, unless a (stale) entry still exists, set SCHEDULED
//!    with a new entry (to the back of the queue). Else clear RUNNING: the task is idle.
//! 5. **wake**: COMPLETE → nothing. RUNNING → set NOTIFIED (rule 4 reschedules once, however
//!    many wakes came). SCHEDULED → nothing (still a release RMW, so the waker's writes are seen
//!    by the coming poll). Idle → set SCHEDULED and submit an entry. Wakes therefore coalesce,
//!    and none is lost: a wake either finds the task idle (and queues it) or finds it running or
//!    queued (and that run/entry polls it after the wake).
//! 6. **abort**: COMPLETE → nothing. RUNNING → set CANCEL_REQUESTED (a poll task is cancelled
//!    when its poll returns PENDING/YIELD; a READY/FAILED from that poll stands; a
//!    run-to-completion task may check it and its result stands). Otherwise the aborter claims
//!    RUNNING and cancels the task itself, before abort returns: the body is dropped (drop_arg),
//!    the task completes as CANCELLED and its joiners are woken, even if every worker is busy.
//!    A queue entry that still exists goes stale.
//! 7. **complete** (only by the holder of RUNNING): output written, body dropped, outcome
//!    counted in the metrics (`Schedule::task_list`), then one RMW sets COMPLETE + outcome and clears
//!    RUNNING|NOTIFIED. `is_finished` therefore turns true only after drop_arg ran, and a
//!    joiner reading the metrics sees its task counted. The completer then, using the state
//!    before that RMW: if SCHEDULED was clear, releases the task from its owner's list
//!    (if an entry still exists, the pop that discards it releases it: rule 2); if
//!    JOIN_INTEREST was clear, drops the output; if JOIN_WAKER was set, wakes it (rule 9);
//!    if JOIN_PARKED was set, unparks the waiter table's threads for this task.
//! 8. **release**: a task leaves its owner's list exactly once, when it is COMPLETE and no
//!    queue entry exists. So while a task is in the list its scheduler is alive (a runtime is
//!    only freed once all its lists are empty), which is what lets a queue entry be submitted
//!    safely by any waker that set SCHEDULED.
//!
//! # Join-waker rules (poll-style joins)
//! 9. The slot (`join_waker`) is owned by the join side while JOIN_WAKER is clear and by the
//!    completer (read-only: it wakes by reference) while JOIN_WAKER is set.
//!    - To store a waker the join side takes REGISTERING and clears JOIN_WAKER in one CAS
//!      (fails once COMPLETE: read the output instead), writes the slot, then sets JOIN_WAKER and
//!      clears REGISTERING in one CAS (if COMPLETE arrived in between, JOIN_WAKER stays clear
//!      and the join side reads the output). REGISTERING only serialises registrants.
//!    - The completer, seeing JOIN_WAKER in the state before COMPLETE, wakes the waker, then
//!      clears JOIN_WAKER. If JOIN_INTEREST was gone by then, it drops the waker itself.
//!    - Dropping the handle clears JOIN_INTEREST (and JOIN_WAKER if not COMPLETE); if
//!      JOIN_WAKER ends up clear, the handle drops the slot's waker.
//!    - The output slot is an atomic pointer taken by swap, so "exactly once" holds for the
//!      output whoever (join, handle drop, completer without handle) takes it.
//! 10. **blocking joins** (threads that park) do not use the slot: a joiner adds itself to the
//!     global waiter table under the bucket lock, then sets JOIN_PARKED; if COMPLETE was already
//!     set it does not park. The completer, seeing JOIN_PARKED before COMPLETE, removes every
//!     waiter of the task under the bucket lock and unparks them after releasing it. Any number
//!     of threads may wait on one task.
//!
//! # Handles and shutdown
//! 11. **handle drop**: rule 9 above, then the handle's reference is dropped.
//! 12. **shutdown**: the owner's list is closed (spawns refused under the same shard lock the
//!     insert takes, so a spawn either lands in the list before the close or is refused; one
//!     flag closes every shard at once, so a refusal is final), every listed task is aborted
//!     (rule 6), and the shutdown waits for the lists to empty.
//!
//! # Where each rule is checked
//! Loom models (`core::tests::loom_models`, `--cfg loom`, scripts/loom.sh) explore every
//! interleaving of: wake during poll (rules 4–5), wakes from several threads (5), abort vs
//! completion (6–7), abort of an idle task vs wake (6), join-waker registration vs completion
//! (9), handle drop vs completion (9, 11), shutdown vs spawn and a refusal's finality across
//! shards (1, 12), timer cancel vs fire and
//! abort of a sleeping task vs its timer, abort vs wake of a thread-bound task (6, owner
//! side), and a local executor's wake vs run (5 with the executor's queue and ready hook).
//! `core::tests::loom_worker` models the worker's wait protocol on the real `Idle` and
//! `Parker` (a join woken as a searcher restores its role; a spawn followed by a block wakes
//! an idle worker; a burst of two tasks and two sleepers), a `spawn_after` start entry vs shutdown's
//! timer drain (1, 12), and a `block_on` spawn vs shutdown (1, 12).
//! The unit tests in `core::tests::task_unit` walk each rule sequentially (spawn, pop/run,
//! inline claim, yield, each abort case, completion with and without a handle, release,
//! shutdown); they also run under Miri (scripts/miri.sh).

mod cell;
mod current;
mod ext;
mod handle;
mod harness;
mod join;
pub(crate) mod owned;
mod raw;
mod sleep;
mod state;
pub(crate) mod task_local;
mod waiters;
pub(crate) mod waker;

use std::any::Any;
use std::sync::Arc;

pub(crate) use cell::Header;
#[cfg(not(loom))]
pub(crate) use current::with_current_body;
pub(crate) use current::{CurrentTask, current_in, current_task_id, enter_no_task};
pub(crate) use handle::{Context, JoinError, JoinHandle, Notified, TaskRef, TaskResult};
pub(crate) use owned::OwnedTasks;
pub(crate) use state::Outcome;
#[cfg(test)]
pub(crate) use state::{COMPLETE, REF_SHIFT, SCHEDULED};

use crate::core::timer::{TimerKey, TimerTarget};

/// What a body's poll returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyPoll {
    /// Finished successfully, output written.
    Ready,
    /// Finished with failure, output (the failure payload) written.
    Failed,
    /// Cannot progress until woken.
    Pending,
    /// Can progress, but lets other tasks run first.
    Yield,
}

/// The user's part of a task. Dropping it releases the user's argument (drop_arg).
pub(crate) trait Body: Any + Send {
    /// A copyable way to drop an output after the body itself is gone.
    type OutputDropper: Copy + Send + Sync + 'static;

    /// Poll-style (may return Pending/Yield) or run-to-completion.
    fn is_poll_style(&self) -> bool;
    fn output_dropper(&self) -> Self::OutputDropper;
    /// Drops an output nobody took. Never called with a null output.
    fn drop_output(dropper: Self::OutputDropper, output: *mut ());
    fn poll(&mut self, cx: &mut Context<'_>, output: &mut *mut ()) -> BodyPoll;
}

/// How a queued entry is placed by its scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScheduleKind {
    /// Woken: may run next on the waking worker (LIFO slot).
    Wake,
    /// Newly spawned: stealable at once, and an idle worker is woken for it (the spawner may
    /// block without the library knowing).
    Spawn,
    /// Yielded or woken during its own poll: to the back of the queue.
    Yield,
}

/// What a task needs from the scheduler it belongs to (a runtime, a thread-bound scheduler, a
/// test scheduler). A task keeps a pointer to its scheduler, which stays valid while the task is
/// in the scheduler's task list (rule 8): every method below is only called for a listed task.
/// Schedulers live in an `Arc` (the pointer comes from `Arc::as_ptr`), so that a method may
/// take a count to outlive the release of the task it was called for.
pub(crate) trait Schedule: Send + Sync + Sized + 'static {
    /// Whether tasks run only on the scheduler's own thread (an abort from another thread then
    /// schedules the cancellation instead of carrying it out).
    const THREAD_BOUND: bool;

    /// The owner list of rule 8, with the outcome counters.
    fn task_list(&self) -> &OwnedTasks;
    /// Queue an entry (first run, wake of an idle task, reschedule after a yield or a wake
    /// during poll). Once the entry is queued the task may run, complete and be released at
    /// once, after which the scheduler may be freed: take a count first if anything follows.
    fn schedule(this: &Arc<Self>, entry: Notified, kind: ScheduleKind);
    /// Registers a timer with the timer driver the scheduler's tasks use.
    fn add_timer(&self, key: TimerKey, target: TimerTarget);
    /// Removes a pending timer; returns its target, for the caller to drop.
    fn cancel_timer(&self, key: TimerKey) -> Option<TimerTarget>;
}

/// Where a task runs, fixed at spawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    /// On the scheduler's workers (or its thread, for a thread-bound scheduler).
    Worker,
    /// On the runtime's blocking pool.
    Blocking,
    /// On the workers, once the timer with this key fires (`spawn_after`). Until then it is
    /// DELAYED and no join may start it early.
    Delayed(TimerKey),
    /// On the workers, newest first: a fork-join scope task, queued on the spawning worker's
    /// LIFO job deque, so that a worker waiting for its scope runs its own newest child before
    /// older work (work-first order, as fork-join needs; the task queue is FIFO).
    WorkFirst,
}

impl Placement {
    /// On the workers once `delay` has passed (never earlier); a zero delay (or one past what
    /// the clock can represent) is a plain [`Placement::Worker`] spawn.
    pub(crate) fn after(delay: std::time::Duration) -> Placement {
        match std::time::Instant::now().checked_add(delay) {
            Some(deadline) if !delay.is_zero() => Placement::Delayed(TimerKey::new(deadline)),
            _ => Placement::Worker,
        }
    }
}

/// Whether the spawner gets a join handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Joining {
    /// A [`JoinHandle`] is handed out.
    Handle,
    /// Nobody joins: the output is dropped by the completer.
    Detached,
}

/// A task that [`spawn`] has listed: its first queue entry, for the caller to submit, and the
/// join handle if one was asked for.
pub(crate) struct Spawned {
    pub(crate) entry: Notified,
    pub(crate) handle: Option<JoinHandle>,
}

/// The spawn path of every scheduler (rule 1): allocates the task, lists it in the scheduler's
/// owner list, and hands back its first queue entry (and join handle). Refused when the owner
/// list is closed: the block is freed and the body comes back untouched (nothing ran, nothing
/// was dropped).
#[inline]
pub(crate) fn spawn<S: Schedule, B: Body>(
    scheduler: &Arc<S>,
    body: B,
    placement: Placement,
    joining: Joining,
) -> Result<Spawned, B> {
    let task = cell::allocate(body, scheduler, placement, joining);
    if !scheduler.task_list().insert(&task) {
        // SAFETY: never linked, queued or handed out.
        return Err(unsafe { task.unallocate::<B, S>() });
    }
    Ok(task.into_spawned())
}

//! A worker: a [`Core`] (the worker's identity and the work it holds) and the thread that
//! currently owns it.
//!
//! # The core
//! A core holds a local queue (crossbeam FIFO deque, stealable through `Runtime::stealers`), a
//! LIFO slot for the task the running task just woke or spawned (an atomic slot that searching
//! workers may empty too, see [`LifoSlot`]), and the scheduling counters. The loop
//! takes the LIFO slot (at most `MAX_LIFO_STREAK` in a row, so two tasks waking each other
//! cannot starve the queue), then the local queue, the injector (first every
//! `INJECTOR_INTERVAL` ticks, so remote spawns are never starved), stealing, then sleeps.
//! A task that yields goes to the back of the local queue; if that queue held nothing else but
//! the injector does, the injector is looked at first next time.
//!
//! Where a task goes when scheduled from a worker: a *wake* or a *spawn* to the LIFO slot (the
//! previous occupant moves to the local queue), so ping-pong and chains of spawns stay on one
//! core; a *yield* to the back of the local queue. Both the slot and the queue are stealable.
//! A spawn always wakes an idle worker (a wake only when it displaced a task into the queue),
//! because the spawner may go on to block without a library join (a condition variable, a
//! Python future) and the child must not wait for it.
//!
//! # Cores move between threads
//! A thread that is about to block while holding a core gives the core away first: to a new
//! thread started for it (the substitute), with the LIFO slot moved into the stealable queue.
//! That happens in `block_in_place`, in a nested `block_on`, and in a join that may not run
//! more tasks on this stack (help depth or stack margin exhausted). The thread then goes on
//! *coreless*: what it schedules goes to the injector, its joins park like any thread's, and
//! once the task it was running returns to the bottom of its loop the thread exits. So:
//! - no runnable task waits behind a blocked thread (everything a core holds moves with it);
//! - the giver never waits for the substitute (no hand-back);
//! - a chain of joins of any depth completes with bounded stack per thread: each thread
//!   recurses until its stack margin, then a fresh thread continues.
//!
//! Exited threads are joined by the next core hand-off or by `free`.
//!
//! # The idle protocol (see `idle.rs`)
//! A worker's searching role is restored on *every* exit from every wait: a join that slept
//! as an idle worker and was woken as a searcher leaves the searching set before returning to
//! the user's task (else every later notify would see "a searcher exists" and wake nobody).
//! And a join that searched or slept and now returns while work is queued wakes a worker for
//! it: a producer that saw this worker searching woke nobody, and a sleep cut short because
//! work appeared (the sleeper's re-check) did not take that work either.
//! A worker sleeps in the idle set only with an empty LIFO slot and local queue; a thread that
//! parks outside the idle set holds no core.
//!
//! # Joins on a worker
//! A join without timeout runs the joined task inline if nobody has started it, it is a
//! run-to-completion task of this runtime, its start time (`spawn_after`) has passed, and the
//! stack has room (its own children, so stack depth follows the user's recursion; a timed join
//! does not, since an inline run cannot be cut short). Otherwise the worker runs other queued
//! work while it waits, up to `MAX_HELP_DEPTH` nested helps and the stack margin, and sleeps
//! as an idle worker that the task's completion or new work wakes.

use std::cell::Cell;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::time::Instant;

use crossbeam_deque::{Steal, Worker};

use super::Runtime;
use super::this_thread;
use super::wait::{WaitFor, park_until};
use crate::core::task::{Header, JoinHandle, Notified, ScheduleKind};

// Fork-join: a core's job deque and the loop's steps for jobs (see `core::fork_join`).
mod jobs;

const INJECTOR_INTERVAL: u32 = 61;
const MAX_LIFO_STREAK: u32 = 3;
/// Nested helps (running another task while joining) per thread.
const MAX_HELP_DEPTH: u32 = 48;
/// Stack kept free when deciding whether to run another task nested inside a join: a quarter
/// of the stack, between 32 KiB and 256 KiB.
const STACK_MARGIN_MAX: usize = 256 << 10;
const STACK_MARGIN_MIN: usize = 32 << 10;
/// Queue length below which inline joins leave stale entries for the loop to drop.
const REAP_MIN: usize = 64;

/// Counters a worker updates without read-modify-write (only the core's owner writes them).
#[derive(Default)]
pub(crate) struct WorkerStats {
    pub(crate) polls: AtomicU64,
    pub(crate) steals: AtomicU64,
    pub(crate) parks: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// The LIFO slot of one worker index: the task its running task just woke or spawned. The
/// core's owner fills and empties it; a searching worker may take it too (so a task there is
/// never stuck behind a worker whose task blocks). Holds a `Notified` as a raw pointer.
pub(crate) struct LifoSlot(AtomicPtr<Header>);

impl LifoSlot {
    pub(crate) fn new() -> LifoSlot {
        LifoSlot(AtomicPtr::new(std::ptr::null_mut()))
    }

    /// Takes the slot's task (owner or thief).
    #[inline]
    pub(crate) fn take(&self) -> Option<Notified> {
        if self.0.load(Ordering::Relaxed).is_null() {
            return None;
        }
        let p = self.0.swap(std::ptr::null_mut(), Ordering::Acquire);
        // SAFETY: a non-null pointer in the slot is a queue entry's reference, moved in by
        // `replace`; the swap made it ours alone.
        NonNull::new(p).map(|h| unsafe { Notified::from_raw(h) })
    }

    /// Puts `t` in the slot; returns the previous occupant (owner only). SeqCst: a notify that
    /// follows needs no fence (see `Idle::worker_to_notify_after_seqcst`).
    #[inline]
    fn replace(&self, t: Notified) -> Option<Notified> {
        let p = self.0.swap(t.into_raw().as_ptr(), Ordering::SeqCst);
        // SAFETY: as in `take`.
        NonNull::new(p).map(|h| unsafe { Notified::from_raw(h) })
    }

    /// SeqCst: a sleeper's re-check must see a slot filled before the filler's notify read
    /// the idle state.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.0.load(Ordering::SeqCst).is_null()
    }
}

impl Drop for LifoSlot {
    fn drop(&mut self) {
        drop(self.take());
    }
}

/// A worker's identity and the work it holds. Owned by exactly one thread at a time (the
/// fields are plain cells); moved to another thread as a whole (see module docs).
///
/// Aligned to 128 bytes (two cache lines, the unit the adjacent-line prefetcher pulls in) so
/// that no two cores share a line: the cores are allocated one after the other, and each
/// worker writes its own core's cells on every task (tick, LIFO streak, searching flag).
#[repr(align(128))]
pub(crate) struct Core {
    index: usize,
    local: Worker<Notified>,
    /// Fork-join jobs (LIFO, stealable; see `jobs.rs`).
    jobs: jobs::CoreJobs,
    lifo_streak: Cell<u32>,
    /// Set by a yield that found only the injector holding other work.
    injector_first: Cell<bool>,
    tick: Cell<u32>,
    /// Whether this core counts as searching in the idle protocol.
    searching: Cell<bool>,
    rng: Cell<u64>,
    /// True while this core's owner fires due timers: the tasks they wake queue up in deadline
    /// order at the back of the queue instead of displacing each other in the LIFO slot.
    firing_timers: Cell<bool>,
    /// Queue length at which `reap_stale_entries` runs next (see there).
    reap_at: Cell<usize>,
}

impl Core {
    pub(crate) fn new(index: usize, local: Worker<Notified>, jobs: jobs::CoreJobs) -> Box<Core> {
        Box::new(Core {
            index,
            local,
            jobs,
            lifo_streak: Cell::new(0),
            injector_first: Cell::new(false),
            tick: Cell::new(0),
            searching: Cell::new(false),
            rng: Cell::new(0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1)),
            firing_timers: Cell::new(false),
            reap_at: Cell::new(REAP_MIN),
        })
    }

    pub(crate) fn index(&self) -> usize {
        self.index
    }

    fn next_rand(&self) -> u64 {
        // xorshift64: only used to pick a steal victim.
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.set(x);
        x
    }
}

/// The per-thread side of a worker: lives on the thread's stack; holds a core or not.
pub(crate) struct WorkerCtx {
    pub(crate) shared: Arc<Runtime>,
    /// The core this thread owns (a leaked `Box<Core>`), None once given away.
    core: Cell<Option<NonNull<Core>>>,
    help_depth: Cell<u32>,
    stack_base: usize,
    /// Above zero while this thread holds a `&Core` across a call that may run user code
    /// (timer wakes reaching an executor's notify hook, drop functions at exit): the core must
    /// not be given away then.
    pinned: Cell<u32>,
}

/// A worker thread's body: runs `core` until the runtime exits or the core is given away.
pub(crate) fn run(shared: Arc<Runtime>, core: Box<Core>) {
    let base_marker = 0u8;
    let ctx = WorkerCtx {
        shared,
        core: Cell::new(Some(NonNull::from(Box::leak(core)))),
        help_depth: Cell::new(0),
        stack_base: &base_marker as *const u8 as usize,
        pinned: Cell::new(0),
    };
    let _rt = this_thread::enter_runtime(&ctx.shared);
    let _w = this_thread::enter_worker(&ctx);
    ctx.main_loop();
    if let Some(core) = ctx.take_core() {
        ctx.drain(&core);
    }
}

/// Keeps the core from being given away while it lives (see `WorkerCtx::pinned`).
struct Pin<'a>(&'a WorkerCtx);

impl Drop for Pin<'_> {
    fn drop(&mut self) {
        self.0.pinned.set(self.0.pinned.get() - 1);
    }
}

impl WorkerCtx {
    /// The core, if this thread owns one. Never hold the reference across a call that can run
    /// a task (the core may be given away inside it).
    #[inline]
    fn core(&self) -> Option<&Core> {
        // SAFETY: the pointer came from Box::leak and is owned by this thread while set; it is
        // cleared before the core is handed to another thread.
        self.core.get().map(|p| unsafe { p.as_ref() })
    }

    fn take_core(&self) -> Option<Box<Core>> {
        // SAFETY: as in `core`; ownership moves to the caller.
        self.core
            .take()
            .map(|p| unsafe { Box::from_raw(p.as_ptr()) })
    }

    /// Whether this thread currently owns a core.
    pub(crate) fn has_core(&self) -> bool {
        self.core.get().is_some()
    }

    fn pin(&self) -> Pin<'_> {
        self.pinned.set(self.pinned.get() + 1);
        Pin(self)
    }

    #[inline]
    fn stats(&self, core: &Core) -> &WorkerStats {
        &self.shared.workers[core.index].stats
    }

    #[inline]
    fn lifo(&self, core: &Core) -> &LifoSlot {
        &self.shared.workers[core.index].lifo
    }

    fn has_local_work(&self, core: &Core) -> bool {
        !self.lifo(core).is_empty() || !core.local.is_empty() || self.has_own_jobs(core)
    }

    fn main_loop(&self) {
        loop {
            let Some(core) = self.core() else { return };
            // fork-join: own jobs first (jobs.rs).
            if self.run_own_job(core) {
                continue;
            }
            if let Some(t) = self.next_task(core) {
                self.run_task(t);
                continue;
            }
            if self.shared.exiting.load(Ordering::Acquire) {
                return;
            }
            // fork-join: steal jobs before tasks (jobs.rs).
            if self.steal_and_run_job(core) {
                continue;
            }
            if let Some(t) = self.search(core) {
                self.run_task(t);
                continue;
            }
            self.sleep(core, None);
        }
    }

    /// At exit every task is complete, so what is left in the queues is stale entries.
    fn drain(&self, core: &Core) {
        let _pin = self.pin();
        drop(self.lifo(core).take());
        while let Some(t) = core.local.pop() {
            drop(t);
        }
        // fork-join: jobs still in reach are run (jobs.rs).
        self.drain_jobs(core);
    }

    #[inline]
    fn run_task(&self, t: Notified) {
        let Some(core) = self.core() else {
            // Only reachable through a bug: keep the task rather than lose it.
            self.shared.push_remote(t);
            return;
        };
        self.leave_search(core);
        let stats = self.stats(core);
        t.run_counted(|| bump(&stats.polls));
    }

    fn next_task(&self, core: &Core) -> Option<Notified> {
        let tick = core.tick.get().wrapping_add(1);
        core.tick.set(tick);
        if tick % INJECTOR_INTERVAL == 0 || core.injector_first.replace(false) {
            self.fire_timers(core);
            if let Some(t) = self.pop_injector(core) {
                return Some(t);
            }
        }
        if let Some(t) = self.lifo(core).take() {
            if core.lifo_streak.get() < MAX_LIFO_STREAK {
                core.lifo_streak.set(core.lifo_streak.get() + 1);
                return Some(t);
            }
            core.local.push(t);
        }
        core.lifo_streak.set(0);
        core.local.pop().or_else(|| self.pop_injector(core))
    }

    fn pop_injector(&self, core: &Core) -> Option<Notified> {
        loop {
            match self.shared.injector.steal_batch_and_pop(&core.local) {
                Steal::Success(t) => return Some(t),
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
    }

    /// Steals from the other workers (random start) and the injector, if allowed to search.
    fn search(&self, core: &Core) -> Option<Notified> {
        if !self.shared.idle.enter_search(&core.searching) {
            return None;
        }
        let n = self.shared.stealers.len();
        let start = core.next_rand() as usize % n;
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == core.index {
                continue;
            }
            loop {
                match self.shared.stealers[victim].steal_batch_and_pop(&core.local) {
                    Steal::Success(t) => {
                        bump(&self.stats(core).steals);
                        return Some(t);
                    }
                    Steal::Empty => break,
                    Steal::Retry => continue,
                }
            }
            // Its newest task, which its owner may be blocked behind.
            if let Some(t) = self.shared.workers[victim].lifo.take() {
                bump(&self.stats(core).steals);
                return Some(t);
            }
        }
        self.pop_injector(core)
    }

    /// Leaves the searching set if this core is in it; the last searcher to leave wakes
    /// another worker, since more work may be waiting.
    fn leave_search(&self, core: &Core) {
        if self.shared.idle.leave_search(&core.searching) {
            self.shared.notify_worker();
        }
    }

    /// Sleeps as an idle worker until new work (or, for a join, the task's completion, or the
    /// deadline) wakes it. Returns at once if the core holds work.
    fn sleep(&self, core: &Core, deadline: Option<Instant>) {
        // Timers woken here land in this core's own LIFO slot or queue: never sleep on them.
        self.fire_timers(core);
        if self.has_local_work(core) {
            return;
        }
        let shared = &self.shared;
        let parker = &shared.workers[core.index].parker;
        shared.idle.sleep_as_idle(
            core.index,
            &core.searching,
            || shared.has_work() || shared.exiting.load(Ordering::Acquire),
            || {
                bump(&self.stats(core).parks);
                // One sleeping worker at a time sleeps only until the earliest timer.
                let timer_deadline = shared.timers.try_become_owner(core.index);
                let wake_at = match (deadline, timer_deadline) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                parker.park(wake_at);
                if timer_deadline.is_some() {
                    shared.timers.release_owner(core.index);
                }
            },
        );
        self.fire_timers(core);
    }

    /// Queues a task from this worker (see module docs for where each kind goes). Without a
    /// core the task goes to the injector.
    #[inline]
    pub(crate) fn schedule_local(&self, t: Notified, kind: ScheduleKind) {
        let Some(core) = self.core() else {
            self.shared.push_remote(t);
            return;
        };
        let kind = if core.firing_timers.get() {
            ScheduleKind::Yield
        } else {
            kind
        };
        match kind {
            ScheduleKind::Yield => {
                if core.local.is_empty() && !self.shared.injector.is_empty() {
                    core.injector_first.set(true);
                }
                core.local.push(t);
            }
            ScheduleKind::Spawn => match self.lifo(core).replace(t) {
                Some(prev) => core.local.push(prev),
                None => {
                    self.shared.notify_worker_after_seqcst();
                    return;
                }
            },
            ScheduleKind::Wake => match self.lifo(core).replace(t) {
                Some(prev) => core.local.push(prev),
                None => return,
            },
        }
        // Only stealable work is worth waking another worker for.
        self.shared.notify_worker();
    }

    fn fire_timers(&self, core: &Core) {
        let _pin = self.pin();
        core.firing_timers.set(true);
        self.shared.fire_due_timers();
        core.firing_timers.set(false);
    }

    /// Gives this thread's core to a new thread (see module docs). False if there is no core
    /// to give, it is pinned, or no thread could be started (the core then stays here).
    fn hand_off_core(&self) -> bool {
        if self.pinned.get() > 0 {
            return false;
        }
        let Some(core) = self.take_core() else {
            return false;
        };
        // (The slot and the queue stay stealable meanwhile; the notify below wakes a thief.)
        if self.shared.idle.leave_search(&core.searching) {
            self.shared.notify_worker();
        }
        match self.shared.start_worker(core) {
            Ok(()) => {
                self.shared.notify_worker();
                true
            }
            Err((_, core)) => {
                self.core.set(Some(NonNull::from(Box::leak(core))));
                false
            }
        }
    }

    /// Last resort when a core cannot be given away: moves everything it holds to the
    /// injector, where any worker finds it, and wakes one.
    fn release_work(&self, core: &Core) {
        if let Some(t) = self.lifo(core).take() {
            self.shared.injector.push(t);
        }
        while let Some(t) = core.local.pop() {
            self.shared.injector.push(t);
        }
        // fork-join: and the core's jobs (jobs.rs).
        self.release_jobs(core);
        self.leave_search(core);
        self.shared.notify_worker();
    }

    /// Runs `f`, which may block, on this thread after giving the core (and everything it
    /// holds) to a substitute thread; this thread is coreless from then on (module docs).
    /// Without a core (already given away, or not inside a task) `f` just runs.
    pub(crate) fn block_in_place<R>(&self, f: impl FnOnce() -> R) -> R {
        if self.has_core()
            && !self.hand_off_core()
            && let Some(core) = self.core()
        {
            // No substitute could be started (or the core is pinned): at least let the other
            // workers take what this one holds.
            self.release_work(core);
        }
        f()
    }

    fn stack_ok(&self) -> bool {
        let here = 0u8;
        let used = self.stack_base.saturating_sub(&here as *const u8 as usize);
        let size = self.shared.config.stack_size;
        let margin = (size / 4).clamp(STACK_MARGIN_MIN, STACK_MARGIN_MAX);
        used + margin < size
    }

    /// Whether another task may run nested on this thread's stack now.
    fn may_nest(&self) -> bool {
        self.help_depth.get() < MAX_HELP_DEPTH && self.stack_ok()
    }

    /// A join of `handle` on this worker (rule 3 of `core::task`): runs the task right here,
    /// like a function call, if it is a run-to-completion task of this runtime that nobody has
    /// started, and this stack has room for it. Returns whether it ran.
    pub(crate) fn try_run_inline(&self, handle: &JoinHandle) -> bool {
        if !handle.belongs_to(&self.shared) || !self.stack_ok() {
            return false;
        }
        let Some(core) = self.core() else {
            return false;
        };
        let stats = self.stats(core);
        if !handle.run_inline(|| bump(&stats.polls)) {
            return false;
        }
        // The task ran here, but its queue entry is still queued (usually in this core's
        // queue), holding a reference: the finished task's block stays allocated until the entry
        // is popped. A worker that joins inline all the way down (recursive spawn + join) never
        // gets back to its loop, so without this the whole tree stayed allocated.
        if let Some(core) = self.core() {
            self.reap_stale_entries(core);
        }
        true
    }

    /// Drops the entries of this core's queue whose task already ran or was cancelled (their
    /// pop would be stale: rule 2 of `core::task`), keeping the others in order. Runs once the
    /// queue is `reap_at` long, which then doubles the entries left (at least `REAP_MIN`), so
    /// the cost per queued entry stays constant.
    fn reap_stale_entries(&self, core: &Core) {
        let len = core.local.len();
        if len < core.reap_at.get() {
            return;
        }
        let mut kept = 0;
        for _ in 0..len {
            let Some(entry) = core.local.pop() else { break };
            if entry.is_stale() {
                // Releases the entry's reference (and the task, if that was the last).
                entry.run();
            } else {
                core.local.push(entry);
                kept += 1;
            }
        }
        core.reap_at.set((2 * kept).max(REAP_MIN));
    }

    /// The worker's side of `wait::wait_until`: runs other tasks until `cond.done()` or
    /// `deadline`; with nothing to run, sleeps as an idle worker after `cond.arm` registered this
    /// worker's parker. When no more tasks may nest on this stack, the core goes to a new thread
    /// and this one waits coreless (as a plain thread). Returns whether `cond.done()`. On every
    /// return the core (if still here) has left the searching set.
    pub(crate) fn help_until(&self, cond: &dyn WaitFor, deadline: Option<Instant>) -> bool {
        // Whether this wait took part in the idle protocol (searched or slept): a producer may
        // then have counted on this worker to find its task, which a wait that ends now leaves
        // behind (see the end).
        let mut took_part = false;
        let finished = loop {
            if cond.done() {
                break true;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break false;
            }
            let Some(core) = self.core() else {
                break park_until(cond, deadline);
            };
            if !self.may_nest() {
                if self.hand_off_core() {
                    continue;
                }
                // No thread could be started: park outside the idle set holding nothing.
                self.release_work(core);
                let parker = Arc::clone(&self.shared.workers[core.index].parker);
                if cond.arm(&parker) {
                    parker.park(deadline);
                    cond.disarm(&parker);
                }
                continue;
            }
            took_part = true;
            // fork-join: own jobs, then tasks, then stolen jobs, then stolen tasks (jobs.rs).
            self.help_depth.set(self.help_depth.get() + 1);
            let ran = self.run_own_job(core)
                || match self.next_task(core) {
                    Some(t) => {
                        self.run_task(t);
                        true
                    }
                    None => {
                        self.steal_and_run_job(core)
                            || match self.search(core) {
                                Some(t) => {
                                    self.run_task(t);
                                    true
                                }
                                None => false,
                            }
                    }
                };
            self.help_depth.set(self.help_depth.get() - 1);
            if ran {
                continue;
            }
            let parker = Arc::clone(&self.shared.workers[core.index].parker);
            if cond.arm(&parker) {
                self.sleep(core, deadline);
                cond.disarm(&parker);
            }
        };
        if let Some(core) = self.core() {
            self.leave_search(core);
            // A producer that saw this worker searching woke nobody, and a sleep that ended
            // because work appeared did not take it: pass it on rather than return to the
            // user's task with it waiting.
            if took_part && self.shared.has_work() {
                self.shared.notify_worker();
            }
        }
        finished
    }
}

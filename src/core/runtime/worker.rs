//! A worker thread: its local queue (crossbeam FIFO deque, stealable), a LIFO slot for the task
//! it just woke or spawned, and its loop: LIFO slot (at most `MAX_LIFO_STREAK` in a row, so two
//! tasks waking each other cannot starve the queue), local queue, the injector (first every
//! `INJECTOR_INTERVAL` ticks, so remote spawns are never starved), stealing, then sleeping.
//! A task that yields goes to the back of the local queue; if that queue held nothing else but
//! the injector does, the injector is looked at first next time, so a yield lets every other
//! ready task, remote ones included, run before the yielder again.
//!
//! A worker that joins a task helps instead of blocking: a join without timeout runs the task
//! inline if nobody has started it (its own children, so stack depth follows the user's
//! recursion; a timed join does not, since an inline run cannot be cut short), else runs other
//! queued work while it waits, up to a nesting depth and stack margin, and otherwise sleeps as
//! an idle worker that the task's completion or new work wakes.

use std::cell::Cell;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use crossbeam_deque::{Steal, Worker};

use super::Shared;
use super::context;
use crate::core::park::Parker;
use crate::core::task::state::Outcome;
use crate::core::task::{Header, Notified, ScheduleKind, harness, join, waiters};

const INJECTOR_INTERVAL: u32 = 61;
const MAX_LIFO_STREAK: u32 = 3;
const MAX_HELP_DEPTH: u32 = 48;
/// Stack kept free when deciding whether to run another task nested inside a join.
const STACK_MARGIN: usize = 256 << 10;

/// Counters a worker updates without read-modify-write (only it writes them).
#[derive(Default)]
pub(crate) struct WorkerStats {
    pub(crate) polls: AtomicU64,
    pub(crate) steals: AtomicU64,
    pub(crate) parks: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

pub(crate) struct WorkerCtx {
    pub(crate) shared: Arc<Shared>,
    index: usize,
    local: Worker<Notified>,
    lifo: Cell<Option<Notified>>,
    lifo_streak: Cell<u32>,
    /// Set by a yield that found only the injector holding other work.
    injector_first: Cell<bool>,
    tick: Cell<u32>,
    searching: Cell<bool>,
    rng: Cell<u64>,
    help_depth: Cell<u32>,
    stack_base: usize,
    parker: Arc<Parker>,
    /// Set for a substitute worker: it exits when this turns true.
    stop: Option<Arc<AtomicBool>>,
    /// True while this worker fires due timers: the tasks they wake queue up in deadline
    /// order at the back of the queue instead of displacing each other in the LIFO slot.
    firing_timers: Cell<bool>,
}

pub(crate) fn run(shared: Arc<Shared>, index: usize, local: Worker<Notified>) {
    run_loop(shared, index, local, None);
}

/// Stands in for worker `index` while that worker is inside `block_in_place` (otherwise a
/// runtime whose workers are all blocked in place would run nothing meanwhile), until `stop`
/// is set.
fn run_substitute(shared: Arc<Shared>, index: usize, stop: Arc<AtomicBool>) {
    run_loop(shared, index, Worker::new_fifo(), Some(stop));
}

fn run_loop(
    shared: Arc<Shared>,
    index: usize,
    local: Worker<Notified>,
    stop: Option<Arc<AtomicBool>>,
) {
    let base_marker = 0u8;
    let ctx = WorkerCtx {
        parker: Arc::clone(&shared.workers[index].parker),
        shared,
        index,
        local,
        lifo: Cell::new(None),
        lifo_streak: Cell::new(0),
        injector_first: Cell::new(false),
        tick: Cell::new(0),
        searching: Cell::new(false),
        rng: Cell::new(0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1)),
        help_depth: Cell::new(0),
        stack_base: &base_marker as *const u8 as usize,
        stop,
        firing_timers: Cell::new(false),
    };
    let _rt = context::enter_runtime(&ctx.shared);
    let _w = context::enter_worker(&ctx);
    ctx.main_loop();
    if ctx.stop.is_some() {
        ctx.hand_off_queued();
        if ctx.searching.get() {
            ctx.stop_searching();
        }
    } else {
        ctx.drain();
    }
}

impl WorkerCtx {
    fn stats(&self) -> &WorkerStats {
        &self.shared.workers[self.index].stats
    }

    fn main_loop(&self) {
        loop {
            if self
                .stop
                .as_ref()
                .is_some_and(|s| s.load(Ordering::Acquire))
            {
                return;
            }
            if let Some(t) = self.next_task() {
                self.run_task(t);
                continue;
            }
            if self.shared.exiting.load(Ordering::Acquire) {
                return;
            }
            if let Some(t) = self.search() {
                self.run_task(t);
                continue;
            }
            self.sleep(None);
        }
    }

    /// At exit every task is complete, so what is left in the queues is stale entries.
    fn drain(&self) {
        drop(self.lifo.take());
        while let Some(t) = self.local.pop() {
            drop(t);
        }
    }

    fn run_task(&self, t: Notified) {
        if self.searching.get() {
            self.stop_searching();
        }
        harness::run_counted(t, || bump(&self.stats().polls));
    }

    fn next_task(&self) -> Option<Notified> {
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        if tick % INJECTOR_INTERVAL == 0 || self.injector_first.replace(false) {
            self.fire_timers();
            if let Some(t) = self.pop_injector() {
                return Some(t);
            }
        }
        if let Some(t) = self.lifo.take() {
            if self.lifo_streak.get() < MAX_LIFO_STREAK {
                self.lifo_streak.set(self.lifo_streak.get() + 1);
                return Some(t);
            }
            self.local.push(t);
        }
        self.lifo_streak.set(0);
        self.local.pop().or_else(|| self.pop_injector())
    }

    fn pop_injector(&self) -> Option<Notified> {
        loop {
            match self.shared.injector.steal_batch_and_pop(&self.local) {
                Steal::Success(t) => return Some(t),
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
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

    /// Steals from the other workers (random start) and the injector, if allowed to search.
    fn search(&self) -> Option<Notified> {
        if !self.searching.get() {
            if !self.shared.idle.try_start_searching() {
                return None;
            }
            self.searching.set(true);
        }
        let n = self.shared.stealers.len();
        let start = self.next_rand() as usize % n;
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == self.index {
                continue;
            }
            loop {
                match self.shared.stealers[victim].steal_batch_and_pop(&self.local) {
                    Steal::Success(t) => {
                        bump(&self.stats().steals);
                        return Some(t);
                    }
                    Steal::Empty => break,
                    Steal::Retry => continue,
                }
            }
        }
        self.pop_injector()
    }

    fn stop_searching(&self) {
        self.searching.set(false);
        if self.shared.idle.stop_searching() {
            self.shared.notify_worker();
        }
    }

    /// Sleeps as an idle worker until new work (or, for a join, the task's completion, or the
    /// deadline) wakes it.
    fn sleep(&self, deadline: Option<Instant>) {
        // Timers woken here land in this worker's own LIFO slot or queue: never sleep on them.
        self.fire_timers();
        if self.has_local_work() {
            return;
        }
        let idle = &self.shared.idle;
        idle.begin_sleep(self.index, self.searching.replace(false));
        if self.shared.has_work() || self.shared.exiting.load(Ordering::Acquire) {
            if !idle.cancel_sleep(self.index) {
                self.searching.set(true);
            }
            return;
        }
        bump(&self.stats().parks);
        // One sleeping worker at a time sleeps only until the earliest timer.
        let timer_deadline = self.shared.timers.try_become_owner(self.index);
        let wake_at = match (deadline, timer_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.parker.park(wake_at);
        if timer_deadline.is_some() {
            self.shared.timers.release_owner(self.index);
        }
        if !idle.cancel_sleep(self.index) {
            self.searching.set(true);
        }
        self.fire_timers();
    }

    /// Queues a task from this worker: a wake or spawn goes to the LIFO slot (the previous
    /// occupant moves to the queue), a yield to the back of the queue.
    pub(crate) fn schedule_local(&self, t: Notified, kind: ScheduleKind) {
        let kind = if self.firing_timers.get() {
            ScheduleKind::Yield
        } else {
            kind
        };
        match kind {
            ScheduleKind::Yield => {
                if self.local.is_empty() && !self.shared.injector.is_empty() {
                    self.injector_first.set(true);
                }
                self.local.push(t);
            }
            ScheduleKind::Wake => match self.lifo.replace(Some(t)) {
                Some(prev) => self.local.push(prev),
                None => return,
            },
        }
        // Only stealable work is worth waking another worker for.
        self.shared.notify_worker();
    }

    fn fire_timers(&self) {
        self.firing_timers.set(true);
        self.shared.fire_due_timers();
        self.firing_timers.set(false);
    }

    /// Whether this worker's own LIFO slot or queue holds a task (the slot is not visible to
    /// the stealers that `Shared::has_work` looks at).
    fn has_local_work(&self) -> bool {
        let lifo = self.lifo.take();
        let has = lifo.is_some();
        self.lifo.set(lifo);
        has || !self.local.is_empty()
    }

    /// Moves everything queued on this worker to the injector.
    fn hand_off_queued(&self) {
        if let Some(t) = self.lifo.take() {
            self.shared.injector.push(t);
        }
        while let Some(t) = self.local.pop() {
            self.shared.injector.push(t);
        }
        self.shared.notify_worker();
    }

    /// Runs `f`, which may block, on this worker's thread: first hands this worker's queued
    /// tasks to the others and starts a substitute worker thread for the duration, so they are
    /// not held up even when every worker blocks in place. While `f` runs the thread is not a worker: what it
    /// spawns goes to the injector and what it joins, it waits for like any other thread.
    pub(crate) fn block_in_place(&self, f: impl FnOnce()) {
        self.hand_off_queued();
        // Always a substitute: other workers may be busy or blocked in place themselves.
        let substitute = {
            let stop = Arc::new(AtomicBool::new(false));
            let (s, st, index) = (Arc::clone(&self.shared), Arc::clone(&stop), self.index);
            let name = format!("{}-{}", self.shared.config.thread_name, index);
            self.shared
                .spawn_thread(name, move || run_substitute(s, index, st))
                .ok()
                .map(|h| (stop, h))
        };
        struct Resume<'a>(
            &'a WorkerCtx,
            Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
        );
        impl Drop for Resume<'_> {
            fn drop(&mut self) {
                if let Some((stop, handle)) = self.1.take() {
                    stop.store(true, Ordering::Release);
                    self.0.parker.unpark();
                    let _ = handle.join();
                }
            }
        }
        let _resume = Resume(self, substitute);
        let _not_a_worker = context::suspend_worker();
        f();
    }

    fn stack_ok(&self) -> bool {
        let here = 0u8;
        let used = self.stack_base.saturating_sub(&here as *const u8 as usize);
        used + STACK_MARGIN < self.shared.config.stack_size
    }

    /// Join on this worker (see module docs). `target` is alive (the caller holds the handle).
    pub(crate) fn join(
        &self,
        target_ptr: NonNull<Header>,
        deadline: Option<Instant>,
    ) -> Option<Outcome> {
        // SAFETY: the caller holds a reference (its join handle).
        let target = unsafe { target_ptr.as_ref() };
        let own = std::ptr::eq(
            target.scheduler.as_ptr(),
            self.shared.scheduler_ptr().as_ptr(),
        );
        // Only an unlimited join runs the task inline: a run cannot be cut short, so a timed join
        // would lose its timeout.
        if own && deadline.is_none() && !target.is_poll_style() && !target.is_blocking() {
            harness::try_run_inline(target_ptr, || bump(&self.stats().polls));
        }
        let done = self.help_until(
            &|| join::outcome(target).is_some(),
            &|p| waiters::register(target, p),
            &|p| waiters::deregister(target, p),
            deadline,
        );
        if done { join::outcome(target) } else { None }
    }

    /// Runs other tasks until `done()` or `deadline`; with nothing to run, sleeps as an idle
    /// worker after `arm` registered this worker's parker with whatever makes `done` true
    /// (`arm` returns false if it already is; `disarm` undoes it). Returns whether `done()`.
    pub(crate) fn help_until(
        &self,
        done: &dyn Fn() -> bool,
        arm: &dyn Fn(&Arc<Parker>) -> bool,
        disarm: &dyn Fn(&Arc<Parker>),
        deadline: Option<Instant>,
    ) -> bool {
        loop {
            if done() {
                return true;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            let can_help = self.help_depth.get() < MAX_HELP_DEPTH && self.stack_ok();
            if can_help && let Some(t) = self.next_task().or_else(|| self.search()) {
                self.help_depth.set(self.help_depth.get() + 1);
                self.run_task(t);
                self.help_depth.set(self.help_depth.get() - 1);
                continue;
            }
            if !arm(&self.parker) {
                continue;
            }
            if can_help {
                self.sleep(deadline);
            } else {
                // Parking outside the idle set: leave the searching count first, or producers
                // would keep counting on this worker to find their work.
                if self.searching.get() {
                    self.stop_searching();
                }
                self.parker.park(deadline);
            }
            disarm(&self.parker);
        }
    }
}

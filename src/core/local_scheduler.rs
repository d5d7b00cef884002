//! A scheduler for tasks that run on one thread only: the local executor and `block_on` are
//! both this. Entries go to a FIFO queue under a mutex (any thread may spawn or wake); the
//! owning thread pops and runs them. When the queue goes from empty to non-empty the `ready`
//! callback runs (unpark the `block_on` thread, or the executor's notify hook) so a thread
//! sleeping in its own event loop hears about it.
//!
//! Timers of these tasks live in a runtime's timer driver (the one `block_on` was given, or
//! the default runtime's for an executor): its workers fire them, and the wake comes back here.
//!
//! Lifetime: the scheduler is an `Arc`; a thread submitting an entry holds a count across the
//! push and the `ready` call, since once the entry is queued the owner may finish, release the
//! task and drop the scheduler (rule 8 of `core::task` guarantees it only until the push).

use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::ThreadId;

use crate::core::sync::{AtomicUsize, Mutex, Ordering};
use crate::core::task::{
    self, Body, JoinHandle, Joining, Notified, OwnedTasks, Placement, Schedule, ScheduleKind,
    TaskRef,
};
use crate::core::timer::{TimerKey, TimerTarget};

/// Where the timers of these tasks live: a runtime, whose workers fire them. Under loom a bare
/// timer driver stands in, so the models need no runtime.
#[cfg(not(loom))]
pub(crate) type TimerHost = crate::core::runtime::Runtime;
#[cfg(loom)]
pub(crate) type TimerHost = crate::core::timer::TimerDriver;

#[cfg(not(loom))]
fn host_add_timer(host: &TimerHost, key: TimerKey, target: TimerTarget) {
    host.add_timer(key, target);
}
#[cfg(loom)]
fn host_add_timer(host: &TimerHost, key: TimerKey, target: TimerTarget) {
    if let crate::core::timer::InsertOutcome::Refused(target) = host.insert(key, target) {
        drop(target);
    }
}

#[cfg(not(loom))]
fn host_cancel_timer(host: &TimerHost, key: TimerKey) -> Option<TimerTarget> {
    host.timers.cancel(key)
}
#[cfg(loom)]
fn host_cancel_timer(host: &TimerHost, key: TimerKey) -> Option<TimerTarget> {
    host.cancel(key)
}

// loom's thread_local! (used under --cfg loom) takes no `const { }` initialisers.
#[allow(clippy::missing_const_for_thread_local)]
mod owned_here {
    crate::core::sync::thread_local! {
        /// Addresses of the local schedulers the calling thread owns (registered at creation,
    /// removed by `close`). Only compared, never dereferenced.
        pub(super) static OWNED_HERE: std::cell::RefCell<Vec<usize>> =
            std::cell::RefCell::new(Vec::new());
    }
}
use owned_here::OWNED_HERE;

/// Whether `task` is an unfinished task that only the calling thread can run (a task of a
/// local scheduler this thread owns): blocking this thread until it ends would never end.
pub(crate) fn runs_only_here(task: &TaskRef) -> bool {
    task.is_thread_bound()
        && !task.is_finished()
        && OWNED_HERE.with(|o| o.borrow().contains(&task.scheduler_addr()))
}

/// Called when the queue becomes non-empty; may run on any thread.
pub(crate) type ReadyHook = Arc<dyn Fn() + Send + Sync>;

/// The installed hook and its calls in progress. A wake takes the slot and counts its call
/// under the `ready` lock, and calls outside it (the hook is user code); replacing the hook
/// swaps the slot under the lock, then waits for the old slot's count to drop to zero. So once
/// a replacement (`tasks_executor_set_notify`, `tasks_executor_free`) returns, the old hook
/// is never called again, and its data may be freed.
struct HookSlot {
    hook: ReadyHook,
    calls: AtomicUsize,
}

impl HookSlot {
    fn new(hook: ReadyHook) -> Arc<HookSlot> {
        Arc::new(HookSlot {
            hook,
            calls: AtomicUsize::new(0),
        })
    }
}

/// Counts one call of a slot's hook; the count drops when the call returns or unwinds.
struct HookCall<'a> {
    slot: &'a HookSlot,
    outer: usize,
}

impl<'a> HookCall<'a> {
    fn enter(slot: &'a HookSlot) -> HookCall<'a> {
        let outer = IN_HOOK.with(|c| c.replace(slot as *const HookSlot as usize));
        HookCall { slot, outer }
    }
}

impl Drop for HookCall<'_> {
    fn drop(&mut self) {
        IN_HOOK.with(|c| c.set(self.outer));
        self.slot.calls.fetch_sub(1, Ordering::Release);
    }
}

#[allow(clippy::missing_const_for_thread_local)]
mod in_hook {
    crate::core::sync::thread_local! {
        /// The slot whose hook this thread is calling (0: none): a hook that replaces itself
        /// must not wait for its own call.
        pub(super) static IN_HOOK: std::cell::Cell<usize> = std::cell::Cell::new(0);
    }
}
use in_hook::IN_HOOK;

pub(crate) struct LocalScheduler {
    owner: ThreadId,
    queue: Mutex<VecDeque<Notified>>,
    pub(crate) owned: OwnedTasks,
    ready: Mutex<Option<Arc<HookSlot>>>,
    timers: Option<Arc<TimerHost>>,
    /// Calls of `run`/`close` in progress on the owner thread: a `close` from inside one of
    /// them (a task of this scheduler freeing it) would wait for itself.
    active: AtomicUsize,
}

impl Drop for LocalScheduler {
    fn drop(&mut self) {
        // Normally `close` has removed it already; a scheduler dropped unclosed (a refused
        // block_on) is removed here, on its owner thread.
        if self.is_owner() {
            let me = self as *const LocalScheduler as usize;
            let _ = OWNED_HERE.try_with(|o| o.borrow_mut().retain(|&a| a != me));
        }
    }
}

/// Counts an owner-thread call in progress (see `LocalScheduler::active`).
struct Active<'a>(&'a AtomicUsize);

impl<'a> Active<'a> {
    fn enter(counter: &'a AtomicUsize) -> Active<'a> {
        counter.fetch_add(1, Ordering::Relaxed);
        Active(counter)
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Schedule for LocalScheduler {
    const THREAD_BOUND: bool = true;

    fn task_list(&self) -> &OwnedTasks {
        &self.owned
    }

    fn schedule(this: &Arc<Self>, entry: Notified, _kind: ScheduleKind) {
        // Keep the scheduler alive until we are done (see module docs).
        let guard = Arc::clone(this);
        guard.push(entry);
    }

    fn add_timer(&self, key: TimerKey, target: TimerTarget) {
        match &self.timers {
            Some(host) => host_add_timer(host, key, target),
            // No runtime could be started to drive timers: the timer never fires.
            None => drop(target),
        }
    }

    fn cancel_timer(&self, key: TimerKey) -> Option<TimerTarget> {
        host_cancel_timer(self.timers.as_ref()?, key)
    }
}

/// Why a call on a local scheduler was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LocalSchedulerError {
    WrongThread,
    Shutdown,
    /// `close` from inside the scheduler's own `run` or `close` (one of its tasks).
    WouldDeadlock,
}

impl LocalScheduler {
    /// A scheduler owned by the calling thread, using `timers`' timer driver.
    pub(crate) fn new(
        timers: Option<Arc<TimerHost>>,
        ready: Option<ReadyHook>,
    ) -> Arc<LocalScheduler> {
        let sched = Arc::new(LocalScheduler {
            owner: std::thread::current().id(),
            queue: Mutex::new(VecDeque::new()),
            owned: OwnedTasks::new(1),
            ready: Mutex::new(ready.map(HookSlot::new)),
            timers,
            active: AtomicUsize::new(0),
        });
        OWNED_HERE.with(|o| o.borrow_mut().push(Arc::as_ptr(&sched) as usize));
        sched
    }

    pub(crate) fn is_owner(&self) -> bool {
        std::thread::current().id() == self.owner
    }

    /// Installs `hook` and returns the one it replaced, once no call of that one is still in
    /// progress on another thread (see `HookSlot`).
    pub(crate) fn set_ready_hook(&self, hook: Option<ReadyHook>) -> Option<ReadyHook> {
        let old = std::mem::replace(&mut *self.ready.lock(), hook.map(HookSlot::new))?;
        let own = usize::from(IN_HOOK.with(|c| c.get()) == Arc::as_ptr(&old) as usize);
        while old.calls.load(Ordering::Acquire) > own {
            crate::core::sync::spin_hint();
            #[cfg(not(loom))]
            std::thread::yield_now();
        }
        Some(Arc::clone(&old.hook))
    }

    fn push(&self, entry: Notified) {
        let was_empty = {
            let mut q = self.queue.lock();
            q.push_back(entry);
            q.len() == 1
        };
        if was_empty {
            let slot = {
                let ready = self.ready.lock();
                ready.as_ref().map(|slot| {
                    slot.calls.fetch_add(1, Ordering::Relaxed);
                    Arc::clone(slot)
                })
            };
            if let Some(slot) = slot {
                let _call = HookCall::enter(&slot);
                (slot.hook)();
            }
        }
    }

    fn pop(&self) -> Option<Notified> {
        self.queue.lock().pop_front()
    }

    /// Spawns a thread-bound task (from any thread).
    pub(crate) fn spawn<B: Body>(
        self: &Arc<Self>,
        body: B,
        joining: Joining,
    ) -> Result<Option<JoinHandle>, (LocalSchedulerError, B)> {
        let spawned = task::spawn(self, body, Placement::Worker, joining)
            .map_err(|b| (LocalSchedulerError::Shutdown, b))?;
        self.push(spawned.entry);
        Ok(spawned.handle)
    }

    /// Aborts every task (from any thread): thread-bound tasks are then cancelled by the owner.
    /// Refuses further spawns.
    pub(crate) fn abort_all(&self) {
        for task in self.owned.close_and_collect() {
            task.abort();
        }
    }

    /// Runs up to `max` queued entries on the owning thread; returns how many tasks it polled.
    pub(crate) fn run(&self, max: usize) -> Result<usize, LocalSchedulerError> {
        if !self.is_owner() {
            return Err(LocalSchedulerError::WrongThread);
        }
        let _active = Active::enter(&self.active);
        let mut polled = 0;
        for _ in 0..max {
            let Some(entry) = self.pop() else { break };
            if entry.run() {
                polled += 1;
            }
        }
        Ok(polled)
    }

    /// Tasks spawned and not yet finished (never more than were spawned: see
    /// `OwnedTasks::counts`).
    pub(crate) fn unfinished(&self) -> usize {
        let c = self.owned.counts();
        let finished = c.completed + c.failed + c.cancelled;
        debug_assert!(finished <= c.spawned);
        c.spawned.saturating_sub(finished) as usize
    }

    /// On the owning thread: refuses further spawns, cancels every task left (here, now), and
    /// waits until every task is released (a waker of another thread may be submitting a
    /// last entry: it is discarded when it arrives).
    pub(crate) fn close(
        &self,
        parker: &crate::core::park::Parker,
    ) -> Result<(), LocalSchedulerError> {
        if !self.is_owner() {
            return Err(LocalSchedulerError::WrongThread);
        }
        if self.active.load(Ordering::Relaxed) > 0 {
            return Err(LocalSchedulerError::WouldDeadlock);
        }
        let _active = Active::enter(&self.active);
        let me = self as *const LocalScheduler as usize;
        OWNED_HERE.with(|o| o.borrow_mut().retain(|&a| a != me));
        for task in self.owned.close_and_collect() {
            task.cancel_now();
        }
        loop {
            while let Some(entry) = self.pop() {
                drop(entry);
            }
            if self.owned.wait_empty(Some(std::time::Instant::now())) {
                return Ok(());
            }
            // An entry is on its way (its task is still SCHEDULED): the push calls `ready`,
            // which for a closing scheduler unparks us.
            parker.park(Some(
                std::time::Instant::now() + std::time::Duration::from_millis(1),
            ));
        }
    }
}

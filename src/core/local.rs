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
use std::ptr::NonNull;
use std::sync::Arc;
use std::thread::ThreadId;

use crate::core::sync::{AtomicUsize, Mutex, Ordering};
use crate::core::task::owned::OwnedTasks;
use crate::core::task::state::Outcome;
use crate::core::task::{
    Body, Header, Notified, Placement, ScheduleKind, Scheduler, SchedulerVtable, TaskRef, harness,
};
use crate::core::timer::{TimerKey, TimerTarget};

/// Where the timers of these tasks live: a runtime, whose workers fire them. Under loom a bare
/// timer driver stands in, so the models need no runtime.
#[cfg(not(loom))]
pub(crate) type TimerHost = crate::core::runtime::Shared;
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

/// Whether `header` is an unfinished task that only the calling thread can run (a task of a
/// local scheduler this thread owns): blocking this thread until it ends would never end.
pub(crate) fn runs_only_here(header: &Header) -> bool {
    header.is_thread_bound()
        && header.state.load().outcome().is_none()
        && OWNED_HERE.with(|o| o.borrow().contains(&(header.scheduler.as_ptr() as usize)))
}

/// Called when the queue becomes non-empty; may run on any thread.
pub(crate) type ReadyHook = Arc<dyn Fn() + Send + Sync>;

#[repr(C)]
pub(crate) struct LocalScheduler {
    /// Must stay the first field: tasks point at it.
    scheduler: Scheduler,
    owner: ThreadId,
    queue: Mutex<VecDeque<Notified>>,
    pub(crate) owned: OwnedTasks,
    ready: Mutex<Option<ReadyHook>>,
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

static VTABLE: SchedulerVtable = SchedulerVtable {
    schedule,
    completed,
    release,
    add_timer,
    cancel_timer,
};

unsafe fn this<'a>(s: NonNull<Scheduler>) -> &'a LocalScheduler {
    // SAFETY: the first field of a repr(C) LocalScheduler, pointer from Arc::as_ptr.
    unsafe { s.cast::<LocalScheduler>().as_ref() }
}

unsafe fn schedule(s: NonNull<Scheduler>, entry: Notified, _kind: ScheduleKind) {
    // SAFETY: the task is SCHEDULED, so listed, so the scheduler is alive; keep it alive until
    // we are done (see module docs). The pointer came from Arc::as_ptr.
    let raw = s.cast::<LocalScheduler>().as_ptr().cast_const();
    let guard = unsafe {
        Arc::increment_strong_count(raw);
        Arc::from_raw(raw)
    };
    guard.push(entry);
}

unsafe fn completed(s: NonNull<Scheduler>, h: &Header, outcome: Outcome) {
    // SAFETY: called while the task is listed.
    unsafe { this(s) }.owned.count(h, outcome);
}

unsafe fn release(s: NonNull<Scheduler>, h: &Header) {
    // SAFETY: called while the task is listed.
    unsafe { this(s) }.owned.remove(h);
}

unsafe fn add_timer(s: NonNull<Scheduler>, key: TimerKey, target: TimerTarget) {
    // SAFETY: called for a listed task.
    match &unsafe { this(s) }.timers {
        Some(host) => host_add_timer(host, key, target),
        // No runtime could be started to drive timers: the timer never fires.
        None => drop(target),
    }
}

unsafe fn cancel_timer(s: NonNull<Scheduler>, key: TimerKey) -> Option<TimerTarget> {
    // SAFETY: called for a listed task.
    host_cancel_timer(unsafe { this(s) }.timers.as_ref()?, key)
}

/// Why a call was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LocalError {
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
            scheduler: Scheduler { vtable: &VTABLE },
            owner: std::thread::current().id(),
            queue: Mutex::new(VecDeque::new()),
            owned: OwnedTasks::new(1),
            ready: Mutex::new(ready),
            timers,
            active: AtomicUsize::new(0),
        });
        OWNED_HERE.with(|o| o.borrow_mut().push(Arc::as_ptr(&sched) as usize));
        sched
    }

    pub(crate) fn is_owner(&self) -> bool {
        std::thread::current().id() == self.owner
    }

    pub(crate) fn set_ready_hook(&self, hook: Option<ReadyHook>) {
        *self.ready.lock() = hook;
    }

    pub(crate) fn take_ready_hook(&self) -> Option<ReadyHook> {
        self.ready.lock().take()
    }

    fn push(&self, entry: Notified) {
        let was_empty = {
            let mut q = self.queue.lock();
            q.push_back(entry);
            q.len() == 1
        };
        if was_empty {
            let hook = self.ready.lock().clone();
            if let Some(h) = hook {
                h();
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
        want_handle: bool,
    ) -> Result<Option<TaskRef>, (LocalError, B)> {
        // SAFETY: Arc::as_ptr is never null; full provenance (see the runtime's scheduler_ptr).
        let sched = unsafe { NonNull::new_unchecked(Arc::as_ptr(self).cast_mut()) }.cast();
        let h = Header::allocate(
            body,
            crate::core::id::next_id(),
            sched,
            Placement::Local,
            want_handle,
        );
        if !self.owned.insert(h) {
            // SAFETY: never linked or queued; nobody else has seen it.
            let body = unsafe { Header::unallocate::<B>(h) };
            return Err((LocalError::Shutdown, body));
        }
        // SAFETY: refs from allocate: list, entry, maybe handle.
        let entry = unsafe { Notified::from_raw(h) };
        let handle = want_handle.then(|| unsafe { TaskRef::from_raw(h) });
        self.push(entry);
        Ok(handle)
    }

    /// Aborts every task (from any thread): thread-bound tasks are then cancelled by the owner.
    /// Refuses further spawns.
    pub(crate) fn abort_all(&self) {
        for task in self.owned.close_and_collect() {
            harness::abort(task.ptr());
        }
    }

    /// Runs up to `max` queued entries on the owning thread; returns how many tasks it polled.
    pub(crate) fn run(&self, max: usize) -> Result<usize, LocalError> {
        if !self.is_owner() {
            return Err(LocalError::WrongThread);
        }
        let _active = Active::enter(&self.active);
        let mut polled = 0;
        for _ in 0..max {
            let Some(entry) = self.pop() else { break };
            if harness::run(entry) {
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
    pub(crate) fn close(&self, parker: &crate::core::park::Parker) -> Result<(), LocalError> {
        if !self.is_owner() {
            return Err(LocalError::WrongThread);
        }
        if self.active.load(Ordering::Relaxed) > 0 {
            return Err(LocalError::WouldDeadlock);
        }
        let _active = Active::enter(&self.active);
        let me = self as *const LocalScheduler as usize;
        OWNED_HERE.with(|o| o.borrow_mut().retain(|&a| a != me));
        for task in self.owned.close_and_collect() {
            harness::cancel_now(task.ptr());
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

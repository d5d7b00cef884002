//! The multi-threaded runtime: workers, the injector, the blocking pool, the owner list, and
//! the life cycle (build, spawn, shutdown, free).
//!
//! Life cycle: `build` starts the workers. `shutdown` closes the owner list (spawns are
//! refused from then on), aborts every listed task (those not running are cancelled on the
//! spot; running ones see the request), discards the queue entries it can reach, wakes every
//! worker so they discard theirs, and waits until every task has been released. `free` does a
//! shutdown without limit, then stops and joins every thread. The memory of [`Shared`] lives
//! while a thread of the runtime, the user's handle, or a remote waker in the middle of a
//! schedule holds an `Arc` to it; tasks do not keep it alive, because a task is released from
//! the owner list before it can outlive the runtime (rule 8 of `core::task`).

pub(crate) mod blocking;
pub(crate) mod config;
pub(crate) mod context;
pub(crate) mod fork;
pub(crate) mod worker;

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crossbeam_deque::{Injector, Steal, Stealer, Worker};

use crate::core::idle::Idle;
use crate::core::local::LocalScheduler;
use crate::core::park::Parker;
use crate::core::sync::Mutex;
use crate::core::task::owned::OwnedTasks;
use crate::core::task::state::Outcome;
use crate::core::task::{
    Body, Header, Notified, Placement, ScheduleKind, Scheduler, SchedulerVtable, TaskRef, harness,
    join, waiters,
};
use crate::core::timer::{self, InsertOutcome, TimerDriver, TimerKey, TimerTarget};
pub(crate) use config::Config;
use crossbeam_utils::CachePadded;
use worker::{Core, LifoSlot, WorkerStats};

/// Per-worker state reachable from other threads.
pub(crate) struct WorkerShared {
    pub(crate) parker: Arc<Parker>,
    pub(crate) stats: WorkerStats,
    pub(crate) lifo: LifoSlot,
}

#[repr(C)]
pub(crate) struct Shared {
    /// Must stay the first field: tasks point at it.
    scheduler: Scheduler,
    pub(crate) config: Config,
    pub(crate) owned: OwnedTasks,
    injector: Injector<Notified>,
    stealers: Box<[Stealer<Notified>]>,
    /// Cache-padded: each worker bumps its own counters on every poll, and neighbours sharing a
    /// line would make that a cross-core miss each time.
    pub(crate) workers: Box<[CachePadded<WorkerShared>]>,
    idle: Idle,
    /// fork-join: job deques' stealers, job injector, closed flag (core::fork_join::runtime).
    pub(crate) fj: crate::core::fork_join::runtime::RuntimeJobs,
    pub(crate) blocking: blocking::BlockingPool,
    pub(crate) timers: TimerDriver,
    pub(crate) blocking_polls: AtomicU64,
    /// Set (under its lock) by the shutdown that closes the runtime; a concurrent shutdown
    /// waits on the lock until the closing is done (see `shutdown`).
    closed: Mutex<bool>,
    exiting: AtomicBool,
    worker_threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// The process-wide default runtime refuses shutdown and free.
    pub(crate) is_default: bool,
    /// The fork generation this runtime was built in (see `fork`).
    fork_generation: u64,
    /// Schedulers of `block_on` calls on this runtime (their tasks are cancelled by shutdown);
    /// None once shutdown has begun.
    block_ons: Mutex<Option<Vec<Weak<LocalScheduler>>>>,
}

static VTABLE: SchedulerVtable = SchedulerVtable {
    schedule: schedule_entry,
    completed: task_completed,
    release: task_released,
    add_timer,
    cancel_timer,
};

/// Why a spawn did not happen. The body comes back untouched.
pub(crate) enum SpawnError {
    Shutdown,
}

/// Why a runtime could not be built.
#[derive(Debug)]
pub(crate) enum BuildError {
    /// A setting out of range (see `config`).
    Invalid,
    /// The OS refused a thread.
    Thread,
    /// The OS had no memory for a thread (its stack).
    NoMemory,
}

/// Counters for `tasks_runtime_metrics`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Metrics {
    pub(crate) workers: usize,
    pub(crate) blocking_threads: usize,
    pub(crate) idle_blocking_threads: usize,
    pub(crate) spawned: u64,
    pub(crate) completed: u64,
    pub(crate) failed: u64,
    pub(crate) cancelled: u64,
    pub(crate) alive: u64,
    pub(crate) polls: u64,
    pub(crate) steals: u64,
    pub(crate) parks: u64,
    pub(crate) injection_queue_depth: u64,
    pub(crate) local_queue_depth: u64,
}

impl Shared {
    /// Builds a runtime and starts its workers.
    pub(crate) fn build(config: Config, is_default: bool) -> Result<Arc<Shared>, BuildError> {
        let n = config.worker_threads.max(1);
        if n > config::MAX_WORKER_THREADS
            || !(config::MIN_STACK_SIZE..=config::MAX_STACK_SIZE).contains(&config.stack_size)
        {
            return Err(BuildError::Invalid);
        }
        let locals: Vec<Worker<Notified>> = (0..n).map(|_| Worker::new_fifo()).collect();
        let (fj, job_deques) = crate::core::fork_join::runtime::RuntimeJobs::new(n);
        let shared = Arc::new(Shared {
            scheduler: Scheduler { vtable: &VTABLE },
            owned: OwnedTasks::new(n * 4),
            injector: Injector::new(),
            stealers: locals.iter().map(|w| w.stealer()).collect(),
            workers: (0..n)
                .map(|_| {
                    CachePadded::new(WorkerShared {
                        parker: Arc::new(Parker::new()),
                        stats: WorkerStats::default(),
                        lifo: LifoSlot::new(),
                    })
                })
                .collect(),
            idle: Idle::new(n),
            fj,
            blocking: blocking::BlockingPool::new(),
            timers: TimerDriver::new(),
            blocking_polls: AtomicU64::new(0),
            closed: Mutex::new(false),
            exiting: AtomicBool::new(false),
            worker_threads: Mutex::new(Vec::with_capacity(n)),
            is_default,
            fork_generation: fork::current(),
            block_ons: Mutex::new(Some(Vec::new())),
            config,
        });
        for (index, (local, jobs)) in locals.into_iter().zip(job_deques).enumerate() {
            if let Err((e, _core)) = shared.start_worker(Core::new(index, local, jobs)) {
                shared.stop_threads();
                return Err(match e.kind() {
                    std::io::ErrorKind::OutOfMemory => BuildError::NoMemory,
                    _ => BuildError::Thread,
                });
            }
        }
        Ok(shared)
    }

    /// Starts a thread that runs `core` (at build, and when a thread gives its core away).
    /// Gives the core back if the OS refuses the thread. Joins threads that have exited since
    /// (threads whose core was given away end once their task returns).
    pub(crate) fn start_worker(
        self: &Arc<Self>,
        core: Box<Core>,
    ) -> Result<(), (std::io::Error, Box<Core>)> {
        let name = format!("{}-{}", self.config.thread_name, core.index());
        // The closure is dropped unrun if the spawn fails: the core must be recoverable then.
        let slot = Arc::new(Mutex::new(Some(core)));
        let (s, theirs) = (Arc::clone(self), Arc::clone(&slot));
        let spawned = self.spawn_thread(name, move || {
            let core = theirs.lock().take().expect("core handed over once");
            drop(theirs);
            worker::run(s, core);
        });
        match spawned {
            Ok(h) => {
                let finished = {
                    let mut threads = self.worker_threads.lock();
                    threads.push(h);
                    let (done, running): (Vec<_>, Vec<_>) = std::mem::take(&mut *threads)
                        .into_iter()
                        .partition(|h| h.is_finished());
                    *threads = running;
                    done
                };
                for h in finished {
                    let _ = h.join();
                }
                Ok(())
            }
            Err(e) => Err((e, slot.lock().take().expect("the thread never started"))),
        }
    }

    /// Queues an entry in the injector and wakes a worker for it.
    pub(crate) fn push_remote(&self, entry: Notified) {
        self.injector.push(entry);
        self.notify_worker();
    }

    /// Starts a thread of this runtime with its name, stack size and start/stop hooks.
    pub(crate) fn spawn_thread(
        &self,
        name: String,
        f: impl FnOnce() + Send + 'static,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        let start = self.config.on_thread_start.clone();
        let stop = self.config.on_thread_stop.clone();
        std::thread::Builder::new()
            .name(name)
            .stack_size(self.config.stack_size)
            .spawn(move || {
                if let Some(h) = &start {
                    h();
                }
                f();
                if let Some(h) = &stop {
                    h();
                }
            })
    }

    /// The pointer tasks keep. Taken from the `Arc` (not from a reference to the field or the
    /// struct) so that it may be turned back into the `Arc` to take a count (remote wakes).
    pub(crate) fn scheduler_ptr(self: &Arc<Self>) -> NonNull<Scheduler> {
        // SAFETY: Arc::as_ptr is never null.
        unsafe { NonNull::new_unchecked(Arc::as_ptr(self).cast_mut()) }.cast()
    }

    /// Whether this runtime was created before a `fork()` of this process: it then behaves as
    /// shut down (see `fork`).
    #[inline]
    pub(crate) fn is_forked(&self) -> bool {
        fork::current() != self.fork_generation
    }

    /// Spawns a task. On success returns the join handle's reference if one was asked for.
    pub(crate) fn spawn<B: Body>(
        self: &Arc<Self>,
        body: B,
        blocking: bool,
        want_handle: bool,
    ) -> Result<Option<TaskRef>, (SpawnError, B)> {
        if self.is_forked() {
            return Err((SpawnError::Shutdown, body));
        }
        let id = crate::core::id::next_id();
        let h = Header::allocate(
            body,
            id,
            self.scheduler_ptr(),
            if blocking {
                Placement::Blocking
            } else {
                Placement::Worker
            },
            want_handle,
        );
        if !self.owned.insert(h) {
            // SAFETY: never linked or queued; nobody else has seen it.
            let body = unsafe { Header::unallocate::<B>(h) };
            return Err((SpawnError::Shutdown, body));
        }
        // SAFETY: allocate gave us refs: list (now the list's), entry, and maybe the handle.
        let entry = unsafe { Notified::from_raw(h) };
        let handle = want_handle.then(|| unsafe { TaskRef::from_raw(h) });
        if blocking {
            self.blocking.submit(self, entry);
        } else {
            self.schedule(entry, ScheduleKind::Spawn);
        }
        Ok(handle)
    }

    /// Spawns a task that starts once `delay` has passed: its first queue entry waits in the
    /// timer driver. A zero delay is a plain spawn.
    pub(crate) fn spawn_after<B: Body>(
        self: &Arc<Self>,
        body: B,
        delay: Duration,
        want_handle: bool,
    ) -> Result<Option<TaskRef>, (SpawnError, B)> {
        let Some(deadline) = Instant::now()
            .checked_add(delay)
            .filter(|_| !delay.is_zero())
        else {
            return self.spawn(body, false, want_handle);
        };
        if self.is_forked() {
            return Err((SpawnError::Shutdown, body));
        }
        let id = crate::core::id::next_id();
        let h = Header::allocate(
            body,
            id,
            self.scheduler_ptr(),
            Placement::Worker,
            want_handle,
        );
        // The key goes in the task before anyone else can see it (an abort reads it).
        let key = TimerKey::new(deadline);
        // SAFETY: a fresh allocation that nobody else has seen yet.
        let header = unsafe { h.as_ref() };
        header.state.set_delayed();
        header.ext().timer.with_mut(|t| unsafe { *t = Some(key) });
        if !self.owned.insert(h) {
            // SAFETY: never linked or queued; nobody else has seen it.
            let body = unsafe { Header::unallocate::<B>(h) };
            return Err((SpawnError::Shutdown, body));
        }
        // SAFETY: the refs from allocate: list (now the list's), entry (now the timer's), handle.
        let entry = unsafe { Notified::from_raw(h) };
        let handle = want_handle.then(|| unsafe { TaskRef::from_raw(h) });
        self.add_timer(key, TimerTarget::Start(entry));
        Ok(handle)
    }

    pub(crate) fn add_timer(&self, key: TimerKey, target: TimerTarget) {
        match self.timers.insert(key, target) {
            InsertOutcome::Nothing => {}
            InsertOutcome::UnparkOwner(w) => self.workers[w].parker.unpark(),
            InsertOutcome::WakeAWorker => self.notify_worker(),
            // Shut down: a start entry is discarded (its task was cancelled), a waker dropped.
            InsertOutcome::Refused(target) => drop(target),
        }
    }

    /// Lets this runtime's shutdown cancel a `block_on` task; false if shutdown has begun.
    pub(crate) fn register_block_on(&self, sched: &Arc<LocalScheduler>) -> bool {
        match &mut *self.block_ons.lock() {
            Some(list) => {
                list.retain(|w| w.strong_count() > 0);
                list.push(Arc::downgrade(sched));
                true
            }
            None => false,
        }
    }

    pub(crate) fn unregister_block_on(&self, sched: &Arc<LocalScheduler>) {
        if let Some(list) = &mut *self.block_ons.lock() {
            list.retain(|w| !std::ptr::eq(w.as_ptr(), Arc::as_ptr(sched)));
        }
    }

    /// Fires the timers that are due (from a worker).
    pub(crate) fn fire_due_timers(&self) {
        if !self.timers.has_pending() {
            return;
        }
        let now = Instant::now();
        if self.timers.is_due(now) {
            timer::fire(self.timers.take_expired(now), |n| {
                self.schedule(n, ScheduleKind::Wake)
            });
        }
    }

    fn schedule(&self, entry: Notified, kind: ScheduleKind) {
        match context::current_worker() {
            Some(w) if std::ptr::eq(Arc::as_ptr(&w.shared), self) => w.schedule_local(entry, kind),
            _ => self.push_remote(entry),
        }
    }

    pub(crate) fn notify_worker(&self) {
        if let Some(idx) = self.idle.worker_to_notify() {
            self.workers[idx].parker.unpark();
        }
    }

    /// `notify_worker` right after a SeqCst read-modify-write that made the work visible.
    pub(crate) fn notify_worker_after_seqcst(&self) {
        if let Some(idx) = self.idle.worker_to_notify_after_seqcst() {
            self.workers[idx].parker.unpark();
        }
    }

    fn has_work(&self) -> bool {
        !self.injector.is_empty()
            || self.stealers.iter().any(|s| !s.is_empty())
            || self.workers.iter().any(|w| !w.lifo.is_empty())
            || self.fj.has_jobs()
    }

    fn wake_all_workers(&self) {
        for w in self.workers.iter() {
            w.parker.unpark();
        }
    }

    /// Closes the runtime to spawns and cancels everything not running (first call only), then
    /// waits for all tasks to be released. Returns false on timeout.
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) -> bool {
        if self.is_forked() {
            // The parent's tasks and threads: nothing here to stop or wait for.
            return true;
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        // Closing: every door is shut under the lock, so a concurrent shutdown returns only once
        // nothing can be spawned or block_on'd any more. Nothing here runs user code (that is
        // what the collected handles, entries and timers are for: they are released below,
        // outside the lock, where drop functions may call back into the library).
        let closing = {
            let mut closed = self.closed.lock();
            if *closed {
                None
            } else {
                *closed = true;
                // fork-join calls are refused from here on (core::fork_join::runtime).
                self.fj.close();
                let tasks = self.owned.close_and_collect();
                let block_ons = self.block_ons.lock().take().unwrap_or_default();
                // Timers of other schedulers' tasks (and anything left): dropped, not fired.
                let timers = self.timers.drain();
                // Entries we can reach are discarded here rather than waiting for a thread.
                let mut entries = self.blocking.drain();
                loop {
                    match self.injector.steal() {
                        Steal::Success(entry) => entries.push(entry),
                        Steal::Retry => continue,
                        Steal::Empty => break,
                    }
                }
                Some((tasks, block_ons, timers, entries))
            }
        };
        if let Some((tasks, block_ons, timers, entries)) = closing {
            for task in tasks {
                harness::abort(task.ptr());
            }
            for sched in block_ons.iter().filter_map(Weak::upgrade) {
                sched.abort_all();
            }
            drop(timers);
            drop(entries);
            self.wake_all_workers();
        }
        self.owned.wait_empty(deadline)
    }

    /// Full shutdown, then stops and joins every thread.
    pub(crate) fn shutdown_and_join(&self) {
        if self.is_forked() {
            return;
        }
        self.shutdown(None);
        self.stop_threads();
    }

    fn stop_threads(&self) {
        self.exiting.store(true, Ordering::Release);
        self.wake_all_workers();
        // A thread may give its core away (and start another) until every task has ended.
        loop {
            let handles = std::mem::take(&mut *self.worker_threads.lock());
            if handles.is_empty() {
                break;
            }
            for h in handles {
                let _ = h.join();
            }
        }
        self.blocking.shutdown_and_join();
    }

    pub(crate) fn metrics(&self) -> Metrics {
        let c = self.owned.counts();
        let pool = self.blocking.counts();
        let mut m = Metrics {
            workers: self.workers.len(),
            blocking_threads: pool.threads,
            idle_blocking_threads: pool.idle,
            spawned: c.spawned,
            completed: c.completed,
            failed: c.failed,
            cancelled: c.cancelled,
            alive: c
                .spawned
                .saturating_sub(c.completed + c.failed + c.cancelled),
            polls: self.blocking_polls.load(Ordering::Relaxed),
            injection_queue_depth: self.injector.len() as u64,
            local_queue_depth: self.stealers.iter().map(|s| s.len() as u64).sum::<u64>()
                + self.workers.iter().filter(|w| !w.lifo.is_empty()).count() as u64,
            ..Metrics::default()
        };
        for w in self.workers.iter() {
            m.polls += w.stats.polls.load(Ordering::Relaxed);
            m.steals += w.stats.steals.load(Ordering::Relaxed);
            m.parks += w.stats.parks.load(Ordering::Relaxed);
        }
        m
    }

    /// Whether the calling thread is one of this runtime's threads, also from inside a
    /// `block_on` of another runtime.
    pub(crate) fn is_current(&self) -> bool {
        context::belongs_to(self)
    }
}

/// The process-wide default runtime, created on first use and never freed (None if its
/// threads could not be started; a later call tries again). In a child process after `fork`
/// a new one is built: the parent's stays allocated but unused (see `fork`).
pub(crate) fn default_runtime() -> Option<&'static Arc<Shared>> {
    use std::sync::atomic::AtomicPtr;
    static DEFAULT: AtomicPtr<Arc<Shared>> = AtomicPtr::new(std::ptr::null_mut());
    let current = DEFAULT.load(Ordering::Acquire);
    // SAFETY: published below from a leaked Box, never freed.
    if let Some(rt) = unsafe { current.as_ref() }
        && !rt.is_forked()
    {
        return Some(rt);
    }
    // No lock (one held by a parent thread at fork time would never be released in the
    // child): build, then publish unless another thread won the race.
    let fresh = Box::into_raw(Box::new(Shared::build(Config::default(), true).ok()?));
    match DEFAULT.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire) {
        // SAFETY: just published; leaked for the life of the process.
        Ok(_) => Some(unsafe { &*fresh }),
        Err(winner) => {
            // SAFETY: ours was never published.
            let ours = unsafe { Box::from_raw(fresh) };
            ours.shutdown_and_join();
            // SAFETY: the winner's, published and never freed.
            unsafe { winner.as_ref() }
        }
    }
}

/// Waits for a task: helping on a worker thread, parking elsewhere. None on timeout.
pub(crate) fn join_task(target: NonNull<Header>, deadline: Option<Instant>) -> Option<Outcome> {
    if let Some(w) = context::current_worker() {
        return w.join(target, deadline);
    }
    // SAFETY: the caller holds a reference (its join handle).
    let target = unsafe { target.as_ref() };
    let done = wait_until(
        &|| join::outcome(target).is_some(),
        &|p| waiters::register(target, p),
        &|p| waiters::deregister(target, p),
        deadline,
    );
    if done { join::outcome(target) } else { None }
}

/// Waits until `done()` or `deadline` (see `WorkerCtx::help_until`): on a worker thread it runs
/// other tasks meanwhile, elsewhere it parks the thread. Returns whether `done()`.
pub(crate) fn wait_until(
    done: &dyn Fn() -> bool,
    arm: &dyn Fn(&Arc<Parker>) -> bool,
    disarm: &dyn Fn(&Arc<Parker>),
    deadline: Option<Instant>,
) -> bool {
    if let Some(w) = context::current_worker() {
        return w.help_until(done, arm, disarm, deadline);
    }
    let parker = crate::core::park::current();
    loop {
        if done() {
            return true;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        if arm(&parker) {
            parker.park(deadline);
            disarm(&parker);
        }
    }
}

unsafe fn shared_of<'a>(s: NonNull<Scheduler>) -> &'a Shared {
    // SAFETY: `scheduler` is the first field of the repr(C) Shared these tasks point at.
    unsafe { s.cast::<Shared>().as_ref() }
}

unsafe fn schedule_entry(s: NonNull<Scheduler>, entry: Notified, kind: ScheduleKind) {
    // SAFETY: the task is SCHEDULED hence listed, hence the runtime is alive (rule 8).
    let shared = unsafe { shared_of(s) };
    match context::current_worker() {
        Some(w) if std::ptr::eq(Arc::as_ptr(&w.shared), shared) => w.schedule_local(entry, kind),
        _ => {
            // From outside the runtime: once the entry is pushed, a worker may run the task to
            // completion and the runtime may be freed before we wake a worker, so hold it.
            // SAFETY: the Shared is alive (above), and `s` came from `Arc::as_ptr`.
            let raw = s.cast::<Shared>().as_ptr().cast_const();
            let guard = unsafe {
                Arc::increment_strong_count(raw);
                Arc::from_raw(raw)
            };
            guard.push_remote(entry);
        }
    }
}

unsafe fn task_completed(s: NonNull<Scheduler>, h: &Header, outcome: Outcome) {
    // SAFETY: called while the task is still listed.
    unsafe { shared_of(s) }.owned.count(h, outcome);
}

unsafe fn add_timer(s: NonNull<Scheduler>, key: TimerKey, target: TimerTarget) {
    // SAFETY: called for a listed task.
    unsafe { shared_of(s) }.add_timer(key, target);
}

unsafe fn cancel_timer(s: NonNull<Scheduler>, key: TimerKey) -> Option<TimerTarget> {
    // SAFETY: called for a listed task.
    unsafe { shared_of(s) }.timers.cancel(key)
}

unsafe fn task_released(s: NonNull<Scheduler>, h: &Header) {
    // SAFETY: called while the task is still listed.
    unsafe { shared_of(s) }.owned.remove(h);
}

//! The multi-threaded runtime: workers, the injector, the blocking pool, the owner list, and
//! the life cycle (build, spawn, shutdown, free).
//!
//! Life cycle: `build` starts the workers. `shutdown` closes the owner list (spawns are
//! refused from then on), aborts every listed task (those not running are cancelled on the
//! spot; running ones see the request), discards the queue entries it can reach, wakes every
//! worker so they discard theirs, and waits until every task has been released. `free` does a
//! shutdown without limit, then stops and joins every thread. The memory of [`Runtime`] lives
//! while a thread of the runtime, the user's handle, or a remote waker in the middle of a
//! schedule holds an `Arc` to it; tasks do not keep it alive, because a task is released from
//! the owner list before it can outlive the runtime (rule 8 of `core::task`).

pub(crate) mod blocking;
pub(crate) mod config;
pub(crate) mod fork;
pub(crate) mod this_thread;
pub(crate) mod wait;
pub(crate) mod worker;

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crossbeam_deque::{Injector, Steal, Stealer, Worker};

use crate::core::idle::Idle;
use crate::core::local_scheduler::LocalScheduler;
use crate::core::park::Parker;
use crate::core::sync::Mutex;
use crate::core::task::{
    self, Body, JoinHandle, Joining, Notified, OwnedTasks, Placement, Schedule, ScheduleKind,
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

pub(crate) struct Runtime {
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

/// Why a runtime was not stopped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StopError {
    /// The process-wide default runtime is never stopped.
    DefaultRuntime,
    /// From one of the runtime's own threads (or a `block_on` on it).
    OwnThread,
    /// Tasks were still running when the shutdown's timeout passed.
    TimedOut,
}

/// Why a spawn did not happen: the runtime is shut down (or was built before a `fork`). The
/// body comes back untouched with it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SpawnError;

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

/// A runtime's counters. completed = finished with OK, failed = FAILED, cancelled = CANCELLED;
/// alive = spawned and not yet finished; spawned = completed + failed + cancelled + alive.
/// polls counts task runs (a poll of a poll-style task, the run of a run-to-completion task).
/// The queue depths are a snapshot.
// The one list of the metrics: the C binding hands this struct out as it is (`repr(C)`;
// renamed for the header in cbindgen.toml).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Metrics {
    pub workers: usize,
    pub blocking_threads: usize,
    pub idle_blocking_threads: usize,
    pub spawned: u64,
    pub completed: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub alive: u64,
    pub polls: u64,
    pub steals: u64,
    pub parks: u64,
    pub injection_queue_depth: u64,
    pub local_queue_depth: u64,
}

impl Runtime {
    /// Builds a runtime and starts its workers.
    pub(crate) fn build(config: Config, is_default: bool) -> Result<Arc<Runtime>, BuildError> {
        let n = config.worker_threads.max(1);
        if n > config::MAX_WORKER_THREADS
            || !(config::MIN_STACK_SIZE..=config::MAX_STACK_SIZE).contains(&config.stack_size)
        {
            return Err(BuildError::Invalid);
        }
        let locals: Vec<Worker<Notified>> = (0..n).map(|_| Worker::new_fifo()).collect();
        let (fj, job_deques) = crate::core::fork_join::runtime::RuntimeJobs::new(n);
        let shared = Arc::new(Runtime {
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

    /// Whether this runtime was created before a `fork()` of this process: it then behaves as
    /// shut down (see `fork`).
    #[inline]
    pub(crate) fn is_forked(&self) -> bool {
        fork::current() != self.fork_generation
    }

    /// Spawns a task (the one spawn path, `task::spawn`, then the queue `placement` names).
    /// Returns the join handle when `joining` asks for one.
    pub(crate) fn spawn<B: Body>(
        self: &Arc<Self>,
        body: B,
        placement: Placement,
        joining: Joining,
    ) -> Result<Option<JoinHandle>, (SpawnError, B)> {
        if self.is_forked() {
            return Err((SpawnError, body));
        }
        let spawned = task::spawn(self, body, placement, joining).map_err(|b| (SpawnError, b))?;
        match placement {
            Placement::Worker => self.submit(spawned.entry, ScheduleKind::Spawn),
            Placement::WorkFirst => self.submit_work_first(spawned.entry),
            Placement::Blocking => self.blocking.submit(self, spawned.entry),
            // The first entry waits in the timer driver until the start time.
            Placement::Delayed(key) => self.add_timer(key, TimerTarget::Start(spawned.entry)),
        }
        Ok(spawned.handle)
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
                self.submit(n, ScheduleKind::Wake)
            });
        }
    }

    /// Queues an entry from a thread that keeps the runtime alive (a worker, or a caller holding
    /// an `Arc`): a worker of this runtime keeps it local, anyone else uses the injector.
    fn submit(&self, entry: Notified, kind: ScheduleKind) {
        match this_thread::current_worker() {
            Some(w) if std::ptr::eq(Arc::as_ptr(&w.shared), self) => w.schedule_local(entry, kind),
            _ => self.push_remote(entry),
        }
    }

    /// Queues a fork-join scope task's entry on the calling worker's LIFO job deque (see
    /// `Placement::WorkFirst`); from anywhere else, like any remote entry.
    fn submit_work_first(&self, entry: Notified) {
        let entry = match this_thread::current_worker() {
            Some(w) if std::ptr::eq(Arc::as_ptr(&w.shared), self) => match w.push_task_job(entry) {
                Ok(()) => return,
                Err(entry) => entry,
            },
            _ => entry,
        };
        self.push_remote(entry);
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

    /// Whether this runtime may be stopped from here: never the default runtime (other parts
    /// of the process may be using it), and never from one of its own threads (the stop would
    /// wait for the very thread asking).
    fn check_can_stop(&self) -> Result<(), StopError> {
        if self.is_default {
            Err(StopError::DefaultRuntime)
        } else if self.is_current() {
            Err(StopError::OwnThread)
        } else {
            Ok(())
        }
    }

    /// The user's shutdown: [`shutdown_now`](Self::shutdown_now) after `check_can_stop`;
    /// `TimedOut` when tasks were still running at the timeout (the runtime stays closed).
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) -> Result<(), StopError> {
        self.check_can_stop()?;
        if self.shutdown_now(timeout) {
            Ok(())
        } else {
            Err(StopError::TimedOut)
        }
    }

    /// The user's free, taking over the user's count: a full shutdown, every thread joined,
    /// then the count is released. Refused (as `check_can_stop`) with the count left with
    /// the caller. In a child process after `fork` nothing is stopped or released: the
    /// runtime's tasks belong to the parent, so its memory is left as it is.
    pub(crate) fn free(this: Arc<Runtime>) -> Result<(), StopError> {
        let this = ManuallyDrop::new(this);
        this.check_can_stop()?;
        if this.is_forked() {
            return Ok(());
        }
        this.shutdown_and_join();
        drop(ManuallyDrop::into_inner(this));
        Ok(())
    }

    /// Closes the runtime to spawns and cancels everything not running (first call only), then
    /// waits for all tasks to be released. Returns false on timeout.
    fn shutdown_now(&self, timeout: Option<Duration>) -> bool {
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
                task.abort();
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
        self.shutdown_now(None);
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
        this_thread::belongs_to(self)
    }
}

/// Runs `f`, which may block for long. On a worker thread the worker's core (and the tasks it
/// holds) first goes to a substitute thread (see `WorkerCtx::block_in_place`); elsewhere `f`
/// just runs.
pub(crate) fn block_in_place<R>(f: impl FnOnce() -> R) -> R {
    match this_thread::current_worker() {
        Some(w) => w.block_in_place(f),
        None => f(),
    }
}

/// Calls `f` with the runtime a call means: `explicit` if given, else the runtime of the calling
/// thread (a worker or blocking thread of it, or inside its `block_on`), else the default
/// runtime. None when the default runtime was needed and could not be started.
pub(crate) fn with_runtime<R>(
    explicit: Option<&Arc<Runtime>>,
    f: impl FnOnce(&Arc<Runtime>) -> R,
) -> Option<R> {
    if let Some(rt) = explicit {
        return Some(f(rt));
    }
    let mut f = Some(f);
    let mine = this_thread::with_current_runtime(|rt| match f.take() {
        Some(f) if !rt.is_forked() => Ok(f(rt)),
        other => Err(other),
    });
    match mine {
        Some(Ok(r)) => Some(r),
        Some(Err(rest)) => default_runtime().map(rest.expect("not called")),
        None => default_runtime().map(f.expect("not called")),
    }
}

/// The process-wide default runtime, created on first use and never freed (None if its
/// threads could not be started; a later call tries again). In a child process after `fork`
/// a new one is built: the parent's stays allocated but unused (see `fork`).
pub(crate) fn default_runtime() -> Option<&'static Arc<Runtime>> {
    use std::sync::atomic::AtomicPtr;
    static DEFAULT: AtomicPtr<Arc<Runtime>> = AtomicPtr::new(std::ptr::null_mut());
    let current = DEFAULT.load(Ordering::Acquire);
    // SAFETY: published below from a leaked Box, never freed.
    if let Some(rt) = unsafe { current.as_ref() }
        && !rt.is_forked()
    {
        return Some(rt);
    }
    // No lock (one held by a parent thread at fork time would never be released in the
    // child): build, then publish unless another thread won the race.
    let fresh = Box::into_raw(Box::new(Runtime::build(Config::default(), true).ok()?));
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

impl Schedule for Runtime {
    const THREAD_BOUND: bool = false;

    fn task_list(&self) -> &OwnedTasks {
        &self.owned
    }

    fn schedule(this: &Arc<Self>, entry: Notified, kind: ScheduleKind) {
        match this_thread::current_worker() {
            Some(w) if Arc::ptr_eq(&w.shared, this) => w.schedule_local(entry, kind),
            _ => {
                // From outside the runtime: once the entry is pushed, a worker may run the task
                // to completion and the runtime may be freed before we wake a worker, so hold it.
                let guard = Arc::clone(this);
                guard.push_remote(entry);
            }
        }
    }

    fn add_timer(&self, key: TimerKey, target: TimerTarget) {
        Runtime::add_timer(self, key, target);
    }

    fn cancel_timer(&self, key: TimerKey) -> Option<TimerTarget> {
        self.timers.cancel(key)
    }
}

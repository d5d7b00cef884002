//! Fork-join on the runtime: the job queues a runtime holds, the worker as a [`JobHost`], and
//! the two ways of entering fork-join (on a worker that holds a core of the runtime: directly;
//! anywhere else: inject one job and wait for it).
//!
//! # Job queues
//! Each core owns a LIFO job deque (crossbeam's Chase-Lev `Worker::new_lifo`: the owner pushes
//! and pops at the back, thieves steal the oldest, largest piece at the front); its `Stealer`
//! sits in [`RuntimeJobs`] with the runtime's job injector, where calls from outside the
//! runtime's workers put their one job. The worker loop (`runtime/worker/jobs.rs`) runs its
//! own newest job first, then its tasks, then steals jobs, then tasks; a helping wait does the
//! same. `Runtime::has_work` (the sleepers' re-check) includes every job queue.
//!
//! # Waking workers for jobs
//! A job push is followed by a SeqCst fence and one load of the idle word
//! (`Idle::needs_notify_after_push`); `notify_worker` runs only if some worker sleeps and none
//! searches. The fence matters: the pushing worker's `a` may block until `b` has run (a waits
//! for something b does), so a sleeper that missed the push would be a hang, not just lost
//! parallelism (loom `loom_job_push_wakes_idle_worker` deadlocks without it). A push to the
//! job injector (a caller that then parks) uses the full notify.
//!
//! # Shutdown
//! `shutdown` closes [`RuntimeJobs`] first: from then on fork-join calls on the runtime return
//! `TASKS_ERR_SHUTDOWN` without running anything. Workers keep running until `free` stops
//! them, which happens only after every task has ended, and every job belongs to a call that
//! waits for it (a task of the runtime, or a thread that must not use a runtime it frees): so a
//! job is never discarded. A worker that exits anyway with jobs in reach (a program freeing a
//! runtime while it still uses it) runs them rather than leave their callers hanging.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crossbeam_deque::{Injector, Steal, Stealer, Worker};

use super::cancel::CancelCtx;
use super::job::{JobRef, StackJob};
use super::join2::{JobHost, join_on};
use super::latch::Latch;
use crate::core::park::Parker;
use crate::core::runtime::Runtime;
use crate::core::runtime::this_thread;
use crate::core::runtime::wait::{WaitFor, wait_until};
use crate::core::runtime::worker::WorkerCtx;
use crate::core::thread_state;

/// The runtime is shut down: nothing ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shutdown;

/// A core's own job deque.
pub(crate) type JobDeque = Worker<JobRef>;

/// The job queues of a runtime reachable from every thread (module docs).
pub(crate) struct RuntimeJobs {
    closed: AtomicBool,
    injector: Injector<JobRef>,
    stealers: Box<[Stealer<JobRef>]>,
}

impl RuntimeJobs {
    /// The shared part, and one deque per worker (for its core).
    pub(crate) fn new(workers: usize) -> (RuntimeJobs, Vec<JobDeque>) {
        let deques: Vec<JobDeque> = (0..workers).map(|_| Worker::new_lifo()).collect();
        let shared = RuntimeJobs {
            closed: AtomicBool::new(false),
            injector: Injector::new(),
            stealers: deques.iter().map(Worker::stealer).collect(),
        };
        (shared, deques)
    }

    /// From `shutdown`: fork-join calls are refused from now on.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    #[inline]
    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Whether any job is queued (the sleepers' re-check).
    pub(crate) fn has_jobs(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|s| !s.is_empty())
    }

    /// Queues a job for any worker; the caller notifies one.
    pub(crate) fn inject(&self, job: JobRef) {
        self.injector.push(job);
    }

    /// Steals the oldest job of another worker (victims from `start`, skipping `own`), else
    /// one from the injector.
    pub(crate) fn steal(&self, own: usize, start: usize) -> Option<JobRef> {
        let n = self.stealers.len();
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == own {
                continue;
            }
            let s = &self.stealers[victim];
            // is_empty first: a steal pins crossbeam's epoch, which costs more than two loads.
            while !s.is_empty() {
                match s.steal() {
                    Steal::Success(j) => return Some(j),
                    Steal::Empty => break,
                    Steal::Retry => continue,
                }
            }
        }
        self.steal_injected()
    }

    /// A job from the injector.
    pub(crate) fn steal_injected(&self) -> Option<JobRef> {
        while !self.injector.is_empty() {
            match self.injector.steal() {
                Steal::Success(j) => return Some(j),
                Steal::Empty => break,
                Steal::Retry => continue,
            }
        }
        None
    }
}

/// Whether fork-join calls on `rt` are refused (shut down, or built before a `fork()`).
pub(crate) fn is_shut_down(rt: &Runtime) -> bool {
    rt.fj.is_closed() || rt.is_forked()
}

impl JobHost for WorkerCtx {
    #[inline]
    fn push_job(&self, job: JobRef) -> bool {
        WorkerCtx::push_job(self, job)
    }

    #[inline]
    fn pop_job(&self) -> Option<JobRef> {
        WorkerCtx::pop_job(self)
    }

    fn push_back(&self, job: JobRef) {
        WorkerCtx::push_job_back(self, job);
    }

    fn wait(&self, latch: &Latch) {
        self.help_until(
            &LatchSet {
                latch,
                extra: &|| false,
            },
            None,
        );
    }
}

/// A wait for a latch (or for `extra()`).
struct LatchSet<'a> {
    latch: &'a Latch,
    extra: &'a dyn Fn() -> bool,
}

impl WaitFor for LatchSet<'_> {
    fn done(&self) -> bool {
        self.latch.probe() || (self.extra)()
    }
    fn arm(&self, parker: &Arc<Parker>) -> bool {
        self.latch.arm(parker)
    }
    fn disarm(&self, _: &Arc<Parker>) {
        self.latch.disarm();
    }
}

/// Waits until `latch` is set, `extra()` is true or `deadline` passes: helping on a worker,
/// parking elsewhere. Returns whether the latch is set.
pub(crate) fn wait_latch(
    latch: &Latch,
    extra: &dyn Fn() -> bool,
    deadline: Option<Instant>,
) -> bool {
    wait_until(&LatchSet { latch, extra }, deadline);
    latch.probe()
}

/// The worker of `rt` the calling thread is, if it holds a core (so it can offer jobs).
#[inline]
fn local_worker<'a>(rt: &Runtime) -> Option<&'a WorkerCtx> {
    this_thread::current_worker()
        .filter(|w| std::ptr::eq(Arc::as_ptr(&w.shared), rt) && w.has_core())
}

/// Runs `f` on a worker of `rt` that holds a core: here if the calling thread is one, else as
/// one injected job while this thread waits (parking, or helping its own runtime). `f` gets
/// the worker it runs on.
pub(crate) fn on_worker<R: Send>(
    rt: &Runtime,
    origin: CancelCtx,
    f: impl FnOnce(&WorkerCtx) -> R + Send,
) -> R {
    if let Some(w) = local_worker(rt) {
        return f(w);
    }
    let job = StackJob::new(
        |_| {
            let w = this_thread::current_worker().expect("jobs run on workers");
            f(w)
        },
        origin,
    );
    rt.fj.inject(job.as_job_ref());
    rt.notify_worker();
    wait_latch(job.latch(), &|| false, None);
    job.take_result()
}

/// `join2` (see `join2.rs`): `a` here and `b` offered to the other workers when the calling
/// thread is a worker of `rt` with a core; otherwise both on `rt`'s workers while this thread
/// waits.
pub(crate) fn join2<A, B, RA, RB>(rt: &Runtime, a: A, b: B) -> Result<(RA, RB), Shutdown>
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    if is_shut_down(rt) {
        return Err(Shutdown);
    }
    let origin = CancelCtx::current();
    if let Some(w) = local_worker(rt) {
        return Ok(join_on(w, a, |_| b(), origin));
    }
    Ok(on_worker(rt, origin, |w| join_on(w, a, |_| b(), origin)))
}

/// [`join2`] on the runtime a call without one means: the calling worker's, else the calling
/// thread's (blocking-pool thread, `block_on`), else the default runtime. None when no default
/// runtime could be started.
pub(crate) fn join2_here<A, B, RA, RB>(a: A, b: B) -> Option<Result<(RA, RB), Shutdown>>
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    // One thread-local lookup for the worker and the cancellation context.
    let (worker, origin) =
        thread_state::with(|s| (this_thread::worker_in(s), CancelCtx::current_in(s)));
    match worker {
        // A worker holding a core: the fast path.
        Some(w) if w.has_core() => {
            if is_shut_down(&w.shared) {
                return Some(Err(Shutdown));
            }
            Some(Ok(join_on(w, a, |_| b(), origin)))
        }
        Some(w) => Some(join2(&w.shared, a, b)),
        None => crate::core::runtime::with_runtime(None, |rt| join2(rt, a, b)),
    }
}

//! The worker's side of fork-join (see `core::fork_join`): a core's job deque, and the steps
//! the worker loop and helping waits take for jobs. A child module of `worker` so that it can
//! reach the core; the loop calls it at a few marked places.
//!
//! Order of work in `main_loop` and `help_until`: the core's own newest job (it belongs to a
//! caller waiting on this stack, or, after a core hand-off, on the giver's), then tasks
//! (`next_task`), then stealing jobs (oldest first), then stealing tasks (`search`), then sleep.
//! Stealing jobs happens in the searching role, like stealing tasks, so a producer that saw a
//! searcher may rely on it to find the job.

use std::ptr::NonNull;

use crossbeam_deque::Worker;

use super::{Core, WorkerCtx, bump};
use crate::core::fork_join::job::JobRef;
use crate::core::runtime::this_thread;
use crate::core::task::Notified;

/// Runs a task entry that waited in a job deque (see `push_task_job`), counting the poll on
/// the running worker like any task run.
unsafe fn run_task_entry(ptr: *const ()) {
    // SAFETY: `push_task_job` made `ptr` from `Notified::into_raw`; the job runs once.
    let entry = unsafe { Notified::from_raw(NonNull::new_unchecked(ptr.cast_mut().cast())) };
    match this_thread::current_worker().and_then(|w| Some((w, w.core()?))) {
        Some((w, core)) => {
            let stats = w.stats(core);
            entry.run_counted(|| bump(&stats.polls));
        }
        None => {
            entry.run();
        }
    }
}

impl WorkerCtx {
    /// Pushes a job onto the job deque of the core this thread holds and wakes a sleeping
    /// worker if one sleeps and none searches (a fence and one load when not: see
    /// `fork_join::runtime`, "Waking workers for jobs"). False without a core.
    #[inline]
    pub(crate) fn push_job(&self, job: JobRef) -> bool {
        let Some(core) = self.core() else {
            return false;
        };
        core.jobs.push(job);
        if self.shared.idle.needs_notify_after_push() {
            self.shared.notify_worker();
        }
        true
    }

    /// Queues a task's entry as a job on this core's deque (`Placement::WorkFirst`); gives it
    /// back without a core.
    pub(crate) fn push_task_job(&self, entry: Notified) -> Result<(), Notified> {
        if self.core().is_none() {
            return Err(entry);
        }
        let ptr = entry.into_raw().as_ptr().cast_const().cast();
        // SAFETY: the entry's reference travels in the job; `run_task_entry` takes it back once.
        self.push_job(unsafe { JobRef::from_parts(ptr, run_task_entry) });
        Ok(())
    }

    /// Pops the newest job of the core this thread holds (None without a core).
    #[inline]
    pub(crate) fn pop_job(&self) -> Option<JobRef> {
        self.core()?.jobs.pop()
    }

    /// Puts back a job just popped: on this core's deque, or the injector without a core.
    pub(crate) fn push_job_back(&self, job: JobRef) {
        match self.core() {
            Some(core) => core.jobs.push(job),
            None => {
                self.shared.fj.inject(job);
                self.shared.notify_worker();
            }
        }
    }

    /// Whether the core's job deque holds anything (it must be empty before the worker sleeps).
    pub(super) fn has_own_jobs(&self, core: &Core) -> bool {
        !core.jobs.is_empty()
    }

    /// Runs the newest job of this core's deque. Returns whether there was one.
    #[inline]
    pub(super) fn run_own_job(&self, core: &Core) -> bool {
        // Two plain loads first: the loop passes here before every task, and a pop of a LIFO
        // deque costs a SeqCst fence even when it finds nothing. Only this core pushes, so an
        // empty answer is exact.
        if core.jobs.is_empty() {
            return false;
        }
        match core.jobs.pop() {
            Some(job) => {
                self.run_job(core, job);
                true
            }
            None => false,
        }
    }

    /// In the searching role (like `search`), steals a job from another worker or the job
    /// injector and runs it. Returns whether it ran one.
    pub(super) fn steal_and_run_job(&self, core: &Core) -> bool {
        if !self.shared.idle.enter_search(&core.searching) {
            return false;
        }
        let start = core.next_rand() as usize;
        match self
            .shared
            .fj
            .steal(core.index, start % self.shared.workers.len())
        {
            Some(job) => {
                super::bump(&self.stats(core).steals);
                self.run_job(core, job);
                true
            }
            None => false,
        }
    }

    fn run_job(&self, core: &Core, job: JobRef) {
        self.leave_search(core);
        // SAFETY: taken out of its queue just now, so it runs once.
        unsafe { job.execute() }
    }

    /// `release_work`'s part for jobs: everything in the deque moves to the job injector.
    pub(super) fn release_jobs(&self, core: &Core) {
        while let Some(job) = core.jobs.pop() {
            self.shared.fj.inject(job);
        }
    }

    /// At thread exit (the runtime is being freed): a job still in reach belongs to a caller
    /// that waits for it, so it is run, not dropped.
    pub(super) fn drain_jobs(&self, core: &Core) {
        while let Some(job) = core.jobs.pop().or_else(|| self.shared.fj.steal_injected()) {
            // SAFETY: as in `run_job`.
            unsafe { job.execute() }
        }
    }
}

/// A core's job deque (created with its stealer by `RuntimeJobs::new`).
pub(crate) type CoreJobs = Worker<JobRef>;

//! The join protocol: run `a` here while `b` waits, stealable, in this worker's job deque; then
//! take `b` back and run it inline, or wait for whoever took it.
//!
//! # Why popping back finds `b` if nobody took it
//! The job deque belongs to a core, and only the thread that holds the core pushes or pops it.
//! Every push made while `a` ran (nested joins) was matched by its own pop-back or taken by
//! someone else before `a` returned, so if `b` is still in the deque it is on top. If the pop
//! returns something else, `b` was taken (a thief, or a helping wait of this very thread that
//! ran it to completion) and the entry we popped is an older one of an enclosing join: it is
//! pushed back unchanged and we wait for `b`'s latch.
//!
//! # Cores that move (`block_in_place`, or a wait that could not nest, inside `a`)
//! The thread may give its core to a substitute thread while `a` runs. A thread never gets a
//! core back once it gave its core away (a failed hand-off keeps the same core), so after `a`
//! the thread holds either the very core it pushed to, or none. With none, the pop-back
//! reports nothing and we wait on the latch: `b` is then in a deque whose owner is now the
//! substitute (which runs it from its loop), or a thief has it, or it moved to the runtime's job
//! injector (`release_work`); in every case exactly one thread takes it and sets the latch.
//!
//! # The fast path
//! No allocation, no atomic read-modify-write of our own: a deque push (a release store), a
//! load of the idle word (to wake a sleeping worker if one exists and none is searching), `a`,
//! a deque pop (crossbeam's Chase-Lev pop has its SeqCst fence), `b`.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use super::cancel::CancelCtx;
use super::job::{JobRef, StackJob};
use super::latch::Latch;

/// What the join protocol needs from the thread it runs on (the real one is the worker; loom
/// models provide a queue and a parker of their own).
pub(crate) trait JobHost {
    /// Pushes `job` onto the job deque of the core this thread holds, offering it to the other
    /// workers. False if the thread holds no core (the caller then runs the job itself).
    fn push_job(&self, job: JobRef) -> bool;
    /// Pops the newest job of the core this thread still holds (None without one).
    fn pop_job(&self) -> Option<JobRef>;
    /// Puts back a job just popped (it was not the one we looked for).
    fn push_back(&self, job: JobRef);
    /// Waits until `latch` is set, running other work meanwhile where possible.
    fn wait(&self, latch: &Latch);
}

/// Runs `a` and `b`, potentially in parallel (module docs). `b` runs with `origin` as its
/// cancellation context if another thread takes it. Returns both results; a panic in either
/// continues here once both are done.
pub(crate) fn join_on<H, A, B, RA, RB>(host: &H, a: A, b: B, origin: CancelCtx) -> (RA, RB)
where
    H: JobHost + ?Sized,
    A: FnOnce() -> RA,
    B: FnOnce(bool) -> RB + Send,
    RB: Send,
{
    let job_b = StackJob::new(b, origin);
    let job_ref = job_b.as_job_ref();
    if !host.push_job(job_ref) {
        // No core to offer it from: run both here, one after the other.
        let ra = a();
        return (ra, job_b.run_inline());
    }
    // `a` must not unwind past us while `b` may be queued or running: catch, finish `b`, rethrow.
    let ra = catch_unwind(AssertUnwindSafe(a));
    let rb = take_back(host, &job_b, &job_ref);
    match ra {
        Ok(ra) => (ra, rb),
        Err(p) => resume_unwind(p),
    }
}

/// The pop-back: run `job` inline if it is still ours to take, else wait for its latch.
fn take_back<H, F, R>(host: &H, job: &StackJob<F, R>, job_ref: &JobRef) -> R
where
    H: JobHost + ?Sized,
    F: FnOnce(bool) -> R + Send,
    R: Send,
{
    if !job.latch().probe() {
        match host.pop_job() {
            Some(j) if j.same(job_ref) => return job.run_inline(),
            Some(other) => host.push_back(other),
            None => {}
        }
        host.wait(job.latch());
    }
    job.take_result()
}

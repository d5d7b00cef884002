//! Jobs: work that lives on the stack of the call that waits for it.
//!
//! A [`StackJob`] holds a closure, a slot for its result and a [`Latch`]; it lives in the
//! frame of the call that created it (`join2`, a loop split, an injected call). Queues hold a
//! [`JobRef`]: a raw pointer to the job and the function that runs it. Nothing is allocated.
//!
//! # The invariant that makes the raw pointer safe
//! A job is in at most one queue at a time and is taken out exactly once (crossbeam's deques
//! guarantee that a pop and a steal never return the same entry). Whoever takes it either
//! - is the creating call itself, which runs the closure inline ([`StackJob::run_inline`]):
//!   the job is out of every queue and nobody else can reach it; or
//! - runs [`JobRef::execute`], whose very last access to the job is the latch's swap.
//!
//! The creating call returns only after one of these: it ran the job inline, or it saw the
//! latch set. So when its frame goes away the job is in no queue and nobody is inside it.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use super::cancel::{self, CancelCtx};
use super::latch::Latch;
use crate::core::sync::UnsafeCell;

/// A type-erased pointer to a job and the function that runs it (see module docs).
#[derive(Clone, Copy, Debug)]
pub(crate) struct JobRef {
    ptr: *const (),
    execute_fn: unsafe fn(*const ()),
}

// SAFETY: a job may be run by any thread (its closure is `Send`, see `StackJob::new`).
unsafe impl Send for JobRef {}

impl JobRef {
    /// A job from its parts: `execute_fn(ptr)` runs it.
    ///
    /// # Safety
    /// `execute_fn(ptr)` may be called once from any thread, and `ptr` stays valid until then.
    pub(crate) unsafe fn from_parts(ptr: *const (), execute_fn: unsafe fn(*const ())) -> JobRef {
        JobRef { ptr, execute_fn }
    }

    /// Whether both refer to the same job.
    #[inline]
    pub(crate) fn same(&self, other: &JobRef) -> bool {
        std::ptr::eq(self.ptr, other.ptr)
    }

    /// Runs the job (taken from a queue by someone other than its creator, or by a helping
    /// wait of its creator's thread) and sets its latch.
    ///
    /// # Safety
    /// The caller took this entry out of a queue (so it runs the job exactly once).
    #[inline]
    pub(crate) unsafe fn execute(self) {
        // SAFETY: forwarded.
        unsafe { (self.execute_fn)(self.ptr) }
    }
}

enum JobResult<R> {
    None,
    Ok(R),
    Panic(Box<dyn Any + Send>),
}

/// A job on its creator's stack (see module docs). `F` gets `true` when it runs through
/// [`JobRef::execute`] (another worker, or a helping wait, took it) and `false` inline.
pub(crate) struct StackJob<F, R> {
    func: UnsafeCell<Option<F>>,
    result: UnsafeCell<JobResult<R>>,
    latch: Latch,
    origin: CancelCtx,
}

impl<F, R> StackJob<F, R>
where
    F: FnOnce(bool) -> R + Send,
    R: Send,
{
    /// A job that runs with the cancellation context `origin` when another thread runs it.
    pub(crate) fn new(func: F, origin: CancelCtx) -> StackJob<F, R> {
        StackJob {
            func: UnsafeCell::new(Some(func)),
            result: UnsafeCell::new(JobResult::None),
            latch: Latch::new(),
            origin,
        }
    }

    /// The queue entry. The job must not move or go away while the entry may be in a queue or
    /// running (see module docs): the creator keeps it in its frame until then, and uses it
    /// only by reference from here on.
    #[inline]
    pub(crate) fn as_job_ref(&self) -> JobRef {
        JobRef {
            ptr: (self as *const Self).cast(),
            execute_fn: Self::execute,
        }
    }

    pub(crate) fn latch(&self) -> &Latch {
        &self.latch
    }

    unsafe fn execute(this: *const ()) {
        let this = this.cast::<Self>();
        // SAFETY: the entry was taken out of its queue once (JobRef::execute's contract): we
        // alone touch the closure and the result until the latch is set, and the creator keeps
        // the job alive until then.
        unsafe {
            let func = (*this).func.with_mut(|f| (*f).take());
            let func = func.expect("a job runs once");
            let origin = (*this).origin;
            let result =
                match catch_unwind(AssertUnwindSafe(|| cancel::as_job(&origin, || func(true)))) {
                    Ok(r) => JobResult::Ok(r),
                    Err(p) => JobResult::Panic(p),
                };
            (*this).result.with_mut(|r| *r = result);
            // The last access: from here the creator may return.
            Latch::set(&raw const (*this).latch);
        }
    }

    /// Runs the closure on the creating thread. Only after the creator took the entry back out
    /// of its queue (or never queued it). (By reference: a queued job must never move.)
    #[inline]
    pub(crate) fn run_inline(&self) -> R {
        // SAFETY: nobody else can reach the job (see above).
        let func = self.func.with_mut(|f| unsafe { (*f).take() });
        func.expect("a job runs once")(false)
    }

    /// The result of a job that ran through `execute`, once its latch is set. A panic inside
    /// it continues here.
    pub(crate) fn take_result(&self) -> R {
        debug_assert!(self.latch.probe());
        // SAFETY: the latch is set (Acquire): the runner's write is visible and it is done.
        let r = self
            .result
            .with_mut(|r| unsafe { std::mem::replace(&mut *r, JobResult::None) });
        match r {
            JobResult::Ok(r) => r,
            JobResult::Panic(p) => resume_unwind(p),
            JobResult::None => unreachable!("job result read before it ran"),
        }
    }
}

//! Scopes: tasks that borrow from the caller's frame, because the call waits for all of them.
//!
//! A scope task is a real task (one task block; it counts in the metrics) whose body is the
//! user's body wrapped in [`ScopeTask`]: no join handle, no join-set slot, just the scope's
//! [`CountLatch`]. The wrapper
//! - checks the scope's `cancelled` flag before calling the user's function: if set, the task
//!   asks for its own abort and yields, so the runtime completes it as CANCELLED without
//!   running it (its `drop_arg` runs as for any cancelled task);
//! - runs the user's function with the scope's flag in its cancellation context, so
//!   `tasks_current_is_cancelled()` turns true in running scope tasks when the scope is
//!   cancelled (or the task that called `tasks_scope_run` is aborted);
//! - drops the output itself right after the function returns (nobody can take it), and
//!   records a failure (which cancels the rest of the scope);
//! - in its `Drop`, after the user's body (and so `drop_arg`) is dropped, decrements the count.
//!   A task dropped without having run (cancelled by runtime shutdown) records CANCELLED.
//!
//! So when the last count goes, every scope task has run its `drop_arg` and its output is
//! dropped. (Its task-local values are destroyed and its outcome counted in the metrics right
//! after its body is dropped, by the runtime, possibly after the scope's call returned.)
//!
//! # The waiter
//! `tasks_scope_run` calls the body on its own thread (holding the first count), drops its
//! count, then waits on the count's latch: helping on a worker, parking elsewhere. A wait in a
//! cancellable context (inside a task, or inside another scope's task) also wakes every
//! [`ABORT_POLL`] to see whether its caller was aborted, and between the tasks it runs while
//! helping: an abort of the calling task is therefore noticed within a few milliseconds (or
//! after the task the wait is running returns). It then cancels the scope (status CANCELLED)
//! and goes on waiting for the tasks to end.
//!
//! # Status
//! The first of: the body or a task failing (FAILED), `tasks_scope_cancel` (CANCELLED), the
//! caller being aborted (CANCELLED), a task cancelled by shutdown (CANCELLED) wins and cancels
//! the rest. A spawn into a cancelled scope is accepted and its body dropped at once.

use std::mem::ManuallyDrop;
use std::time::Duration;

use super::cancel::{self, CancelCtx, CancelNode};
use super::latch::CountLatch;
use crate::core::sync::{AtomicBool, AtomicUsize, Ordering};
use crate::core::task::{Body, BodyPoll, Context, Outcome, enter_no_task};

/// How often a cancellable wait looks at its caller's abort flag while parked.
pub(crate) const ABORT_POLL: Duration = Duration::from_millis(2);

const OK: usize = 0;
const FAILED: usize = 1;
const CANCELLED: usize = 2;

/// The part of a scope its tasks touch (see module docs).
pub(crate) struct ScopeState {
    count: CountLatch,
    status: AtomicUsize,
    cancelled: AtomicBool,
    /// The cancellation context of the `tasks_scope_run` call.
    parent: CancelCtx,
}

impl ScopeState {
    pub(crate) fn new(parent: CancelCtx) -> ScopeState {
        ScopeState {
            count: CountLatch::new(),
            status: AtomicUsize::new(OK),
            cancelled: AtomicBool::new(false),
            parent,
        }
    }

    /// (Used by the loom models.)
    #[cfg_attr(not(loom), allow(dead_code))]
    pub(crate) fn count(&self) -> &CountLatch {
        &self.count
    }

    /// The first failure or cancellation sets the status; any of them cancels the rest.
    fn stop(&self, status: usize) {
        let _ = self
            .status
            .compare_exchange(OK, status, Ordering::AcqRel, Ordering::Acquire);
        self.cancelled.store(true, Ordering::Release);
    }

    pub(crate) fn fail(&self) {
        self.stop(FAILED);
    }

    pub(crate) fn cancel(&self) {
        self.stop(CANCELLED);
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    pub(crate) fn outcome(&self) -> Outcome {
        match self.status.load(Ordering::Acquire) {
            OK => Outcome::Ok,
            FAILED => Outcome::Failed,
            _ => Outcome::Cancelled,
        }
    }
}

/// A scope task's body: the user's body plus the scope (see module docs).
pub(crate) struct ScopeTask<B: Body> {
    inner: ManuallyDrop<B>,
    scope: *const ScopeState,
    ran: bool,
}

// SAFETY: the scope is Sync (atomics, and a context of live objects) and outlives the task
// (its waiter waits for this task's drop); the inner body is Send.
unsafe impl<B: Body> Send for ScopeTask<B> {}

impl<B: Body> ScopeTask<B> {
    /// Wraps `inner`. The caller counted the task in the scope (`CountLatch::inc`).
    pub(crate) fn new(inner: B, scope: &ScopeState) -> ScopeTask<B> {
        ScopeTask {
            inner: ManuallyDrop::new(inner),
            scope,
            ran: false,
        }
    }

    /// Unwraps a task that was never spawned, without touching the scope's count (the caller
    /// takes its count back).
    pub(crate) fn into_inner(self) -> B {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the body is moved out exactly once.
        unsafe { ManuallyDrop::take(&mut this.inner) }
    }

    /// The user's body (for its owner's queries, such as the task's name).
    pub(crate) fn inner(&self) -> &B {
        &self.inner
    }

    fn scope(&self) -> &ScopeState {
        // SAFETY: the scope outlives its tasks (see the Send impl).
        unsafe { &*self.scope }
    }
}

impl<B: Body> Body for ScopeTask<B> {
    /// The wrapper drops outputs itself; the runtime never sees one.
    type OutputDropper = ();

    fn is_poll_style(&self) -> bool {
        false
    }

    fn output_dropper(&self) {}

    fn drop_output(_: (), _: *mut ()) {}

    fn poll(&mut self, cx: &mut Context<'_>, output: &mut *mut ()) -> BodyPoll {
        // SAFETY: the scope outlives its tasks (see the Send impl).
        let scope = unsafe { &*self.scope };
        if scope.is_cancelled() {
            // Never run: ask for our own abort, so that returning Yield completes the task as
            // CANCELLED (rule 4 of core::task) and drops the body.
            cx.abort_own_task();
            return BodyPoll::Yield;
        }
        self.ran = true;
        let node = CancelNode::new(Some(&scope.cancelled), scope.parent);
        let inner = &mut *self.inner;
        let mut out: *mut () = std::ptr::null_mut();
        let result = cancel::with_node(&node, || inner.poll(cx, &mut out));
        if !out.is_null() {
            // Nobody can take a scope task's output. It belongs to no running task.
            let _no_task = enter_no_task();
            B::drop_output(inner.output_dropper(), out);
        }
        *output = std::ptr::null_mut();
        match result {
            BodyPoll::Ready => BodyPoll::Ready,
            // (A run-to-completion body never returns Pending or Yield.)
            BodyPoll::Failed | BodyPoll::Pending | BodyPoll::Yield => {
                scope.fail();
                BodyPoll::Failed
            }
        }
    }
}

impl<B: Body> Drop for ScopeTask<B> {
    fn drop(&mut self) {
        // SAFETY: dropped once, here (into_inner forgets self).
        unsafe { ManuallyDrop::drop(&mut self.inner) };
        if !self.ran {
            // Cancelled before it ran: by the scope (then this changes nothing) or by the
            // runtime's shutdown.
            self.scope().cancel();
        }
        // SAFETY: this task's count; after it the scope may be gone.
        unsafe { CountLatch::dec(&raw const (*self.scope).count) };
    }
}

#[cfg(not(loom))]
pub(crate) use rt::Scope;

#[cfg(not(loom))]
mod rt {
    use std::sync::Arc;
    use std::time::Instant;

    use super::super::runtime::{Shutdown, wait_latch};
    use super::*;
    use crate::core::runtime::{Runtime, SpawnError};
    use crate::core::task::{Joining, Placement};

    /// A running `tasks_scope_run`: the state its tasks see, and the runtime they run on.
    pub(crate) struct Scope {
        state: ScopeState,
        rt: Arc<Runtime>,
    }

    impl Scope {
        /// Runs `body` on this thread, then waits until every task spawned into the scope has
        /// been dropped (module docs). `body` returns false for failure.
        pub(crate) fn run(
            rt: &Arc<Runtime>,
            body: impl FnOnce(&Scope) -> bool,
        ) -> Result<Outcome, Shutdown> {
            if super::super::runtime::is_shut_down(rt) {
                return Err(Shutdown);
            }
            let parent = CancelCtx::current();
            let scope = Scope {
                state: ScopeState::new(parent),
                rt: Arc::clone(rt),
            };
            if parent.is_cancelled() {
                scope.state.cancel();
            }
            if !body(&scope) {
                scope.state.fail();
            }
            // SAFETY: the body's count; the scope lives on until the wait below returns.
            unsafe { CountLatch::dec(&raw const scope.state.count) };
            scope.wait();
            // The tasks see the caller's abort through their context and may all have ended
            // before the wait noticed it: the abort still decides the status (unless a
            // failure or cancel came first).
            if parent.is_cancelled() {
                scope.state.cancel();
            }
            Ok(scope.state.outcome())
        }

        fn wait(&self) {
            let state = &self.state;
            let latch = state.count.latch();
            loop {
                let watch = !state.is_cancelled() && state.parent.is_cancellable();
                let deadline = watch.then(|| Instant::now() + ABORT_POLL);
                let aborted = || watch && state.parent.is_cancelled();
                if wait_latch(latch, &|| aborted(), deadline) {
                    return;
                }
                if aborted() {
                    state.cancel();
                }
            }
        }

        /// Spawns a scope task running `body`. A scope that is cancelled takes the body and
        /// drops it at once. On a runtime shutting down the body comes back untouched.
        pub(crate) fn spawn<B: Body>(&self, body: B) -> Result<(), (SpawnError, B)> {
            if self.state.is_cancelled() {
                let _no_task = enter_no_task();
                drop(body);
                return Ok(());
            }
            self.state.count.inc();
            match self.rt.spawn(
                ScopeTask::new(body, &self.state),
                Placement::WorkFirst,
                Joining::Detached,
            ) {
                Ok(_) => Ok(()),
                Err((e, task)) => {
                    let body = task.into_inner();
                    // SAFETY: the count taken above (the spawner holds another, so this is
                    // not the last one).
                    unsafe { CountLatch::dec(&raw const self.state.count) };
                    Err((e, body))
                }
            }
        }

        /// Cancels the scope (status CANCELLED unless something came first).
        pub(crate) fn cancel(&self) {
            self.state.cancel();
        }
    }
}

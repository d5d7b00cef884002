//! The one way a thread waits for something in this crate: [`wait_until`]. On a worker thread
//! the wait helps (runs other tasks, see `WorkerCtx::help_until`); on any other thread, or on
//! a worker whose core was handed off, it parks. What is waited for is a [`WaitFor`]: a
//! condition plus the way to have the thread's parker unparked when it turns true.
//!
//! [`join`] is that wait applied to a task, after the checks that make a join that could never
//! end fail at once instead (rule 3's inline run is tried first on a worker).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::this_thread;
use crate::core::local_scheduler::runs_only_here;
use crate::core::park::{self, Parker};
use crate::core::task::{JoinError, JoinHandle, TaskResult};

/// Something a thread can wait for.
pub(crate) trait WaitFor {
    /// Whether the wait is over.
    fn done(&self) -> bool;
    /// Arranges for `parker` to be unparked when `done` turns true. Returns false if it already
    /// is (nothing was registered: do not park).
    fn arm(&self, parker: &Arc<Parker>) -> bool;
    /// Undoes `arm` (the wait is over or the park timed out).
    fn disarm(&self, parker: &Arc<Parker>);
}

/// Waits until `cond.done()` or `deadline` (None: no limit). Returns whether `cond.done()`.
pub(crate) fn wait_until(cond: &dyn WaitFor, deadline: Option<Instant>) -> bool {
    match this_thread::current_worker() {
        Some(w) => w.help_until(cond, deadline),
        None => park_until(cond, deadline),
    }
}

/// The plain thread's wait: park on the thread's own parker until `cond` is signalled.
pub(super) fn park_until(cond: &dyn WaitFor, deadline: Option<Instant>) -> bool {
    let parker = park::current();
    loop {
        if cond.done() {
            return true;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        if cond.arm(&parker) {
            parker.park(deadline);
            cond.disarm(&parker);
        }
    }
}

/// A task's completion, waited for through the waiter table (rule 10).
struct Completion<'a>(&'a JoinHandle);

impl WaitFor for Completion<'_> {
    fn done(&self) -> bool {
        self.0.is_finished()
    }
    fn arm(&self, parker: &Arc<Parker>) -> bool {
        self.0.add_parked_waiter(parker)
    }
    fn disarm(&self, parker: &Arc<Parker>) {
        self.0.remove_parked_waiter(parker);
    }
}

/// Waits up to `timeout` (None: no limit) for the task to end, and hands out its result (the
/// output once; with `keep_output` false it is dropped instead). A zero timeout only looks.
/// Refused at once with [`JoinError::WouldDeadlock`] when the wait could never end: a task
/// joining itself (also from its own drop functions), or a thread joining an unfinished task
/// that only it can run (a task of a local scheduler it owns).
pub(crate) fn join(
    handle: &JoinHandle,
    timeout: Option<Duration>,
    keep_output: bool,
) -> Result<TaskResult, JoinError> {
    if let Some(r) = handle.take_result(keep_output) {
        return Ok(r);
    }
    if handle.is_current() {
        return Err(JoinError::WouldDeadlock);
    }
    if timeout == Some(Duration::ZERO) {
        return Err(JoinError::Pending);
    }
    if runs_only_here(handle) {
        return Err(JoinError::WouldDeadlock);
    }
    // A deadline past what `Instant` can hold is no deadline.
    wait_for_task(handle, timeout.and_then(|t| Instant::now().checked_add(t)));
    handle.take_result(keep_output).ok_or(JoinError::TimedOut)
}

/// The wait of [`join`], without its checks: returns whether the task ended by `deadline`.
/// A wait without deadline on a worker first tries to run the task right here (rule 3); a
/// timed one does not (a run cannot be cut short, so it would lose its timeout).
pub(crate) fn wait_for_task(handle: &JoinHandle, deadline: Option<Instant>) -> bool {
    let Some(w) = this_thread::current_worker() else {
        return park_until(&Completion(handle), deadline);
    };
    if deadline.is_none() {
        w.try_run_inline(handle);
    }
    w.help_until(&Completion(handle), deadline)
}

//! The owning types through which the rest of the crate reaches a task. Each holds exactly one
//! reference (rule "References" in the module docs) and gives it back when dropped:
//! - [`TaskRef`]: a plain reference (abort handles, owner-list snapshots).
//! - [`JoinHandle`]: a reference plus the join interest (rules 9–11).
//! - [`Notified`]: a queue entry, a reference plus the task's SCHEDULED flag (rule 2).
//! - [`Context`]: what a poll-style body sees of its own task while it is polled.

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::Waker;
use std::time::Instant;

use super::cell::Header;
use super::raw::RawTask;
use super::state::{self, Outcome};
use super::{current, waiters, waker};
use crate::core::park::Parker;

/// An owned reference to a task.
pub(crate) struct TaskRef(RawTask);

// SAFETY: a reference may be used or dropped from any thread (the header is Sync).
unsafe impl Send for TaskRef {}
unsafe impl Sync for TaskRef {}

/// `from_raw` and `into_raw` of a type that is one [`RawTask`] owning what the type's docs say
/// (a reference, and for [`Notified`] also the SCHEDULED flag), for the places that keep it
/// as a pointer for a while: queues, wakers, C.
macro_rules! raw_conversions {
    ($owner:ident) => {
        impl $owner {
            /// Takes over what `ptr` owns.
            ///
            /// # Safety
            /// `ptr` came from `into_raw` of this type (or is a task pointer with the whole
            /// block's provenance that owns what this type owns), and the caller gives it up.
            pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> $owner {
                // SAFETY: forwarded; what `ptr` owned now lives in the returned value.
                $owner(unsafe { RawTask::from_raw(ptr) })
            }

            /// Gives up the value as a pointer, for `from_raw`.
            pub(crate) fn into_raw(self) -> NonNull<Header> {
                ManuallyDrop::new(self).0.ptr()
            }
        }
    };
}
raw_conversions!(TaskRef);
raw_conversions!(Notified);

impl TaskRef {
    pub(super) fn raw(&self) -> RawTask {
        self.0
    }

    /// A new reference to the task of `raw` (the caller holds one).
    pub(super) fn new_from(raw: RawTask) -> TaskRef {
        raw.ref_inc();
        TaskRef(raw)
    }

    pub(crate) fn id(&self) -> u64 {
        self.0.header().id
    }

    /// True once the task has completed (its body and drop_arg are done).
    pub(crate) fn is_finished(&self) -> bool {
        self.outcome().is_some()
    }

    /// How the task ended; None while it has not.
    pub(crate) fn outcome(&self) -> Option<Outcome> {
        self.0.outcome()
    }

    /// Abort (rule 6).
    pub(crate) fn abort(&self) {
        self.0.abort();
    }

    /// On the owning thread of a thread-bound task: cancels it now if nobody runs it
    /// (teardown of its scheduler).
    pub(crate) fn cancel_now(&self) {
        self.0.cancel_now();
    }

    /// Runs only on its scheduler's thread (local executor, block_on).
    pub(crate) fn is_thread_bound(&self) -> bool {
        self.0.header().state.load().has(state::KIND_LOCAL)
    }

    /// Whether the task belongs to the scheduler at `scheduler` (compared, never followed).
    pub(crate) fn belongs_to<S>(&self, scheduler: &Arc<S>) -> bool {
        std::ptr::eq(
            self.0.header().scheduler.as_ptr().cast_const(),
            Arc::as_ptr(scheduler).cast(),
        )
    }

    /// The address of the task's scheduler, for identity checks only.
    pub(crate) fn scheduler_addr(&self) -> usize {
        self.0.header().scheduler.as_ptr() as usize
    }

    /// The state word's flags, for tests of the state machine.
    #[cfg(test)]
    pub(crate) fn state_flags(&self) -> u64 {
        self.0.header().state.load().0
    }

    /// Whether the calling thread is running (or destroying) this task.
    pub(crate) fn is_current(&self) -> bool {
        current::is_current(self.0)
    }
}

impl Clone for TaskRef {
    fn clone(&self) -> Self {
        TaskRef::new_from(self.0)
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { self.0.drop_ref() }
    }
}

/// How a finished task ended, with its output handed over (null when it had none or it was
/// already taken). The receiver owns the output.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TaskResult {
    Ok(*mut ()),
    Failed(*mut ()),
    Cancelled,
}

/// Why a join returned without the task's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JoinError {
    /// Not finished, and the caller asked not to wait (or a poll registered its waker).
    Pending,
    /// Not finished when the wait ran out; the handle stays valid.
    TimedOut,
    /// The wait could never end (a task joining itself, ...); nothing was waited for.
    WouldDeadlock,
}

/// The join side of a task: a reference plus the join interest (JOIN_INTEREST), given up on
/// drop (rule 11). Derefs to the task's [`TaskRef`] for what any holder may do.
#[repr(transparent)]
pub(crate) struct JoinHandle(ManuallyDrop<TaskRef>);

impl JoinHandle {
    /// # Safety
    /// `task` carries the join interest (the task was spawned with a handle, and this is it).
    pub(super) unsafe fn from_task_ref(task: TaskRef) -> JoinHandle {
        JoinHandle(ManuallyDrop::new(task))
    }

    /// Takes over a handle given up with [`JoinHandle::into_raw`].
    ///
    /// # Safety
    /// `ptr` came from `JoinHandle::into_raw` and the caller gives up that handle.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> JoinHandle {
        // SAFETY: forwarded.
        unsafe { JoinHandle::from_task_ref(TaskRef::from_raw(ptr)) }
    }

    /// Gives up the handle as a pointer, for [`JoinHandle::from_raw`].
    pub(crate) fn into_raw(self) -> NonNull<Header> {
        ManuallyDrop::new(self).0.raw().ptr()
    }

    /// The result of a finished task (None while it runs). The output is handed out once:
    /// later calls see a null output. With `keep_output` false the output is dropped with the
    /// body's drop_output instead.
    pub(crate) fn take_result(&self, keep_output: bool) -> Option<TaskResult> {
        let outcome = self.outcome()?;
        let raw = self.0.raw();
        let output = match outcome {
            Outcome::Cancelled => return Some(TaskResult::Cancelled),
            Outcome::Ok | Outcome::Failed if keep_output => raw.header().take_output(),
            Outcome::Ok | Outcome::Failed => {
                raw.drop_output();
                std::ptr::null_mut()
            }
        };
        Some(match outcome {
            Outcome::Ok => TaskResult::Ok(output),
            _ => TaskResult::Failed(output),
        })
    }

    /// Poll-style join (rule 9): the outcome if complete, else registers `waker` (replacing an
    /// earlier one) to be woken exactly when the task completes, and returns None.
    pub(crate) fn poll_join(&self, waker: &Waker) -> Option<Outcome> {
        self.0.raw().poll_join(waker)
    }

    /// Poll-style join from the task polled with `cx`: the result if the task has ended (as
    /// [`take_result`](Self::take_result)), else `cx`'s task is registered to be woken when it
    /// ends (replacing an earlier registration) and `Pending` comes back. A task polling its
    /// own handle gets `WouldDeadlock`.
    pub(crate) fn poll_result(
        &self,
        cx: &Context<'_>,
        keep_output: bool,
    ) -> Result<TaskResult, JoinError> {
        if let Some(r) = self.take_result(keep_output) {
            return Ok(r);
        }
        if cx.is_task(self) {
            return Err(JoinError::WouldDeadlock);
        }
        match self.poll_join(&cx.waker()) {
            Some(_) => Ok(self.take_result(keep_output).expect("an outcome is final")),
            None => Err(JoinError::Pending),
        }
    }

    /// Blocking join (rule 10): adds `parker` as a waiter of the task. False if the task has
    /// already completed (nothing was added: do not park).
    pub(crate) fn add_parked_waiter(&self, parker: &crate::core::sync::Arc<Parker>) -> bool {
        waiters::register(self.0.raw().header(), parker)
    }

    /// Removes `parker`'s waiter entry, if the completer has not already.
    pub(crate) fn remove_parked_waiter(&self, parker: &crate::core::sync::Arc<Parker>) {
        waiters::deregister(self.0.raw().header(), parker);
    }

    /// A joiner that may run the task itself (rule 3): runs it on this thread if nobody has
    /// started it and it is a run-to-completion task of the worker pool whose start time has
    /// come. `before_poll` runs right before the body. Returns whether it ran.
    pub(crate) fn run_inline(&self, before_poll: impl FnOnce()) -> bool {
        let raw = self.0.raw();
        let s = raw.header().state.load();
        if s.has(state::KIND_POLL) || s.has(state::KIND_BLOCKING) {
            return false;
        }
        raw.try_run_inline(before_poll)
    }
}

impl std::ops::Deref for JoinHandle {
    type Target = TaskRef;
    fn deref(&self) -> &TaskRef {
        &self.0
    }
}

impl Drop for JoinHandle {
    fn drop(&mut self) {
        // SAFETY: taken once, here; the reference goes with the join interest.
        let task = unsafe { ManuallyDrop::take(&mut self.0) };
        task.raw().drop_join_interest();
        drop(task);
    }
}

/// A queue entry: owns one reference and the task's SCHEDULED flag. Consumed by
/// [`Notified::run`]; dropping it instead discards it (a pop that cancels the task if it
/// claims it: queues drained at teardown).
pub(crate) struct Notified(RawTask);

// SAFETY: as TaskRef.
unsafe impl Send for Notified {}

impl Notified {
    /// Runs the entry (rule 2). Returns whether the task was actually polled.
    pub(crate) fn run(self) -> bool {
        self.run_counted(|| {})
    }

    /// [`Notified::run`], calling `before_poll` right before the body is polled: a poll counter
    /// bumped there already includes the poll when a joiner sees the task complete.
    pub(crate) fn run_counted(self, before_poll: impl FnOnce()) -> bool {
        ManuallyDrop::new(self).0.run_entry(before_poll)
    }

    /// Whether popping the entry would find the task already claimed (run inline by a joiner,
    /// cancelled by an aborter) or finished: running it would only release it (rule 2).
    pub(crate) fn is_stale(&self) -> bool {
        let s = self.0.header().state.load();
        s.has(state::RUNNING) || s.has(state::COMPLETE)
    }

    /// The start timer of a delayed task fired: joins may claim it from now on.
    pub(crate) fn start_delayed(&self) {
        self.0.header().state.clear_delayed();
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        self.0.discard_entry();
    }
}

/// What a poll-style body gets while it is polled: access to its own task.
pub(crate) struct Context<'a> {
    pub(super) task: RawTask,
    pub(super) _running: std::marker::PhantomData<&'a Header>,
}

impl Context<'_> {
    pub(crate) fn id(&self) -> u64 {
        self.task.header().id
    }

    /// A new waker for the running task.
    pub(crate) fn waker(&self) -> Waker {
        waker::task_waker(TaskRef::new_from(self.task))
    }

    /// Whether `task` is the task being polled.
    pub(crate) fn is_task(&self, task: &TaskRef) -> bool {
        task.raw() == self.task
    }

    /// Aborts the task being polled (rule 6 from inside: a request, carried out when the poll
    /// returns PENDING or YIELD).
    pub(crate) fn abort_own_task(&self) {
        self.task.abort();
    }

    /// Wakes the task once at `deadline`, replacing a timer it set earlier that has not fired.
    pub(crate) fn sleep_until(&self, deadline: Instant) {
        self.task.sleep_until(deadline);
    }
}

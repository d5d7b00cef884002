//! The task the calling thread is running, for `current_task_*` queries, self-join checks and
//! task-local storage. Entering is scoped by guards so nesting (a join that runs another task
//! inline) restores the outer task.

use std::cell::Cell;
use std::ptr::NonNull;

use super::cell::Header;
use super::raw::RawTask;
use super::state;
use crate::core::thread_state::{self, ThreadState};

// `ThreadState::task`: the task whose code this thread runs (its header, or null), and whether
// its body is alive (false while its drop functions run: `drop_arg` and task-local destructors
// see their own task as current, but its body, which holds for example its name, is gone). The
// runner holds a reference for as long as the task is current.

type Slot = Cell<(*const (), bool)>;

fn decode((p, alive): (*const (), bool)) -> (Option<NonNull<Header>>, bool) {
    (NonNull::new(p.cast_mut().cast()), alive)
}

fn encode((p, alive): (Option<NonNull<Header>>, bool)) -> (*const (), bool) {
    (
        p.map_or(std::ptr::null(), |p| p.as_ptr().cast_const().cast()),
        alive,
    )
}

/// The current task in the given thread state (for callers that already looked it up).
pub(crate) fn current_in(state: &ThreadState) -> Option<CurrentTask> {
    decode(state.task.get()).0.map(CurrentTask)
}

/// Restores the previously running task when dropped. It keeps the address of this thread's
/// slot, so that leaving (and `body_gone`) cost no second thread-local lookup (each one is a
/// call into the dynamic loader in a shared library).
pub(crate) struct TaskGuard {
    slot: *const Slot,
    prev: (*const (), bool),
}

fn enter(now: (Option<NonNull<Header>>, bool)) -> TaskGuard {
    thread_state::with(|s| TaskGuard {
        slot: &s.task,
        prev: s.task.replace(encode(now)),
    })
}

/// The task is polled (or completed) on this thread until the guard drops.
pub(super) fn enter_task(task: RawTask) -> TaskGuard {
    enter((Some(task.ptr()), true))
}

impl TaskGuard {
    fn slot(&self) -> &Slot {
        // SAFETY: the guard lives on this thread's stack, inside the thread's lifetime, and the
        // slot is this thread's.
        unsafe { &*self.slot }
    }

    /// The current task's body and task-local values are being destroyed on this thread: it
    /// stays the current task (never the task that happened to complete or abort it) but its
    /// body is gone. Undone when the guard drops.
    pub(super) fn body_gone(&self) {
        let slot = self.slot();
        slot.set((slot.get().0, false));
    }
}

/// No task is current until the guard drops (an output is dropped: it belongs to no running
/// task).
pub(crate) fn enter_no_task() -> TaskGuard {
    enter((None, false))
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.slot().set(self.prev);
    }
}

/// The current task, body alive or not.
pub(super) fn current() -> Option<RawTask> {
    let (task, _) = decode(thread_state::with(|s| s.task.get()));
    // SAFETY: the runner of the current task holds a reference while it is current on this
    // thread, and the value is used only on this thread, before the guard drops.
    task.map(|p| unsafe { RawTask::from_raw(p) })
}

pub(super) fn is_current(task: RawTask) -> bool {
    current() == Some(task)
}

/// The id of the task the calling thread is running (or destroying).
pub(crate) fn current_task_id() -> Option<u64> {
    current().map(|t| t.header().id)
}

/// Calls `f` with the current task's body if the thread is polling a task whose body is a
/// `T` (None otherwise, also while the body is being destroyed). Lets the owner of a body
/// type read what only it knows about (the C binding: the task's name).
#[cfg(not(loom))]
pub(crate) fn with_current_body<T: 'static, R>(f: impl FnOnce(&T) -> R) -> Option<R> {
    let (Some(p), true) = decode(thread_state::with(|s| s.task.get())) else {
        return None;
    };
    // SAFETY: as in `current`.
    let task = unsafe { RawTask::from_raw(p) };
    // SAFETY: the task is being polled on this thread (body alive, RUNNING held by the
    // poller, which is below us on this stack): the body is only read here, by the thread that
    // runs it.
    let body = unsafe { (task.header().vtable.body)(task).as_ref() };
    body.downcast_ref::<T>().map(f)
}

/// The current task as a token that can be checked for an abort request later, also from
/// another thread, for as long as the task is known to be alive (the fork-join cancellation
/// context keeps it only while the call that took it runs, and that call runs inside the task).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct CurrentTask(NonNull<Header>);

impl CurrentTask {
    /// The token as an erased pointer (for `ThreadState::cancel_frame`).
    pub(crate) fn as_erased(this: Option<CurrentTask>) -> *const () {
        encode((this.map(|t| t.0), false)).0
    }
}

// SAFETY: it only reads the task's atomic state word.
unsafe impl Send for CurrentTask {}
unsafe impl Sync for CurrentTask {}

impl CurrentTask {
    /// Whether abort was requested for the task.
    ///
    /// # Safety
    /// The task is still alive: the call that took the token has not returned.
    pub(crate) unsafe fn is_cancel_requested(self) -> bool {
        // SAFETY: the caller's contract.
        let task = unsafe { RawTask::from_raw(self.0) };
        task.header().state.load().has(state::CANCEL_REQUESTED)
    }
}

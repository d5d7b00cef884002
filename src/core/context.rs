//! Per-thread context: which task this thread is running (for `tasks_current_*`) and which
//! runtime worker, if any, the thread is (for spawns without a runtime, joins that help, and
//! local scheduling). Entering is scoped by guards so nesting (a join that runs another task
//! inline) restores the outer task.

// loom's thread_local! (used under --cfg loom) takes no `const { }` initialisers.
#![allow(clippy::missing_const_for_thread_local)]

use std::cell::Cell;
use std::ptr::NonNull;

use crate::core::sync::thread_local;
use crate::core::task::Header;

thread_local! {
    /// The task whose code this thread runs, and whether its body is alive (false while its
    /// drop functions run: `drop_arg` and task-local destructors see their own task as current,
    /// but its name, which lives in the body, is gone).
    static CURRENT_TASK: Cell<(Option<NonNull<Header>>, bool)> = Cell::new((None, false));
}

/// Restores the previously running task when dropped.
pub(crate) struct TaskGuard {
    prev: (Option<NonNull<Header>>, bool),
}

fn enter(now: (Option<NonNull<Header>>, bool)) -> TaskGuard {
    TaskGuard {
        prev: CURRENT_TASK.with(|c| c.replace(now)),
    }
}

/// The task is polled on this thread until the guard drops.
pub(crate) fn enter_task(header: NonNull<Header>) -> TaskGuard {
    enter((Some(header), true))
}

/// The current task's body and task-local values are being destroyed on this thread: it
/// stays the current task (never the task that happened to complete or abort it) but its
/// name, which lives in the body, is gone. Undone when the enclosing task guard drops.
pub(crate) fn body_gone() {
    CURRENT_TASK.with(|c| c.set((c.get().0, false)));
}

/// No task is current until the guard drops (an output is dropped: it belongs to no running
/// task).
pub(crate) fn enter_no_task() -> TaskGuard {
    enter((None, false))
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        CURRENT_TASK.with(|c| c.set(self.prev));
    }
}

/// The task the calling thread is running (or destroying). The header stays valid while that
/// task runs on this thread (its runner holds a reference).
pub(crate) fn current_task() -> Option<NonNull<Header>> {
    CURRENT_TASK.with(|c| c.get().0)
}

/// The current task if its body is alive (it is being polled, not destroyed).
pub(crate) fn current_task_with_body() -> Option<NonNull<Header>> {
    match CURRENT_TASK.with(|c| c.get()) {
        (Some(h), true) => Some(h),
        _ => None,
    }
}

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
    static CURRENT_TASK: Cell<Option<NonNull<Header>>> = Cell::new(None);
}

/// Restores the previously running task when dropped.
pub(crate) struct TaskGuard {
    prev: Option<NonNull<Header>>,
}

pub(crate) fn enter_task(header: NonNull<Header>) -> TaskGuard {
    let prev = CURRENT_TASK.with(|c| c.replace(Some(header)));
    TaskGuard { prev }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        CURRENT_TASK.with(|c| c.set(self.prev));
    }
}

/// The task the calling thread is running. The header stays valid while that task runs on
/// this thread (its runner holds a reference).
pub(crate) fn current_task() -> Option<NonNull<Header>> {
    CURRENT_TASK.with(|c| c.get())
}

//! The calling thread's hot state, in one thread-local. In a shared library every thread-local
//! lookup is a call into the dynamic loader (`__tls_get_addr`), and a `join2` or a task run
//! needs several of these cells at once: keeping them in one struct makes that one lookup.
//!
//! Each cell belongs to one module, which gives it its meaning and its typed accessors; here
//! the pointers are erased (`*const ()`) so that this module depends on nobody:
//! - `task`: the task this thread runs and whether its body is alive (`task::current`);
//! - `cancel_frame`: the task current when the innermost fork-join cancellation node was
//!   entered, and that node (`fork_join::cancel`);
//! - `worker`: the worker context if this thread is a runtime worker (`runtime::this_thread`).

use std::cell::Cell;

use crate::core::sync::const_thread_local;

/// See the module docs.
pub(crate) struct ThreadState {
    pub(crate) task: Cell<(*const (), bool)>,
    pub(crate) cancel_frame: Cell<(*const (), *const ())>,
    pub(crate) worker: Cell<*const ()>,
}

const_thread_local! {
    static STATE: ThreadState = ThreadState {
        task: Cell::new((std::ptr::null(), false)),
        cancel_frame: Cell::new((std::ptr::null(), std::ptr::null())),
        worker: Cell::new(std::ptr::null()),
    };
}

/// Calls `f` with the calling thread's state (one thread-local lookup).
#[inline]
pub(crate) fn with<R>(f: impl FnOnce(&ThreadState) -> R) -> R {
    STATE.with(f)
}

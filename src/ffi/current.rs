//! The task and runtime of the calling thread.

use std::ffi::c_char;

use super::boundary;
use super::runtime::{tasks_runtime, to_ptr};
use crate::core::context::{current_task, current_task_with_body};
use crate::core::runtime::context::current_runtime;
use crate::core::task::Header;

/// The id of the task running on the calling thread; 0 outside a task. Inside a task's
/// drop_arg and task-local destructors it is that task's id (whoever completed or aborted it);
/// inside drop_output it is 0.
#[unsafe(no_mangle)]
pub extern "C" fn tasks_current_id() -> u64 {
    // SAFETY: the running task is alive while it runs on this thread.
    boundary(|| current_task().map_or(0, |t| unsafe { t.as_ref() }.id))
}

/// The name of the running task; NULL if unnamed, outside a task, or inside the task's own
/// drop_arg or task-local destructors. Borrowed: valid while the task runs.
#[unsafe(no_mangle)]
pub extern "C" fn tasks_current_name() -> *const c_char {
    boundary(|| {
        current_task_with_body()
            // SAFETY: called on the thread running the task, which keeps its body alive.
            .and_then(|t| unsafe { Header::name(t) })
            .map_or(std::ptr::null(), |n| unsafe { n.as_ref() }.as_ptr())
    })
}

/// The runtime whose thread (worker or blocking) is calling, or, inside tasks_block_on (on any
/// thread), the runtime that call drives its task with (the innermost one when nested); NULL
/// elsewhere. Borrowed: do not free it.
#[unsafe(no_mangle)]
pub extern "C" fn tasks_current_runtime() -> *mut tasks_runtime {
    boundary(|| current_runtime().map_or(std::ptr::null_mut(), to_ptr))
}

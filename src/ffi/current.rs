//! The task and runtime of the calling thread.

use std::ffi::{CStr, c_char};

use super::body::CBody;
use super::boundary;
use super::cast;
use super::runtime::tasks_runtime;
use crate::core::fork_join::scope::ScopeTask;
use crate::core::runtime::this_thread::with_current_runtime;
use crate::core::task::{current_task_id, with_current_body};

/// The id of the task running on the calling thread; 0 outside a task. Inside a task's
/// drop_arg and task-local destructors it is that task's id (whoever completed or aborted it);
/// inside drop_output it is 0.
#[unsafe(no_mangle)]
pub extern "C" fn tasks_current_id() -> u64 {
    boundary(|| current_task_id().unwrap_or(0))
}

/// The name of the running task; NULL if unnamed, outside a task, or inside the task's own
/// drop_arg or task-local destructors. Borrowed: valid while the task runs.
#[unsafe(no_mangle)]
pub extern "C" fn tasks_current_name() -> *const c_char {
    boundary(|| {
        // The name lives in the body, which stays alive while the task runs on this thread
        // (a scope task's body wraps the C body).
        let name = with_current_body(|b: &CBody| b.name().map(CStr::as_ptr)).or_else(|| {
            with_current_body(|b: &ScopeTask<CBody>| b.inner().name().map(CStr::as_ptr))
        });
        name.flatten().unwrap_or(std::ptr::null())
    })
}

/// The runtime whose thread (worker or blocking) is calling, or, inside tasks_block_on (on any
/// thread), the runtime that call drives its task with (the innermost one when nested); NULL
/// elsewhere. Borrowed: do not free it.
#[unsafe(no_mangle)]
pub extern "C" fn tasks_current_runtime() -> *mut tasks_runtime {
    boundary(|| with_current_runtime(cast::lend_arc).unwrap_or(std::ptr::null_mut()))
}

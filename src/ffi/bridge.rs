//! Blocking bridges: `tasks_block_on` and `tasks_block_in_place`.

use std::ffi::c_void;

use super::body::{CBody, CFunc, tasks_poll_fn, tasks_spawn_opts};
use super::runtime::{resolve, tasks_runtime};
use super::spawn::spawned;
use super::status::hand_out_result;
use super::{Required, checked, tasks_status};
use crate::core::block_on::block_on;
use crate::core::runtime::block_in_place;

/// Drives the poll-style task `poll(state, cx, &output)` on the calling thread until it ends,
/// parking between wakes; the runtime's timers (tasks_context_sleep) and join handles work from
/// it, and spawns with a NULL runtime inside it go to `rt` (NULL: the default runtime). Returns
/// TASKS_OK / TASKS_FAILED with `*output` set (`output` may be NULL: the output is then dropped
/// with drop_output), TASKS_ERR_NULL, or TASKS_ERR_WOULD_DEADLOCK from a worker thread of `rt`
/// or TASKS_ERR_SHUTDOWN if `rt` is shut down (in both cases `state` is not taken). Shutting `rt`
/// down while block_on runs cancels the task (TASKS_CANCELLED), as it does `rt`'s own tasks.
/// `state` is released with opts->drop_arg when the task ends.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_block_on(
    rt: *mut tasks_runtime,
    poll: tasks_poll_fn,
    state: *mut c_void,
    opts: *const tasks_spawn_opts,
    output: *mut *mut c_void,
) -> tasks_status {
    checked(|| {
        let func = CFunc::poll(poll).required()?;
        resolve(rt, |rt| {
            // SAFETY: opts NULL or valid.
            let body = unsafe { CBody::new(func, state, opts) };
            let result = spawned(block_on(rt, body, !output.is_null()))?;
            Ok(hand_out_result(result, output))
        })?
    })
}

/// Runs `fn(arg)`, which may block for long. On a worker thread, that worker's queued tasks are
/// first handed to the other workers, and a substitute worker thread takes this worker's place
/// until `fn` returns, so they are not held up even if every worker blocks in place; while `fn`
/// runs the thread does not act as a worker. Elsewhere it just calls `fn`. Returns TASKS_OK,
/// or TASKS_ERR_NULL if `fn` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_block_in_place(
    func: Option<unsafe extern "C" fn(arg: *mut c_void)>,
    arg: *mut c_void,
) -> tasks_status {
    checked(|| {
        let f = func.required()?;
        // SAFETY: the user's function with its argument.
        block_in_place(|| unsafe { f(arg) });
        Ok(tasks_status::TASKS_OK)
    })
}

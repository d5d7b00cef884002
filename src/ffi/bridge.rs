//! Blocking bridges: `tasks_block_on` and `tasks_block_in_place`.

use std::ffi::c_void;

use super::body::{CBody, CFunc, tasks_poll_fn, tasks_spawn_opts};
use super::runtime::{resolve, tasks_runtime};
use super::{boundary, tasks_status};
use crate::core::block_on::{BlockOnError, block_on};
use crate::core::runtime::context::current_worker;
use crate::core::task::state::Outcome;

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
    boundary(|| {
        let Some(func) = CFunc::poll(poll) else {
            return tasks_status::TASKS_ERR_NULL;
        };
        let Some(shared) = resolve(rt) else {
            return tasks_status::TASKS_ERR_THREAD;
        };
        // SAFETY: opts NULL or valid.
        let body = unsafe { CBody::new(func, state, opts) };
        let drop_output = unsafe { opts.as_ref() }.and_then(|o| o.drop_output);
        match block_on(&shared, body) {
            Err((err, body)) => {
                body.disarm();
                match err {
                    BlockOnError::WouldDeadlock => tasks_status::TASKS_ERR_WOULD_DEADLOCK,
                    BlockOnError::Shutdown => tasks_status::TASKS_ERR_SHUTDOWN,
                }
            }
            Ok((outcome, out)) => {
                if output.is_null() {
                    if let (Some(d), false) = (drop_output, out.is_null()) {
                        let _current = crate::core::context::enter_no_task();
                        // SAFETY: the user's drop function for their task's output.
                        unsafe { d(out.cast()) };
                    }
                } else if outcome != Outcome::Cancelled {
                    // SAFETY: checked non-NULL.
                    unsafe { *output = out.cast() };
                }
                match outcome {
                    Outcome::Ok => tasks_status::TASKS_OK,
                    Outcome::Failed => tasks_status::TASKS_FAILED,
                    Outcome::Cancelled => tasks_status::TASKS_CANCELLED,
                }
            }
        }
    })
}

/// Runs `fn(arg)`, which may block for long. On a worker thread, that worker's queued tasks are
/// first handed to the other workers, and a substitute worker thread takes this worker's place
/// until `fn` returns, so they are not held up even if every worker blocks in place; while `fn` runs the thread does not act as a
/// worker. Elsewhere it just calls `fn`. Returns TASKS_OK, or TASKS_ERR_NULL if `fn` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_block_in_place(
    func: Option<unsafe extern "C" fn(arg: *mut c_void)>,
    arg: *mut c_void,
) -> tasks_status {
    boundary(|| {
        let Some(f) = func else {
            return tasks_status::TASKS_ERR_NULL;
        };
        // SAFETY: the user's function with its argument.
        let call = || unsafe { f(arg) };
        match current_worker() {
            Some(w) => w.block_in_place(call),
            None => call(),
        }
        tasks_status::TASKS_OK
    })
}

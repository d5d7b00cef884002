//! `tasks_spawn`, `tasks_spawn_poll`, `tasks_spawn_blocking`, `tasks_spawn_after`.

use std::ffi::c_void;
use std::time::Duration;

use super::body::{CBody, CFunc, tasks_fn, tasks_poll_fn, tasks_spawn_opts};
use super::join_handle::tasks_join_handle;
use super::runtime::{resolve, tasks_runtime};
use super::{Required, checked, tasks_status};
use crate::core::task::{JoinHandle, Joining, Placement};

/// A spawn's handle out-pointer: NULL detaches the task.
pub(crate) fn joining_for(out: *mut *mut tasks_join_handle) -> Joining {
    if out.is_null() {
        Joining::Detached
    } else {
        Joining::Handle
    }
}

/// A spawn's (or block_on's) result; on error the body handed back is disarmed, so the caller
/// keeps its argument, and `?` returns the error's status.
pub(crate) fn spawned<T, E: Into<tasks_status>>(
    result: Result<T, (E, CBody)>,
) -> Result<T, tasks_status> {
    result.map_err(|(e, body)| {
        body.disarm();
        e.into()
    })
}

/// Hands the outcome of a spawn to C: the handle (if one was asked for) through `out`, or the
/// error (see [`spawned`]).
pub(crate) fn hand_out_spawn<E: Into<tasks_status>>(
    result: Result<Option<JoinHandle>, (E, CBody)>,
    out: *mut *mut tasks_join_handle,
) -> Result<tasks_status, tasks_status> {
    if let Some(handle) = spawned(result)? {
        // SAFETY: a handle is only asked for when `out` is non-NULL.
        unsafe { super::cast::write_out(out, super::cast::give_task(handle)) };
    }
    Ok(tasks_status::TASKS_OK)
}

/// The body of every spawn export: `func(arg)` as a task with `opts`, placed on `rt` (see
/// `resolve`) as `placement` says, its handle through `out`.
unsafe fn spawn_body(
    rt: *mut tasks_runtime,
    func: Option<CFunc>,
    arg: *mut c_void,
    opts: *const tasks_spawn_opts,
    placement: Placement,
    out: *mut *mut tasks_join_handle,
) -> tasks_status {
    checked(|| {
        let func = func.required()?;
        // The body is made once the runtime is known: a body dropped unspawned would run
        // drop_arg, and a failed call takes nothing.
        resolve(rt, |rt| {
            // SAFETY: opts is NULL or valid (caller's contract).
            let body = unsafe { CBody::new(func, arg, opts) };
            hand_out_spawn(rt.spawn(body, placement, joining_for(out)), out)
        })?
    })
}

/// Spawns a run-to-completion task: `fn(arg, &output)` runs once on a worker thread.
///
/// `rt` NULL: the runtime of the calling thread if it is one of a runtime's threads, else the
/// default runtime. `opts` may be NULL. `out` NULL: the task is detached (its output is dropped
/// with `drop_output`); otherwise `*out` receives a join handle that you free with
/// tasks_join_handle_free. On success the task owns `arg` (released with `opts->drop_arg`
/// exactly once). On error nothing was spawned and `arg` stays yours.
/// `fn` (like every callback the library calls) must return normally: leaving it by
/// `pthread_exit`, `longjmp` or a C++ exception is undefined behaviour (the thread runs the
/// library's own frames; a forced unwind through them aborts the process).
/// Returns TASKS_OK, TASKS_ERR_NULL (fn is NULL), TASKS_ERR_SHUTDOWN.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_spawn(
    rt: *mut tasks_runtime,
    func: tasks_fn,
    arg: *mut c_void,
    opts: *const tasks_spawn_opts,
    out: *mut *mut tasks_join_handle,
) -> tasks_status {
    // SAFETY: forwarded caller contract.
    unsafe { spawn_body(rt, CFunc::run(func), arg, opts, Placement::Worker, out) }
}

/// Spawns a poll-style task: `poll(state, cx, &output)` is called on worker threads until it
/// returns READY or FAILED. Ownership and errors as for tasks_spawn (`state` plays `arg`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_spawn_poll(
    rt: *mut tasks_runtime,
    poll: tasks_poll_fn,
    state: *mut c_void,
    opts: *const tasks_spawn_opts,
    out: *mut *mut tasks_join_handle,
) -> tasks_status {
    // SAFETY: forwarded caller contract.
    unsafe { spawn_body(rt, CFunc::poll(poll), state, opts, Placement::Worker, out) }
}

/// Spawns a run-to-completion task on the runtime's blocking pool: threads started on demand up
/// to the builder's limit (idle ones exit after the keep-alive), so workers are never blocked
/// by it. Ownership and errors as for tasks_spawn.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_spawn_blocking(
    rt: *mut tasks_runtime,
    func: tasks_fn,
    arg: *mut c_void,
    opts: *const tasks_spawn_opts,
    out: *mut *mut tasks_join_handle,
) -> tasks_status {
    // SAFETY: forwarded caller contract.
    unsafe { spawn_body(rt, CFunc::run(func), arg, opts, Placement::Blocking, out) }
}

/// Spawns a run-to-completion task that starts once `delay_ns` has passed (a timer of the
/// runtime, not a sleeping thread; never earlier). Until then it is pending like a queued task:
/// aborting it cancels it at once and releases its timer. Ownership and errors as for
/// tasks_spawn.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_spawn_after(
    rt: *mut tasks_runtime,
    delay_ns: u64,
    func: tasks_fn,
    arg: *mut c_void,
    opts: *const tasks_spawn_opts,
    out: *mut *mut tasks_join_handle,
) -> tasks_status {
    let placement = Placement::after(Duration::from_nanos(delay_ns));
    // SAFETY: forwarded caller contract.
    unsafe { spawn_body(rt, CFunc::run(func), arg, opts, placement, out) }
}

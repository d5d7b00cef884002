//! `tasks_executor`: tasks that run only on the thread that owns the executor.

use std::ffi::c_void;
use std::sync::Arc;

use super::body::{CBody, CFunc, tasks_fn, tasks_poll_fn, tasks_spawn_opts};
use super::callback::Callback;
use super::cast::{self, castable};
use super::join_handle::tasks_join_handle;
use super::spawn::{hand_out_spawn, joining_for};
use super::{Required, boundary, checked, tasks_status};
use crate::core::executor::Executor;

/// A local executor: its tasks run only on the thread that created it, inside that thread's
/// calls to tasks_executor_run. Spawning into it and waking its tasks work from any thread.
pub struct tasks_executor {
    _private: [u8; 0],
}

castable!(tasks_executor => Executor, OwnedBox);

/// Creates an executor bound to the calling thread; free it with tasks_executor_free on that
/// thread. Timers of its tasks (tasks_context_sleep) are driven by the default runtime.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_executor_new(out: *mut *mut tasks_executor) -> tasks_status {
    checked(|| {
        let out = out.required()?;
        // SAFETY: a writable out-pointer (caller's contract).
        unsafe { cast::write_out(out, cast::give_box(Executor::new())) };
        Ok(tasks_status::TASKS_OK)
    })
}

/// The body of both executor spawns: `func(arg)` as a task with `opts` on `ex`.
unsafe fn spawn_local(
    ex: *mut tasks_executor,
    func: Option<CFunc>,
    arg: *mut c_void,
    opts: *const tasks_spawn_opts,
    out: *mut *mut tasks_join_handle,
) -> tasks_status {
    checked(|| {
        // SAFETY: NULL or a live executor (its spawn is thread-safe).
        let ex = unsafe { cast::try_ref(ex) }.required()?;
        // SAFETY: opts NULL or valid.
        let body = unsafe { CBody::new(func.required()?, arg, opts) };
        hand_out_spawn(ex.spawn(body, joining_for(out)), out)
    })
}

/// Spawns a run-to-completion task into the executor (from any thread); it runs on the owning
/// thread during tasks_executor_run. Handles, ownership and errors as for tasks_spawn. Abort of
/// an executor task that is not running is carried out on the owning thread, at its next run.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_executor_spawn(
    ex: *mut tasks_executor,
    func: tasks_fn,
    arg: *mut c_void,
    opts: *const tasks_spawn_opts,
    out: *mut *mut tasks_join_handle,
) -> tasks_status {
    // SAFETY: forwarded caller contract.
    unsafe { spawn_local(ex, CFunc::run(func), arg, opts, out) }
}

/// Spawns a poll-style task into the executor (from any thread); see tasks_executor_spawn.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_executor_spawn_poll(
    ex: *mut tasks_executor,
    poll: tasks_poll_fn,
    state: *mut c_void,
    opts: *const tasks_spawn_opts,
    out: *mut *mut tasks_join_handle,
) -> tasks_status {
    // SAFETY: forwarded caller contract.
    unsafe { spawn_local(ex, CFunc::poll(poll), state, opts, out) }
}

/// On the owning thread: polls the tasks that are ready, up to `max_polls` of them, and
/// returns how many it polled (0 from any other thread, or for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_executor_run(ex: *mut tasks_executor, max_polls: usize) -> usize {
    // SAFETY: NULL or a live executor.
    boundary(|| unsafe { cast::try_ref(ex) }.map_or(0, |ex| ex.run(max_polls).unwrap_or(0)))
}

/// tasks_executor_run with a status: on the owning thread, polls up to `max_polls` ready tasks,
/// writes how many it polled to `*polled` (may be NULL) and returns TASKS_OK. Returns
/// TASKS_ERR_WRONG_THREAD (nothing polled, `*polled` untouched) from any other thread, and
/// TASKS_ERR_NULL when `ex` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_executor_try_run(
    ex: *mut tasks_executor,
    max_polls: usize,
    polled: *mut usize,
) -> tasks_status {
    checked(|| {
        // SAFETY: NULL or a live executor.
        let ex = unsafe { cast::try_ref(ex) }.required()?;
        let n = ex.run(max_polls)?;
        // SAFETY: NULL or writable.
        unsafe { cast::write_out(polled, n) };
        Ok(tasks_status::TASKS_OK)
    })
}

/// `notify(data)` is called (from any thread, possibly while tasks_executor_run runs) whenever
/// a task becomes ready while none was, so the owning thread's loop can wake up (write to an
/// eventfd, post a message), then call tasks_executor_run. `notify` NULL removes the hook.
/// Once this returns, the previous hook is not called again (a call in progress on another
/// thread is waited for), so its `data` may be freed; the hook must therefore not block on
/// anything the thread replacing it holds.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_executor_set_notify(
    ex: *mut tasks_executor,
    notify: Option<unsafe extern "C" fn(data: *mut c_void)>,
    data: *mut c_void,
) {
    boundary(|| {
        // SAFETY: NULL or a live executor.
        if let Some(ex) = unsafe { cast::try_ref(ex) } {
            let hook = Callback::new(notify, data)
                .map(|n| Arc::new(move || n.call()) as Arc<dyn Fn() + Send + Sync>);
            ex.set_notify(hook);
        }
    })
}

/// Tasks spawned into the executor and not yet finished. 0 for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_executor_len(ex: *const tasks_executor) -> usize {
    // SAFETY: NULL or a live executor.
    boundary(|| unsafe { cast::try_ref(ex) }.map_or(0, Executor::len))
}

/// On the owning thread: cancels the tasks left (their drop_arg runs here; their joiners see
/// TASKS_CANCELLED) and frees the executor; returns TASKS_OK. Refused, with the executor left
/// valid and unchanged: TASKS_ERR_WRONG_THREAD from another thread, TASKS_ERR_WOULD_DEADLOCK
/// from inside tasks_executor_run of this executor (one of its own tasks, or their drop
/// functions). NULL is ignored (TASKS_OK). Once it returns, the notify hook is not called
/// again (as for tasks_executor_set_notify).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_executor_free(ex: *mut tasks_executor) -> tasks_status {
    checked(|| {
        // SAFETY: NULL or a live executor.
        if let Some(executor) = unsafe { cast::try_ref(ex) } {
            executor.close()?;
            // SAFETY: closed by its owner: nothing refers to it any more; the caller gives it up.
            drop(unsafe { cast::take_box(ex) });
        }
        Ok(tasks_status::TASKS_OK)
    })
}

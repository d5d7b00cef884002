//! `tasks_executor`: tasks that run only on the thread that owns the executor.

use std::ffi::c_void;
use std::sync::Arc;

use super::body::{CBody, CFunc, tasks_fn, tasks_poll_fn, tasks_spawn_opts};
use super::join_handle::tasks_join_handle;
use super::{boundary, null_check, tasks_status};
use crate::core::executor::Executor;
use crate::core::local::LocalError;

/// A local executor: its tasks run only on the thread that created it, inside that thread's
/// calls to tasks_executor_run. Spawning into it and waking its tasks work from any thread.
pub struct tasks_executor {
    _private: [u8; 0],
}

unsafe fn executor<'a>(ex: *const tasks_executor) -> &'a Executor {
    // SAFETY: a live executor is a boxed Executor (shared parts are thread-safe).
    unsafe { &*ex.cast::<Executor>() }
}

/// Creates an executor bound to the calling thread; free it with tasks_executor_free on that
/// thread. Timers of its tasks (tasks_context_sleep) are driven by the default runtime.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_executor_new(out: *mut *mut tasks_executor) -> tasks_status {
    boundary(|| {
        null_check!(tasks_status::TASKS_ERR_NULL; out);
        // SAFETY: checked non-NULL.
        unsafe { *out = Box::into_raw(Box::new(Executor::new())).cast() };
        tasks_status::TASKS_OK
    })
}

unsafe fn spawn_local(
    ex: *mut tasks_executor,
    func: Option<CFunc>,
    arg: *mut c_void,
    opts: *const tasks_spawn_opts,
    out: *mut *mut tasks_join_handle,
) -> tasks_status {
    null_check!(tasks_status::TASKS_ERR_NULL; ex);
    let Some(func) = func else {
        return tasks_status::TASKS_ERR_NULL;
    };
    // SAFETY: opts NULL or valid; a live executor.
    let body = unsafe { CBody::new(func, arg, opts) };
    match unsafe { executor(ex) }.spawn(body, !out.is_null()) {
        Ok(handle) => {
            if let Some(h) = handle {
                // SAFETY: out is non-NULL when a handle was asked for.
                unsafe { *out = h.into_raw().as_ptr().cast() };
            }
            tasks_status::TASKS_OK
        }
        Err((_, body)) => {
            body.disarm();
            tasks_status::TASKS_ERR_SHUTDOWN
        }
    }
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
    boundary(|| unsafe { spawn_local(ex, CFunc::run(func), arg, opts, out) })
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
    boundary(|| unsafe { spawn_local(ex, CFunc::poll(poll), state, opts, out) })
}

/// On the owning thread: polls the tasks that are ready, up to `max_polls` of them, and
/// returns how many it polled (0 from any other thread, or for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_executor_run(ex: *mut tasks_executor, max_polls: usize) -> usize {
    boundary(|| {
        null_check!(0; ex);
        // SAFETY: a live executor.
        unsafe { executor(ex) }.run(max_polls).unwrap_or(0)
    })
}

struct Notify {
    f: unsafe extern "C" fn(*mut c_void),
    data: *mut c_void,
}

// SAFETY: the contract says notify is called from any thread with the data given here.
unsafe impl Send for Notify {}
unsafe impl Sync for Notify {}

impl Notify {
    fn call(&self) {
        // SAFETY: the user's callback with its data.
        unsafe { (self.f)(self.data) }
    }
}

/// `notify(data)` is called (from any thread, possibly while tasks_executor_run runs) whenever
/// a task becomes ready while none was, so the owning thread's loop can wake up (write to an
/// eventfd, post a message), then call tasks_executor_run. `notify` NULL removes the hook.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_executor_set_notify(
    ex: *mut tasks_executor,
    notify: Option<unsafe extern "C" fn(data: *mut c_void)>,
    data: *mut c_void,
) {
    boundary(|| {
        null_check!(ex);
        let hook = notify.map(|f| {
            let n = Notify { f, data };
            Arc::new(move || n.call()) as Arc<dyn Fn() + Send + Sync>
        });
        // SAFETY: a live executor.
        unsafe { executor(ex) }.set_notify(hook);
    })
}

/// Tasks spawned into the executor and not yet finished. 0 for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_executor_len(ex: *const tasks_executor) -> usize {
    boundary(|| {
        null_check!(0; ex);
        // SAFETY: a live executor.
        unsafe { executor(ex) }.len()
    })
}

/// On the owning thread: cancels the tasks left (their drop_arg runs here; their joiners see
/// TASKS_CANCELLED) and frees the executor; returns TASKS_OK. Refused, with the executor left
/// valid and unchanged: TASKS_ERR_WRONG_THREAD from another thread, TASKS_ERR_WOULD_DEADLOCK
/// from inside tasks_executor_run of this executor (one of its own tasks, or their drop
/// functions). NULL is ignored (TASKS_OK).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_executor_free(ex: *mut tasks_executor) -> tasks_status {
    boundary(|| {
        null_check!(tasks_status::TASKS_OK; ex);
        // SAFETY: a live executor.
        match unsafe { executor(ex) }.close() {
            Ok(()) => {
                // SAFETY: closed by its owner: nothing refers to it any more.
                drop(unsafe { Box::from_raw(ex.cast::<Executor>()) });
                tasks_status::TASKS_OK
            }
            Err(LocalError::WrongThread) => tasks_status::TASKS_ERR_WRONG_THREAD,
            Err(LocalError::WouldDeadlock) => tasks_status::TASKS_ERR_WOULD_DEADLOCK,
            Err(LocalError::Shutdown) => tasks_status::TASKS_ERR_INVALID,
        }
    })
}

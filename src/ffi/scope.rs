//! `tasks_scope_*`: structured groups of tasks that may borrow from the caller (core:
//! `core::fork_join::scope`).

use std::ffi::c_void;

use super::body::{CBody, CFunc, tasks_fn, tasks_spawn_opts};
use super::cast::{self, castable};
use super::runtime::{status_on, tasks_runtime};
use super::spawn::spawned;
use super::{Required, boundary, checked, tasks_status};
use crate::core::fork_join::scope::Scope;

/// A scope: lives inside tasks_scope_run, which waits for every task spawned into it.
pub struct tasks_scope {
    _private: [u8; 0],
}

castable!(tasks_scope => Scope, Borrowed);

/// A scope's body: spawns tasks into `scope` (and may do work itself). Return 0 for success,
/// non-zero for failure (which cancels the scope's tasks).
pub type tasks_scope_fn =
    Option<unsafe extern "C" fn(scope: *mut tasks_scope, ctx: *mut c_void) -> i32>;

fn scope_ptr(s: &Scope) -> *mut tasks_scope {
    (s as *const Scope).cast_mut().cast()
}

/// Calls `body(scope, ctx)` on the calling thread, then waits until every task spawned into the
/// scope has ended and has been dropped (their `drop_arg` and `drop_output` have run), so those
/// tasks may point into the caller's stack. The `scope` pointer is valid until this returns: the
/// body, the scope's tasks and any thread they wait for may spawn into it (a spawn racing with
/// the return is the caller's bug). While it waits on a worker thread it runs other work (so
/// nesting never deadlocks, even on one worker); elsewhere it parks.
///
/// `rt` NULL: the runtime of the calling thread (a worker or blocking-pool thread of it), else the
/// default runtime. `ctx` stays the caller's.
/// Returns TASKS_OK (the body and every task returned 0), TASKS_FAILED (one of them did not),
/// TASKS_CANCELLED (tasks_scope_cancel was called, the task calling tasks_scope_run was aborted
/// (noticed within a few milliseconds while waiting), or a scope task was cancelled by the
/// runtime's shutdown). The first of these events wins and cancels the rest: tasks not started
/// never run (their `drop_arg` runs), running ones see tasks_current_is_cancelled() turn true,
/// later spawns are accepted and cancelled at once. Also TASKS_ERR_NULL (`body` is NULL),
/// TASKS_ERR_SHUTDOWN (`rt` is shut down: `body` was not called), TASKS_ERR_THREAD (no runtime
/// could be started).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_scope_run(
    rt: *mut tasks_runtime,
    body: tasks_scope_fn,
    ctx: *mut c_void,
) -> tasks_status {
    checked(|| {
        let f = body.required()?;
        // SAFETY: the user's function with the context they gave for it.
        let run = |s: &Scope| unsafe { f(scope_ptr(s), ctx) } == 0;
        Ok(status_on(rt, |rt| Scope::run(rt, run)))
    })
}

/// Spawns a run-to-completion task into `scope`: `fn(arg, &output)` runs on a worker of the
/// scope's runtime. It is a task (it counts in the metrics) without a join handle: its output,
/// if it sets one, is dropped with `opts->drop_output` as soon as it returns (scope tasks
/// usually write their results through pointers they were given); a non-zero return fails the
/// scope. `opts` may be NULL.
///
/// On TASKS_OK the scope owns `arg` (released with `opts->drop_arg` exactly once, before
/// tasks_scope_run returns). Into a cancelled scope the spawn is accepted and cancelled at once:
/// `drop_arg` runs before this returns and `fn` never runs. Returns TASKS_OK, TASKS_ERR_NULL
/// (`scope` or `fn` is NULL), TASKS_ERR_SHUTDOWN (the runtime is shutting down; `arg` stays
/// yours).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_scope_spawn(
    scope: *mut tasks_scope,
    func: tasks_fn,
    arg: *mut c_void,
    opts: *const tasks_spawn_opts,
) -> tasks_status {
    checked(|| {
        // SAFETY: NULL or a live scope (inside its tasks_scope_run).
        let scope = unsafe { cast::try_ref(scope) }.required()?;
        // SAFETY: opts is NULL or valid (caller's contract).
        let body = unsafe { CBody::new(CFunc::run(func).required()?, arg, opts) };
        spawned(scope.spawn(body))?;
        Ok(tasks_status::TASKS_OK)
    })
}

/// Cancels the scope: tasks not started never run (their `drop_arg` runs), running ones see
/// tasks_current_is_cancelled() turn true, later spawns are cancelled at once, and
/// tasks_scope_run returns TASKS_CANCELLED unless a failure came first. Returns at once; calling
/// it again does nothing. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_scope_cancel(scope: *mut tasks_scope) {
    boundary(|| {
        // SAFETY: NULL or a live scope (inside its tasks_scope_run).
        if let Some(scope) = unsafe { cast::try_ref(scope) } {
            scope.cancel();
        }
    })
}

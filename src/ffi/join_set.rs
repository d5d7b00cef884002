//! `tasks_join_set`: a group of tasks joined in completion order.

use std::ffi::c_void;

use super::body::{CBody, CFunc, tasks_context, tasks_fn, tasks_poll_fn, tasks_spawn_opts};
use super::cast::{self, castable};
use super::runtime::{resolve, tasks_runtime};
use super::spawn::spawned;
use super::status::hand_out_result;
use super::{Required, boundary, checked, deadline_after, tasks_status};
use crate::core::join_set::{JoinSet, Next};

/// A group of tasks on one runtime, joined in the order they finish. Used from one thread at a
/// time. Free it with tasks_join_set_free (which aborts what is left).
pub struct tasks_join_set {
    _private: [u8; 0],
}

castable!(tasks_join_set => JoinSet, OwnedBox);

/// Creates an empty set whose tasks run on `rt` (NULL: the calling thread's runtime, else the
/// default one). On success `*out` receives it; free it with tasks_join_set_free.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join_set_new(
    rt: *mut tasks_runtime,
    out: *mut *mut tasks_join_set,
) -> tasks_status {
    checked(|| {
        let out = out.required()?;
        let set = resolve(rt, |rt| JoinSet::new(std::sync::Arc::clone(rt)))?;
        // SAFETY: a writable out-pointer (caller's contract).
        unsafe { cast::write_out(out, cast::give_box(set)) };
        Ok(tasks_status::TASKS_OK)
    })
}

/// The body of both join-set spawns: `func(arg)` as a task with `opts` in the set, its id
/// through `id`.
unsafe fn spawn_into(
    s: *mut tasks_join_set,
    func: Option<CFunc>,
    arg: *mut c_void,
    opts: *const tasks_spawn_opts,
    id: *mut u64,
) -> tasks_status {
    checked(|| {
        // SAFETY: NULL or a live set, used from one thread at a time.
        let set = unsafe { cast::try_mut(s) }.required()?;
        // SAFETY: opts is NULL or valid.
        let body = unsafe { CBody::new(func.required()?, arg, opts) };
        let task_id = spawned(set.spawn(body))?;
        // SAFETY: NULL or writable.
        unsafe { cast::write_out(id, task_id) };
        Ok(tasks_status::TASKS_OK)
    })
}

/// Spawns a run-to-completion task into the set (as tasks_spawn; the set keeps its handle).
/// `*id` (if `id` is not NULL) receives the task's id. Ownership of `arg` and errors as for
/// tasks_spawn.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join_set_spawn(
    s: *mut tasks_join_set,
    func: tasks_fn,
    arg: *mut c_void,
    opts: *const tasks_spawn_opts,
    id: *mut u64,
) -> tasks_status {
    // SAFETY: forwarded caller contract.
    unsafe { spawn_into(s, CFunc::run(func), arg, opts, id) }
}

/// Spawns a poll-style task into the set (as tasks_spawn_poll).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join_set_spawn_poll(
    s: *mut tasks_join_set,
    poll: tasks_poll_fn,
    state: *mut c_void,
    opts: *const tasks_spawn_opts,
    id: *mut u64,
) -> tasks_status {
    // SAFETY: forwarded caller contract.
    unsafe { spawn_into(s, CFunc::poll(poll), state, opts, id) }
}

/// Tasks spawned into the set and not yet returned by join_next (finished or not). 0 for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join_set_len(s: *const tasks_join_set) -> usize {
    // SAFETY: NULL or a live set.
    boundary(|| unsafe { cast::try_ref(s) }.map_or(0, JoinSet::len))
}

fn hand_out(
    next: Next,
    output: *mut *mut c_void,
    id: *mut u64,
    not_yet: tasks_status,
) -> tasks_status {
    match next {
        Next::Empty => tasks_status::TASKS_EMPTY,
        Next::NotYet => not_yet,
        Next::WouldDeadlock => tasks_status::TASKS_ERR_WOULD_DEADLOCK,
        Next::Joined(j) => {
            // SAFETY: NULL or writable.
            unsafe { cast::write_out(id, j.id) };
            hand_out_result(j.result, output)
        }
    }
}

/// Waits up to `timeout_ns` for the next task of the set to finish, in completion order, and
/// takes it out of the set: returns its status (TASKS_OK / TASKS_FAILED with `*output` set, or
/// TASKS_CANCELLED) and writes its id to `*id`. TASKS_EMPTY if the set has no tasks,
/// TASKS_TIMED_OUT (TASKS_PENDING for a 0 timeout) if none finished in time. `output` and `id`
/// may be NULL (a NULL `output` drops the output with drop_output). On a worker thread it runs
/// other tasks while it waits. TASKS_ERR_WOULD_DEADLOCK (nothing taken) when the only task left
/// in the set is the calling task itself (it would wait for itself).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join_set_join_next(
    s: *mut tasks_join_set,
    timeout_ns: u64,
    output: *mut *mut c_void,
    id: *mut u64,
) -> tasks_status {
    checked(|| {
        // SAFETY: NULL or a live set.
        let set = unsafe { cast::try_mut(s) }.required()?;
        let (deadline, not_yet) = if timeout_ns == 0 {
            (Some(std::time::Instant::now()), tasks_status::TASKS_PENDING)
        } else {
            (deadline_after(timeout_ns), tasks_status::TASKS_TIMED_OUT)
        };
        let next = set.join_next(deadline, !output.is_null());
        Ok(hand_out(next, output, id, not_yet))
    })
}

/// join_next for poll-style tasks: takes a finished task as join_next does, returns
/// TASKS_EMPTY for an empty set, else registers the polling task to be woken when the next one
/// finishes (replacing an earlier registration) and returns TASKS_PENDING.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join_set_poll_join_next(
    s: *mut tasks_join_set,
    cx: *mut tasks_context,
    output: *mut *mut c_void,
    id: *mut u64,
) -> tasks_status {
    checked(|| {
        // SAFETY: NULL or a live set; NULL or a context during its poll.
        let (set, cx) = unsafe { (cast::try_mut(s), cast::try_ref(cx)) };
        let next = set
            .required()?
            .poll_join_next(&cx.required()?.waker(), !output.is_null());
        Ok(hand_out(next, output, id, tasks_status::TASKS_PENDING))
    })
}

/// Aborts every task in the set (each as tasks_join_handle_abort); they stay in the set and
/// join_next returns them (TASKS_CANCELLED, or their result if they finished anyway).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join_set_abort_all(s: *mut tasks_join_set) {
    boundary(|| {
        // SAFETY: NULL or a live set.
        if let Some(set) = unsafe { cast::try_ref(s) } {
            set.abort_all();
        }
    })
}

/// Aborts the tasks left in the set and frees it. Outputs nobody took are dropped with their
/// drop_output (at once for finished tasks, when they finish for running ones). NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join_set_free(s: *mut tasks_join_set) {
    // SAFETY: NULL or a live set, which the caller gives up.
    boundary(|| drop(unsafe { cast::take_box(s) }))
}

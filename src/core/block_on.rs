//! `block_on`: drives one poll-style task on the calling thread, parking between wakes. The
//! task's timers are the runtime's (its workers fire them); join handles it polls wake it like
//! any waker. The calling thread counts as one of the runtime's for the duration, so spawns
//! without a runtime from inside go to that runtime.
//!
//! Called on a worker of another runtime, the worker first gives its core (and every task it
//! holds) to a substitute thread, as `block_in_place` does: the calling thread blocks, its work
//! must not.

use std::sync::Arc;

use crate::core::local_scheduler::LocalScheduler;
use crate::core::park;
use crate::core::runtime::{Runtime, this_thread};
use crate::core::task::{Body, Joining, TaskResult};

/// Why block_on refused (the body comes back untouched with it).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BlockOnError {
    /// Called from a worker of the same runtime.
    WouldDeadlock,
    /// The runtime is shut down.
    Shutdown,
}

/// Runs `body` to completion on this thread. Returns its result; the output is handed over
/// (with `keep_output`) or dropped with the body's drop_output.
pub(crate) fn block_on<B: Body>(
    rt: &Arc<Runtime>,
    body: B,
    keep_output: bool,
) -> Result<TaskResult, (BlockOnError, B)> {
    match this_thread::current_worker() {
        Some(w) if Arc::ptr_eq(&w.shared, rt) => Err((BlockOnError::WouldDeadlock, body)),
        Some(w) => w.block_in_place(|| drive(rt, body, keep_output)),
        None => drive(rt, body, keep_output),
    }
}

fn drive<B: Body>(
    rt: &Arc<Runtime>,
    body: B,
    keep_output: bool,
) -> Result<TaskResult, (BlockOnError, B)> {
    let parker = park::current();
    let unparker = Arc::clone(&parker);
    let sched = LocalScheduler::new(
        Some(Arc::clone(rt)),
        Some(Arc::new(move || unparker.unpark())),
    );
    // The runtime's shutdown cancels this task too; refused once it has begun.
    if rt.is_forked() || !rt.register_block_on(&sched) {
        return Err((BlockOnError::Shutdown, body));
    }
    let _rt = this_thread::enter_runtime(rt);
    // A shutdown of `rt` that began after the registration has closed the scheduler: the
    // spawn is refused and the body comes back untouched (nothing was taken).
    let handle = match sched.spawn(body, Joining::Handle) {
        Ok(h) => h.expect("asked for a handle"),
        Err((_, body)) => {
            rt.unregister_block_on(&sched);
            return Err((BlockOnError::Shutdown, body));
        }
    };
    let result = loop {
        sched.run(usize::MAX).expect("owner thread");
        if let Some(result) = handle.take_result(keep_output) {
            break result;
        }
        parker.park(None);
    };
    drop(handle);
    // Releases the task (a last racing entry may still arrive) before the scheduler goes.
    sched.close(&parker).expect("owner thread");
    rt.unregister_block_on(&sched);
    Ok(result)
}

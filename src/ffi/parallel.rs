//! `tasks_join2` and `tasks_parallel_for` (core: `core::fork_join`).

use std::ffi::c_void;

use super::body::tasks_fn;
use super::cast::write_out;
use super::runtime::{status_on, tasks_runtime};
use super::{Required, checked, tasks_status};
use crate::core::fork_join::parallel_for::parallel_for;
use crate::core::fork_join::runtime::join2_here;

/// A pointer the C caller hands to one of its functions, which may run on another thread.
#[derive(Clone, Copy)]
struct SendPtr(*mut c_void);

// SAFETY: the contract of these calls: the functions may run on any worker thread.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// (A method, so closures capture the whole `SendPtr`, not its non-Send field.)
    fn get(self) -> *mut c_void {
        self.0
    }
}

type RunFn = unsafe extern "C" fn(*mut c_void, *mut *mut c_void) -> i32;

/// Calls a task function; returns its status and output.
fn call(f: RunFn, arg: SendPtr) -> (i32, SendPtr) {
    let mut out: *mut c_void = std::ptr::null_mut();
    // SAFETY: the user's function with the argument they gave for it.
    let rc = unsafe { f(arg.get(), &mut out) };
    (rc, SendPtr(out))
}

/// Runs `a(arg_a, &output)` and `b(arg_b, &output)`, potentially in parallel, and returns when
/// both have returned. Allocates nothing.
///
/// On a worker thread, `a` runs on the calling thread while `b` is offered to the other workers
/// of its runtime; if no worker took `b` by the time `a` returns, the caller runs `b` itself,
/// else it runs other work of its runtime until `b` is done (so nesting never deadlocks, even
/// on one worker). Elsewhere (a thread that is not a worker, or a worker inside
/// tasks_block_in_place) both run on the workers of the calling thread's runtime (a blocking
/// pool thread's, a tasks_block_on's), else of the default runtime, while the caller parks.
/// `b`, when another worker runs it, runs outside any task (tasks_current_id() is 0 there, and
/// task-local values are not reachable); tasks_current_is_cancelled() in it reports the
/// cancellation of the caller.
///
/// Each function's `*output` starts as NULL; it is written to `out_a` / `out_b` whatever the
/// status (a failure payload included). A NULL out-pointer discards that output (join2 has no
/// drop function: the output is simply not stored). `arg_a` and `arg_b` stay the caller's.
/// Returns TASKS_OK (both returned 0), TASKS_FAILED (either returned non-zero), TASKS_ERR_NULL
/// (`a` or `b` is NULL; nothing ran), TASKS_ERR_SHUTDOWN (the runtime is shut down; nothing
/// ran), TASKS_ERR_THREAD (no runtime could be started).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_join2(
    a: tasks_fn,
    arg_a: *mut c_void,
    out_a: *mut *mut c_void,
    b: tasks_fn,
    arg_b: *mut c_void,
    out_b: *mut *mut c_void,
) -> tasks_status {
    checked(|| {
        let (fa, fb) = (a.required()?, b.required()?);
        let (arg_a, arg_b) = (SendPtr(arg_a), SendPtr(arg_b));
        let joined = join2_here(|| call(fa, arg_a), || call(fb, arg_b));
        let ((ra, oa), (rb, ob)) = joined.ok_or(tasks_status::TASKS_ERR_THREAD)??;
        // SAFETY: NULL or writable out-pointers (caller's contract).
        unsafe {
            write_out(out_a, oa.get());
            write_out(out_b, ob.get());
        }
        Ok(if ra == 0 && rb == 0 {
            tasks_status::TASKS_OK
        } else {
            tasks_status::TASKS_FAILED
        })
    })
}

/// A loop body: handles the indices `[begin, end)`. Return 0 for success, non-zero for failure.
pub type tasks_range_fn =
    Option<unsafe extern "C" fn(ctx: *mut c_void, begin: u64, end: u64) -> i32>;

/// Calls `body(ctx, b, e)` on non-empty, disjoint subranges that together cover `[begin, end)`
/// exactly once, in parallel on the workers of `rt`, and returns when all of them have returned.
///
/// Splitting is adaptive: the range is cut in halves about twice per worker, and a half that
/// another (idle) worker takes is split further. `grain` is the smallest subrange worth a
/// separate call (0: 1): every subrange is at least `min(grain, end - begin)` long.
/// `rt` NULL: the runtime of the calling thread (a worker or blocking-pool thread of it), else
/// the default runtime. On a worker of `rt` the caller takes part (it runs subranges, and other
/// work while it waits), so nesting inside tasks, scopes, join2 or another loop never
/// deadlocks; elsewhere the caller parks while `rt`'s workers run the loop. Subranges that other
/// workers run are called outside any task (tasks_current_id() is 0);
/// tasks_current_is_cancelled() in them reports the cancellation of the caller.
/// `ctx` stays the caller's; it is shared by all calls, from several threads at once.
///
/// Returns TASKS_OK (every subrange ran and returned 0), TASKS_FAILED (a body returned
/// non-zero: no subrange starts after that), TASKS_CANCELLED (the calling task was aborted, or
/// the scope task calling it was cancelled, also before the call: then `body` may not be called
/// at all; no subrange starts after it is seen), TASKS_ERR_NULL (`body` is NULL),
/// TASKS_ERR_INVALID (`begin > end`), TASKS_ERR_SHUTDOWN (`rt` is shut down: nothing called),
/// TASKS_ERR_THREAD (no runtime could be started). `begin == end`: TASKS_OK without calling
/// `body`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_parallel_for(
    rt: *mut tasks_runtime,
    begin: u64,
    end: u64,
    grain: u64,
    body: tasks_range_fn,
    ctx: *mut c_void,
) -> tasks_status {
    checked(|| {
        let f = body.required()?;
        if begin > end {
            return Err(tasks_status::TASKS_ERR_INVALID);
        }
        let ctx = SendPtr(ctx);
        // SAFETY: the user's function with the context they gave for it.
        let call = move |b: u64, e: u64| unsafe { f(ctx.get(), b, e) } == 0;
        Ok(status_on(rt, |rt| {
            parallel_for(rt, begin, end, grain, &call)
        }))
    })
}

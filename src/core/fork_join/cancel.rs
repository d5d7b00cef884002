//! Where fork-join work looks to see whether it should stop: the *cancellation context*.
//!
//! A context is the calling task (its CANCEL_REQUESTED flag: abort, runtime shutdown) plus a
//! chain of flags that enclosing fork-join constructs added (a scope's `cancelled` flag for
//! the scope's tasks). Chain nodes live on the stacks of calls that outlive everything that
//! can see them: a scope's node on the frame of `tasks_scope_run` (which waits for every scope
//! task), a stolen job's node on the thief's frame while it runs the job (and the job's origin
//! context on the owner's frame, which waits for the job's latch).
//!
//! The innermost node of the thread is kept in a thread-local *frame* together with the task
//! that was current when it was entered: the frame counts only while that same task is the
//! current one, so a task that some wait runs nested (a join that helps) never inherits the
//! cancellation of the task it interrupted.
//!
//! `tasks_current_is_cancelled()` is [`CancelCtx::current`]`().is_cancelled()`: a scope task
//! sees its scope's cancel, its own abort, and the abort of the task that called
//! `tasks_scope_run`; a `join2` half or loop piece that another worker took sees the
//! cancellation of the call it came from.

use std::ptr::NonNull;

use crate::core::sync::{AtomicBool, Ordering};
use crate::core::task::{CurrentTask, current_in, enter_no_task};
use crate::core::thread_state::{self, ThreadState};

// The frame is `ThreadState::cancel_frame`: (the task current when the frame was entered, the
// innermost node), both erased.

/// A snapshot of a thread's cancellation context (see module docs). Copyable; valid while the
/// call that took it is running (its task and chain nodes are alive until then).
#[derive(Clone, Copy, Default)]
pub(crate) struct CancelCtx {
    task: Option<CurrentTask>,
    node: Option<NonNull<CancelNode>>,
}

// SAFETY: it only reads atomics (the task's state word, the chain's flags) of objects whose
// owners outlive every user of the context (module docs).
unsafe impl Send for CancelCtx {}
unsafe impl Sync for CancelCtx {}

/// One link of the chain: an optional flag, then the context it was entered in.
pub(crate) struct CancelNode {
    flag: Option<NonNull<AtomicBool>>,
    parent: CancelCtx,
}

impl CancelNode {
    /// A node checking `flag` (if any) before `parent`. The flag must outlive the node's use.
    pub(crate) fn new(flag: Option<&AtomicBool>, parent: CancelCtx) -> CancelNode {
        CancelNode {
            flag: flag.map(NonNull::from),
            parent,
        }
    }
}

impl CancelCtx {
    /// The calling thread's context.
    #[inline]
    pub(crate) fn current() -> CancelCtx {
        thread_state::with(CancelCtx::current_in)
    }

    /// The context in the given thread state (for callers that already looked it up).
    #[inline]
    pub(crate) fn current_in(state: &ThreadState) -> CancelCtx {
        let task = current_in(state);
        let (owner, node) = state.cancel_frame.get();
        CancelCtx {
            task,
            node: if owner == CurrentTask::as_erased(task) {
                NonNull::new(node.cast_mut().cast())
            } else {
                None
            },
        }
    }

    /// Whether anything in this context asked to stop.
    pub(crate) fn is_cancelled(&self) -> bool {
        let mut ctx = *self;
        loop {
            if let Some(t) = ctx.task {
                // SAFETY: the task runs while its context is in use (module docs).
                if unsafe { t.is_cancel_requested() } {
                    return true;
                }
            }
            let Some(node) = ctx.node else { return false };
            // SAFETY: a node outlives every context that points at it (module docs).
            let node = unsafe { node.as_ref() };
            if let Some(f) = node.flag {
                // SAFETY: the flag outlives the node.
                if unsafe { f.as_ref() }.load(Ordering::Acquire) {
                    return true;
                }
            }
            ctx = node.parent;
        }
    }

    /// Whether anything could ever cancel this context (a waiter need not poll otherwise).
    pub(crate) fn is_cancellable(&self) -> bool {
        self.task.is_some() || self.node.is_some()
    }
}

/// Restores the previous frame when dropped (on the thread that entered it).
struct FrameGuard {
    state: *const ThreadState,
    prev: (*const (), *const ()),
}

impl Drop for FrameGuard {
    fn drop(&mut self) {
        // SAFETY: this thread's state, alive while the thread runs (the guard is on its stack).
        unsafe { &*self.state }.cancel_frame.set(self.prev);
    }
}

/// Runs `f` with `node` as the innermost node of the current task's context.
#[inline]
pub(crate) fn with_node<R>(node: &CancelNode, f: impl FnOnce() -> R) -> R {
    let _restore = thread_state::with(|s| {
        let owner = CurrentTask::as_erased(current_in(s));
        let node = (node as *const CancelNode).cast();
        FrameGuard {
            state: s,
            prev: s.cancel_frame.replace((owner, node)),
        }
    });
    f()
}

/// Runs a job that came from another call (stolen, injected, or popped by a helping wait):
/// outside any task (its task-locals and name belong to the task that waits for it, on another
/// thread), with the origin's cancellation context.
#[inline]
pub(crate) fn as_job<R>(origin: &CancelCtx, f: impl FnOnce() -> R) -> R {
    let _no_task = enter_no_task();
    let node = CancelNode::new(None, *origin);
    with_node(&node, f)
}

/// `tasks_current_is_cancelled()`: the current task's abort request, plus the scopes and
/// callers whose cancellation it inherits.
pub(crate) fn current_is_cancelled() -> bool {
    CancelCtx::current().is_cancelled()
}

//! Structured fork-join and data parallelism: `join2`, scopes, `parallel_for`.
//!
//! Everything here *borrows*: a call returns only after all the work it started has ended, so
//! that work lives on the caller's stack and nothing is allocated per piece (a scope task is a
//! real task: one task block, and a counter in the scope).
//!
//! - [`latch`]: [`latch::Latch`], one word that is set once and wakes one waiter (the setter's
//!   last access is a swap: the waiter may free it right after), and [`latch::CountLatch`], a
//!   counter of pending pieces whose last decrement sets a latch.
//! - [`job`]: [`job::StackJob`], a closure, its result slot and a latch on the caller's stack;
//!   queues hold a [`job::JobRef`] (pointer + run function). The invariant: a job is taken out
//!   of its queue exactly once, and its creator returns only after running it inline or seeing
//!   its latch set, so no job is left in a queue or running when its frame goes away.
//! - [`join2`]: the join protocol over a [`join2::JobHost`] (the worker, or a loom model):
//!   push `b` onto the worker's LIFO job deque, run `a`, pop `b` back and run it inline, or
//!   wait (helping) for whoever took it. Covers cores that move to another thread during `a`.
//! - [`cancel`]: the cancellation context (calling task + enclosing scopes' flags) that scope
//!   tasks and stolen pieces see through `tasks_current_is_cancelled()`.
//! - [`scope`]: scope tasks (a body wrapper counting in the scope's `CountLatch`), the waiter
//!   (helps or parks; notices an abort of its caller), cancellation.
//! - [`parallel_for`]: adaptive halving over `join2`'s jobs.
//! - [`runtime`]: the job queues a runtime holds, the worker as a `JobHost`, and entering
//!   fork-join from outside the runtime's workers (one injected job; the caller parks).
//!
//! The worker loop's side (own jobs first, steal jobs before tasks, jobs in the sleepers'
//! re-check, jobs moved with the core) is in `runtime/worker/jobs.rs`.

pub(crate) mod cancel;
pub(crate) mod job;
pub(crate) mod join2;
pub(crate) mod latch;
#[cfg(not(loom))]
pub(crate) mod parallel_for;
#[cfg(not(loom))]
pub(crate) mod runtime;
pub(crate) mod scope;

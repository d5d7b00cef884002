//! The runtime in plain Rust: tasks and their state machine (`task`), the multi-threaded
//! scheduler and blocking pool (`runtime`), thread parking and per-thread context. Nothing
//! here knows about C; `crate::ffi` adapts it.

#[cfg(not(loom))]
pub(crate) mod block_on;
#[cfg(not(loom))]
pub(crate) mod executor;
pub(crate) mod fork_join;
pub(crate) mod id;
pub(crate) mod idle;
#[cfg(not(loom))]
pub(crate) mod join_set;
pub(crate) mod local_scheduler;
pub(crate) mod park;
#[cfg(not(loom))]
pub(crate) mod runtime;
pub(crate) mod sync;
pub(crate) mod task;
pub(crate) mod thread_state;
pub(crate) mod timer;

#[cfg(test)]
mod tests;

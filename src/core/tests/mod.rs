//! Tests of the core: the task state machine and join protocol against a test scheduler
//! (`support`), loom models of the races (`loom_models`, `--cfg loom`), and the runtime
//! (`runtime`, real threads).

#[cfg(not(loom))]
mod fork_join;
#[cfg(loom)]
mod loom_fork_join;
#[cfg(loom)]
mod loom_models;
#[cfg(loom)]
mod loom_worker;
#[cfg(not(loom))]
mod runtime;
mod support;
#[cfg(not(loom))]
mod task_unit;

//! `tasks_metrics`.

use crate::core::runtime::Metrics;

/// A runtime's counters. completed = finished with OK, failed = FAILED, cancelled = CANCELLED;
/// alive = spawned and not yet finished; spawned = completed + failed + cancelled + alive.
/// polls counts task runs (a poll of a poll-style task, the run of a run-to-completion task).
/// The queue depths are a snapshot.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct tasks_metrics {
    pub workers: usize,
    pub blocking_threads: usize,
    pub idle_blocking_threads: usize,
    pub spawned: u64,
    pub completed: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub alive: u64,
    pub polls: u64,
    pub steals: u64,
    pub parks: u64,
    pub injection_queue_depth: u64,
    pub local_queue_depth: u64,
}

impl From<Metrics> for tasks_metrics {
    fn from(m: Metrics) -> Self {
        tasks_metrics {
            workers: m.workers,
            blocking_threads: m.blocking_threads,
            idle_blocking_threads: m.idle_blocking_threads,
            spawned: m.spawned,
            completed: m.completed,
            failed: m.failed,
            cancelled: m.cancelled,
            alive: m.alive,
            polls: m.polls,
            steals: m.steals,
            parks: m.parks,
            injection_queue_depth: m.injection_queue_depth,
            local_queue_depth: m.local_queue_depth,
        }
    }
}

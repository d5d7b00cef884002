//! The part of a task that most tasks never need, allocated on first use so the header stays
//! small: the join-waker slot (poll-style joins), task-local values, and the key of the task's
//! pending timer. One atomic pointer in the header; created by compare-and-swap (the loser
//! frees its copy), freed with the task.
//!
//! Who may touch what:
//! - `join_waker`: rule 9 of the module docs (join side while JOIN_WAKER is clear, completer
//!   while it is set).
//! - `locals` and `timer`: only the holder of RUNNING (the task itself while it runs, and
//!   whoever completes it).

use std::task::Waker;

use super::task_local::LocalValues;
use crate::core::sync::UnsafeCell;
use crate::core::timer::TimerKey;

#[derive(Default)]
pub(super) struct Extension {
    pub(super) join_waker: UnsafeCell<Option<Waker>>,
    pub(super) locals: UnsafeCell<LocalValues>,
    pub(super) timer: UnsafeCell<Option<TimerKey>>,
}

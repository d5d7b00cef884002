//! The owner's list of live tasks (rule 8 and 12 in the module docs), sharded so that spawn
//! and completion take an uncontended lock: a task's shard is picked from its id, and ids are
//! handed out in per-thread blocks, so tasks spawned by one thread share a shard.
//!
//! Invariants (all under the shard lock): a task is linked from its insert until its release;
//! `len` counts linked tasks; once `closed` is set no insert succeeds. The list holds one
//! reference per task, which the releaser gets back.
//!
//! Closing is one step for all shards: `closing` is set before the first shard is locked, and
//! every insert reads it under its shard's lock. So a refusal is final: a spawn that follows a
//! refused one (in the same thread, or after it in any happens-before order) is refused too,
//! whichever shard its id picks. (Shards closed one by one let a thread spawning in a loop see
//! refusals and acceptances alternate during shutdown; `loom_shutdown_refusal_is_final`.) An
//! insert that read `closing` false holds its shard's lock, so the closer, which locks every
//! shard after setting the flag, finds and collects that task.

use std::ptr::NonNull;
use std::time::Instant;

use crossbeam_utils::CachePadded;

use super::cell::{Header, NewTask};
use super::handle::TaskRef;
use super::raw::RawTask;
use super::state::Outcome;
use crate::core::sync::{AtomicBool, AtomicU64, Condvar, Mutex, Ordering};

struct List {
    head: Option<NonNull<Header>>,
    len: usize,
    closed: bool,
    spawned: u64,
}

// SAFETY: the raw pointers are only followed under the lock, and point to tasks kept alive by
// the list's references.
unsafe impl Send for List {}

struct Shard {
    list: Mutex<List>,
    completed: AtomicU64,
    failed: AtomicU64,
    cancelled: AtomicU64,
}

pub(crate) struct OwnedTasks {
    shards: Box<[CachePadded<Shard>]>,
    /// Set once, before any shard is closed (module docs).
    closing: AtomicBool,
    mask: usize,
    empty_lock: Mutex<()>,
    empty_cvar: Condvar,
}

/// Sums of the task counters over all shards.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TaskCounts {
    pub(crate) spawned: u64,
    pub(crate) completed: u64,
    pub(crate) failed: u64,
    pub(crate) cancelled: u64,
}

impl OwnedTasks {
    /// `shards` is rounded up to a power of two.
    pub(crate) fn new(shards: usize) -> OwnedTasks {
        let n = shards.max(1).next_power_of_two();
        let shards = (0..n)
            .map(|_| {
                CachePadded::new(Shard {
                    list: Mutex::new(List {
                        head: None,
                        len: 0,
                        closed: false,
                        spawned: 0,
                    }),
                    completed: AtomicU64::new(0),
                    failed: AtomicU64::new(0),
                    cancelled: AtomicU64::new(0),
                })
            })
            .collect();
        OwnedTasks {
            shards,
            closing: AtomicBool::new(false),
            mask: n - 1,
            empty_lock: Mutex::new(()),
            empty_cvar: Condvar::new(),
        }
    }

    fn shard(&self, header: &Header) -> &Shard {
        &self.shards[(crate::core::id::block_of(header.id) as usize) & self.mask]
    }

    /// Links a new task (taking over the list's reference). False if the owner is closed: the
    /// task was not linked and the caller still owns that reference.
    pub(super) fn insert(&self, task: &NewTask) -> bool {
        let raw = task.raw();
        let task = raw.ptr();
        let header = raw.header();
        let mut list = self.shard(header).list.lock();
        // Acquire: pairs with the closer's store, for the "refusal is final" order.
        if list.closed || self.closing.load(Ordering::Acquire) {
            return false;
        }
        // SAFETY: links are only touched under this lock.
        header.links.with_mut(|l| unsafe {
            (*l).prev = None;
            (*l).next = list.head;
        });
        if let Some(old) = list.head {
            // SAFETY: linked tasks are alive (the list holds a reference).
            unsafe { old.as_ref().links.with_mut(|l| (*l).prev = Some(task)) };
        }
        list.head = Some(task);
        list.len += 1;
        list.spawned += 1;
        true
    }

    /// Counts a completion (rule 7).
    pub(super) fn count(&self, header: &Header, outcome: Outcome) {
        let shard = self.shard(header);
        let counter = match outcome {
            Outcome::Ok => &shard.completed,
            Outcome::Failed => &shard.failed,
            Outcome::Cancelled => &shard.cancelled,
        };
        // Release: whoever reads this count (Acquire) and then the spawn count under the shard
        // lock sees this task's insert too (see `counts`).
        counter.fetch_add(1, Ordering::Release);
    }

    /// Unlinks a task (its release, rule 8). The list's reference goes back to the caller.
    /// After this returns the owner may be freed by a thread waiting for the lists to empty:
    /// the caller must not touch the owner again.
    pub(super) fn remove(&self, header: &Header) {
        let now_empty = {
            let mut list = self.shard(header).list.lock();
            // SAFETY: linked, under the lock.
            let (prev, next) = header
                .links
                .with_mut(|l| unsafe { ((*l).prev.take(), (*l).next.take()) });
            match prev {
                // SAFETY: linked neighbours are alive.
                Some(p) => unsafe { p.as_ref().links.with_mut(|l| (*l).next = next) },
                None => list.head = next,
            }
            if let Some(n) = next {
                // SAFETY: as above.
                unsafe { n.as_ref().links.with_mut(|l| (*l).prev = prev) };
            }
            list.len -= 1;
            list.len == 0 && list.closed
        };
        if now_empty {
            // Taking the lock orders this notify after a waiter's emptiness check.
            let _g = self.empty_lock.lock();
            self.empty_cvar.notify_all();
        }
    }

    /// Refuses all further inserts and returns a reference to every linked task.
    pub(crate) fn close_and_collect(&self) -> Vec<TaskRef> {
        self.closing.store(true, Ordering::Release);
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let mut list = shard.list.lock();
            list.closed = true;
            let mut cur = list.head;
            while let Some(t) = cur {
                // SAFETY: linked tasks are alive (the list holds a reference, and we hold the
                // lock that an unlink takes).
                let raw = unsafe { RawTask::from_raw(t) };
                out.push(TaskRef::new_from(raw));
                // SAFETY: links read under the lock.
                cur = raw.header().links.with(|l| unsafe { (*l).next });
            }
        }
        out
    }

    fn all_empty(&self) -> bool {
        self.shards.iter().all(|s| s.list.lock().len == 0)
    }

    /// Waits until every task has been released, or `deadline` passes. Only meaningful after
    /// [`close_and_collect`](Self::close_and_collect) (nothing can be added any more).
    pub(crate) fn wait_empty(&self, deadline: Option<Instant>) -> bool {
        let mut guard = self.empty_lock.lock();
        loop {
            if self.all_empty() {
                return true;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            guard = self.empty_cvar.wait_until(guard, deadline);
        }
    }

    /// Tasks linked now (spawned and not yet released).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.list.lock().len).sum()
    }

    /// The counters, consistent in one direction: every task counted as finished is counted
    /// as spawned (finished counts are read first, with Acquire, and a task's completion is
    /// counted after its insert), so `spawned - finished` never underflows.
    pub(crate) fn counts(&self) -> TaskCounts {
        let mut c = TaskCounts::default();
        for s in self.shards.iter() {
            c.completed += s.completed.load(Ordering::Acquire);
            c.failed += s.failed.load(Ordering::Acquire);
            c.cancelled += s.cancelled.load(Ordering::Acquire);
        }
        for s in self.shards.iter() {
            c.spawned += s.list.lock().spawned;
        }
        c
    }
}

impl Drop for OwnedTasks {
    fn drop(&mut self) {
        debug_assert!(
            self.shards.iter().all(|s| s.list.lock().len == 0),
            "owner dropped with live tasks"
        );
    }
}

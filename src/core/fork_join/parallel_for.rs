//! `parallel_for`: a range split in halves with `join2`'s stack jobs, adaptively (Rayon's
//! adaptive splitter, oneTBB's auto partitioner).
//!
//! A piece of the range starts with a split budget `splits` (the number of workers at the top).
//! It splits in two while the budget lasts (halving it each time) and both halves are at least
//! the grain long; the right half is a stack job other workers may steal. A half that was
//! stolen (it runs on another worker than its parent) resets its budget to at least the number
//! of workers: work that migrates is split further so the thief's idle neighbours can take a
//! share, while a range nobody steals is cut into about twice as many pieces as there are
//! workers. A small loop on busy workers therefore costs a few splits, not `len / grain` jobs.
//!
//! Every piece checks, before it starts, whether the loop has stopped: a body failed (FAILED),
//! or the caller's cancellation context (the calling task's abort, an enclosing scope's cancel)
//! is set (CANCELLED). After a stop no new piece starts; pieces already running finish.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::cancel::CancelCtx;
use super::join2::join_on;
use super::runtime::{Shutdown, is_shut_down, on_worker};
use crate::core::runtime::Runtime;
use crate::core::runtime::this_thread;
use crate::core::runtime::worker::WorkerCtx;
use crate::core::task::Outcome;

const RUNNING: usize = 0;
const FAILED: usize = 1;
const CANCELLED: usize = 2;

struct Loop<'a> {
    body: &'a (dyn Fn(u64, u64) -> bool + Sync),
    min_len: u64,
    workers: usize,
    stop: AtomicUsize,
    cancel: CancelCtx,
}

impl Loop<'_> {
    /// Whether the loop must not start another piece (and records why).
    fn stopped(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) != RUNNING {
            return true;
        }
        if self.cancel.is_cancelled() {
            self.halt(CANCELLED);
            return true;
        }
        false
    }

    fn halt(&self, why: usize) {
        let _ = self
            .stop
            .compare_exchange(RUNNING, why, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Runs `[begin, end)` with split budget `splits`; `stolen` if this piece migrated.
    fn run(&self, w: &WorkerCtx, begin: u64, end: u64, mut splits: usize, stolen: bool) {
        if self.stopped() {
            return;
        }
        let len = end - begin;
        let split = len / 2 >= self.min_len
            && if stolen {
                splits = self.workers.max(splits / 2);
                true
            } else if splits > 0 {
                splits /= 2;
                true
            } else {
                false
            };
        if !split {
            if !(self.body)(begin, end) {
                self.halt(FAILED);
            }
            return;
        }
        let mid = begin + len / 2;
        let creator = w as *const WorkerCtx as usize;
        join_on(
            w,
            || self.run(w, begin, mid, splits, false),
            |migrated| match this_thread::current_worker() {
                // Stolen means run by another thread (not popped by a wait of this one).
                Some(here) => {
                    let stolen = migrated && here as *const WorkerCtx as usize != creator;
                    self.run(here, mid, end, splits, stolen)
                }
                None => unreachable!("jobs run on workers"),
            },
            self.cancel,
        );
    }
}

/// Calls `body(b, e)` on disjoint subranges covering `[begin, end)` (module docs); `body`
/// returns false for failure. `grain` 0 means 1. `begin <= end`.
pub(crate) fn parallel_for(
    rt: &Runtime,
    begin: u64,
    end: u64,
    grain: u64,
    body: &(dyn Fn(u64, u64) -> bool + Sync),
) -> Result<Outcome, Shutdown> {
    debug_assert!(begin <= end);
    if is_shut_down(rt) {
        return Err(Shutdown);
    }
    let cancel = CancelCtx::current();
    if begin == end {
        return Ok(Outcome::Ok);
    }
    let lp = Loop {
        body,
        min_len: grain.max(1),
        workers: rt.workers.len(),
        stop: AtomicUsize::new(RUNNING),
        cancel,
    };
    if !lp.stopped() {
        let lp = &lp;
        on_worker(rt, cancel, move |w| {
            lp.run(w, begin, end, lp.workers, false)
        });
    }
    Ok(match lp.stop.load(Ordering::Relaxed) {
        RUNNING => Outcome::Ok,
        FAILED => Outcome::Failed,
        _ => Outcome::Cancelled,
    })
}

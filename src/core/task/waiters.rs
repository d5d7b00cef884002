//! The waiter table (rule 10): threads that park until a task completes, found by the task's
//! address in one of a fixed number of buckets. It lives outside any runtime so that a waiter
//! can always remove itself, even after the task's runtime is gone.

use super::Header;
use crate::core::park::Parker;
use crate::core::sync::{Arc, Mutex};

const BUCKETS: usize = 64;

struct Waiter {
    task: usize,
    parker: Arc<Parker>,
}

type Bucket = Mutex<Vec<Waiter>>;

/// The table of one fork generation (`core::runtime::fork`).
#[cfg(not(loom))]
struct Table {
    generation: u64,
    buckets: [Bucket; BUCKETS],
}

/// The current fork generation's table, made on first use. A child process starts a table of
/// its own: a bucket of its parent's may have been locked, at the moment of the fork, by a
/// thread that does not exist in the child (and its waiters are the parent's). The parent's
/// table is left as it is (a few KiB, never freed); tasks of runtimes from before the fork are
/// never joined through it in the child, as they never complete there.
#[cfg(not(loom))]
fn table() -> &'static [Bucket; BUCKETS] {
    use std::sync::atomic::{AtomicPtr, Ordering};
    static TABLE: AtomicPtr<Table> = AtomicPtr::new(std::ptr::null_mut());
    let generation = crate::core::runtime::fork::current();
    loop {
        let current = TABLE.load(Ordering::Acquire);
        // SAFETY: tables are published below from leaked boxes and never freed.
        if let Some(table) = unsafe { current.as_ref() }
            && table.generation == generation
        {
            return &table.buckets;
        }
        let fresh = Box::into_raw(Box::new(Table {
            generation,
            buckets: std::array::from_fn(|_| Mutex::new(Vec::new())),
        }));
        if TABLE
            .compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // Another thread published first: ours was never seen by anyone.
            // SAFETY: from `Box::into_raw` just above.
            drop(unsafe { Box::from_raw(fresh) });
        }
    }
}

#[cfg(loom)]
fn table() -> &'static [Bucket; BUCKETS] {
    loom::lazy_static! {
        static ref TABLE: [Bucket; BUCKETS] = std::array::from_fn(|_| Mutex::new(Vec::new()));
    }
    &TABLE
}

fn bucket(header: &Header) -> &'static Bucket {
    let addr = header as *const Header as usize;
    // Tasks are at least 64-byte blocks: drop the low bits before hashing.
    let h = (addr >> 6).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    &table()[(h >> 58) % BUCKETS]
}

/// Adds the parker as a waiter for the task. Returns false if the task already completed (then
/// nothing was added and the caller must not park).
pub(crate) fn register(header: &Header, parker: &Arc<Parker>) -> bool {
    let mut waiters = bucket(header).lock();
    let prev = header.state.set_join_parked();
    if prev.has(super::state::COMPLETE) {
        return false;
    }
    waiters.push(Waiter {
        task: header as *const Header as usize,
        parker: Arc::clone(parker),
    });
    true
}

/// Removes the parker's entries for the task, if the completer has not already.
pub(crate) fn deregister(header: &Header, parker: &Arc<Parker>) {
    let addr = header as *const Header as usize;
    bucket(header)
        .lock()
        .retain(|w| !(w.task == addr && Arc::ptr_eq(&w.parker, parker)));
}

/// Called by the completer when JOIN_PARKED was set: wakes and removes every waiter of the task.
pub(crate) fn unpark_all(header: &Header) {
    let addr = header as *const Header as usize;
    let mut woken = Vec::new();
    bucket(header).lock().retain(|w| {
        if w.task == addr {
            woken.push(Arc::clone(&w.parker));
            false
        } else {
            true
        }
    });
    // Unpark outside the lock: a woken thread goes straight for the same bucket.
    for p in woken {
        p.unpark();
    }
}

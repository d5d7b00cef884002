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

#[cfg(not(loom))]
fn table() -> &'static [Bucket; BUCKETS] {
    static TABLE: std::sync::OnceLock<[Bucket; BUCKETS]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|_| Mutex::new(Vec::new())))
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

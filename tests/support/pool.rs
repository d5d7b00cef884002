//! The waker pool: poll tasks that park "on an event" leave a waker here and return PENDING.
//! A background thread (and the harness's wake operations) take wakers out and wake them, so
//! every parked task is woken eventually; a task that is never polled again means the library
//! lost a wake, and the watchdog reports the hang.

use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tasks::ffi::waker::{
    tasks_waker, tasks_waker_clone, tasks_waker_free, tasks_waker_wake, tasks_waker_wake_by_ref,
};

use super::draw::{Draw, Rng};

/// Raw waker pointers (usize: the pool is shared between threads).
static POOL: Mutex<Vec<usize>> = Mutex::new(Vec::new());
static STARTED: OnceLock<()> = OnceLock::new();
static PAUSED: AtomicBool = AtomicBool::new(false);

pub fn push(w: *mut tasks_waker) {
    if !w.is_null() {
        POOL.lock().unwrap().push(w as usize);
    }
}

fn take(pick: u32) -> Option<*mut tasks_waker> {
    let mut p = POOL.lock().unwrap();
    if p.is_empty() {
        return None;
    }
    let i = pick as usize % p.len();
    Some(p.swap_remove(i) as *mut tasks_waker)
}

/// What a harness operation does with one pooled waker. Every path wakes it at least once,
/// so no parked task is stranded by the harness itself.
#[derive(Clone, Copy, Debug)]
pub enum PoolOp {
    Wake,
    WakeByRefKeep,
    CloneBoth,
    WakeByRefFree,
}

pub fn apply(op: PoolOp, pick: u32) {
    let Some(w) = take(pick) else { return };
    // SAFETY: pooled wakers are live and owned by the pool; each is consumed or put back once.
    unsafe {
        match op {
            PoolOp::Wake => tasks_waker_wake(w),
            PoolOp::WakeByRefKeep => {
                tasks_waker_wake_by_ref(w);
                push(w);
            }
            PoolOp::CloneBoth => {
                let c = tasks_waker_clone(w);
                tasks_waker_wake_by_ref(w);
                push(w);
                push(c);
            }
            PoolOp::WakeByRefFree => {
                tasks_waker_wake_by_ref(w);
                tasks_waker_free(w);
            }
        }
    }
}

/// Wakes (and consumes) every pooled waker.
pub fn drain() {
    let all = std::mem::take(&mut *POOL.lock().unwrap());
    for w in all {
        // SAFETY: as in `apply`.
        unsafe { tasks_waker_wake(w as *mut tasks_waker) };
    }
}

pub fn len() -> usize {
    POOL.lock().unwrap().len()
}

/// Starts the background waker once per process: it wakes a random pooled waker every few
/// microseconds, and everything at least every millisecond.
pub fn start_waker_thread(seed: u64) {
    STARTED.get_or_init(|| {
        std::thread::Builder::new()
            .name("stress-waker".into())
            .spawn(move || {
                let mut rng = Rng::new(seed ^ 0x5741_4b45);
                loop {
                    if PAUSED.load(SeqCst) {
                        std::thread::sleep(Duration::from_millis(1));
                        continue;
                    }
                    for _ in 0..rng.below(8) {
                        let op = [PoolOp::Wake, PoolOp::WakeByRefFree][rng.below(2) as usize];
                        apply(op, rng.next_u32());
                    }
                    std::thread::sleep(Duration::from_micros(50 + rng.below(500) as u64));
                    if rng.below(4) == 0 {
                        drain();
                    }
                }
            })
            .expect("waker thread");
    });
}

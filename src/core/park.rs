//! A thread parker with a wake-up token: `unpark` before `park` makes the next `park` return
//! at once. Every thread that waits in the library (workers when idle or joining, threads
//! blocked in a join) parks on its own parker, so any wake source (new work, a task completion)
//! reaches it through the same object.

use std::time::Instant;

use crate::core::sync::{Arc, AtomicUsize, Condvar, Mutex, Ordering, thread_local};

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

#[derive(Debug)]
pub(crate) struct Parker {
    state: AtomicUsize,
    lock: Mutex<()>,
    cvar: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker {
            state: AtomicUsize::new(EMPTY),
            lock: Mutex::new(()),
            cvar: Condvar::new(),
        }
    }

    /// Blocks until unparked (a token left by an earlier `unpark` counts) or `deadline` passes.
    /// May return spuriously: callers re-check their condition.
    pub(crate) fn park(&self, deadline: Option<Instant>) {
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
        let mut guard = self.lock.lock();
        match self
            .state
            .compare_exchange(EMPTY, PARKED, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => {}
            Err(NOTIFIED) => {
                // A swap, not a store: it reads (and so synchronises with) the latest unpark,
                // whose writes the caller is about to check (a store could overwrite a second
                // unpark's token without acquiring it).
                self.state.swap(EMPTY, Ordering::SeqCst);
                return;
            }
            Err(other) => unreachable!("parker in state {other}"),
        }
        loop {
            guard = self.cvar.wait_until(guard, deadline);
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                return;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                // Timed out: leave PARKED unless an unpark raced in (then consume it; a swap, as
                // above).
                self.state.swap(EMPTY, Ordering::SeqCst);
                return;
            }
        }
    }

    /// Wakes the parked thread, or leaves a token for its next `park`.
    pub(crate) fn unpark(&self) {
        match self.state.swap(NOTIFIED, Ordering::SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED => {
                // Taking the lock orders this notify after the parker's wait began.
                drop(self.lock.lock());
                self.cvar.notify_one();
            }
            other => unreachable!("parker in state {other}"),
        }
    }
}

thread_local! {
    static CURRENT: Arc<Parker> = Arc::new(Parker::new());
}

/// The calling thread's parker.
pub(crate) fn current() -> Arc<Parker> {
    CURRENT.with(Arc::clone)
}

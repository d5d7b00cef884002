//! A thread parker with a wake-up token: `unpark` before `park` makes the next `park` return
//! at once. Every thread that waits in the library (workers when idle or joining, threads
//! blocked in a join) parks on its own parker, so any wake source (new work, a task completion)
//! reaches it through the same object.
//!
//! # Protocol
//! One state word, EMPTY → PARKED → NOTIFIED (the token):
//! - `unpark` swaps in NOTIFIED; only if it replaced PARKED does it wake the word's waiter.
//! - `park` consumes a token if there is one (NOTIFIED → EMPTY), else announces itself
//!   (EMPTY → PARKED) and waits while the word still reads PARKED, then consumes the token.
//!   Every transition is SeqCst, and consuming is a read-modify-write, so the parked thread
//!   synchronises with the latest `unpark` before it returns.
//!
//! "Wait while the word reads PARKED" is a futex wait on Linux: the check and the sleep are one
//! step in the kernel, so a wake between them is not lost, and a wake needs no lock. Elsewhere,
//! under loom and under Miri, [`WordWaiter`] gives the same guarantee with a lock and a condition
//! variable (the wait checks the word under the lock; the wake takes the lock before notifying),
//! and that is the version the loom models explore. Neither keeps any state outside the parker
//! (fork-safe: see `core::sync`).

use std::time::Instant;

use crate::core::sync::{Arc, AtomicU32, Ordering, thread_local};

const EMPTY: u32 = 0;
const PARKED: u32 = 1;
const NOTIFIED: u32 = 2;

#[derive(Debug)]
pub(crate) struct Parker {
    state: AtomicU32,
    waiter: WordWaiter,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker {
            state: AtomicU32::new(EMPTY),
            waiter: WordWaiter::new(),
        }
    }

    /// Blocks until unparked (a token left by an earlier `unpark` counts) or `deadline` passes.
    /// May return spuriously: callers re-check their condition.
    pub(crate) fn park(&self, deadline: Option<Instant>) {
        if self.take_token() {
            return;
        }
        if let Err(state) =
            self.state
                .compare_exchange(EMPTY, PARKED, Ordering::SeqCst, Ordering::SeqCst)
        {
            assert_eq!(state, NOTIFIED, "a parker is parked by its own thread only");
            // A swap, not a store: it reads (and so synchronises with) the latest unpark,
            // whose writes the caller is about to check (a store could overwrite a second
            // unpark's token without acquiring it).
            self.state.swap(EMPTY, Ordering::SeqCst);
            return;
        }
        loop {
            self.waiter.wait(&self.state, PARKED, deadline);
            if self.take_token() {
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
        if self.state.swap(NOTIFIED, Ordering::SeqCst) == PARKED {
            self.waiter.wake(&self.state);
        }
    }

    fn take_token(&self) -> bool {
        self.state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }
}

/// Waits while a word holds a value; wakes the word's waiter (module docs). Linux: the futex.
#[cfg(all(target_os = "linux", not(loom), not(miri)))]
#[derive(Debug)]
struct WordWaiter;

#[cfg(all(target_os = "linux", not(loom), not(miri)))]
impl WordWaiter {
    fn new() -> WordWaiter {
        WordWaiter
    }

    /// Returns when woken, when `word` no longer holds `expected`, at `deadline`, or spuriously
    /// (a signal).
    fn wait(&self, word: &AtomicU32, expected: u32, deadline: Option<Instant>) {
        let timeout = match deadline {
            None => None,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return;
                }
                Some(libc::timespec {
                    tv_sec: libc::time_t::try_from(left.as_secs()).unwrap_or(libc::time_t::MAX),
                    // Below 10^9: fits every target's c_long.
                    tv_nsec: left.subsec_nanos() as libc::c_long,
                })
            }
        };
        let timeout_ptr = timeout
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: FUTEX_WAIT on an aligned u32 that lives as long as `word`'s borrow; the
        // timeout is NULL or a valid relative timespec. Errors (EAGAIN: the word changed,
        // EINTR, ETIMEDOUT) are returns like any other: the caller re-checks.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                expected,
                timeout_ptr,
            );
        }
    }

    fn wake(&self, word: &AtomicU32) {
        // SAFETY: FUTEX_WAKE of one waiter of a live word.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                1,
            );
        }
    }
}

/// Waits while a word holds a value; wakes the word's waiter (module docs). Off Linux, under
/// loom and under Miri: a lock and a condition variable.
#[cfg(any(not(target_os = "linux"), loom, miri))]
#[derive(Debug, Default)]
struct WordWaiter {
    lock: crate::core::sync::Mutex<()>,
    cvar: crate::core::sync::Condvar,
}

#[cfg(any(not(target_os = "linux"), loom, miri))]
impl WordWaiter {
    fn new() -> WordWaiter {
        WordWaiter::default()
    }

    fn wait(&self, word: &AtomicU32, expected: u32, deadline: Option<Instant>) {
        let guard = self.lock.lock();
        // Checked under the lock that `wake` takes: a wake cannot fall between the check and
        // the wait.
        if word.load(Ordering::SeqCst) == expected {
            drop(self.cvar.wait_until(guard, deadline));
        }
    }

    fn wake(&self, _word: &AtomicU32) {
        drop(self.lock.lock());
        self.cvar.notify_one();
    }
}

thread_local! {
    static CURRENT: Arc<Parker> = Arc::new(Parker::new());
}

/// The calling thread's parker.
pub(crate) fn current() -> Arc<Parker> {
    CURRENT.with(Arc::clone)
}

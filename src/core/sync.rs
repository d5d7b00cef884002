//! One place that picks the synchronisation primitives: std's normally, loom's model-checked
//! versions under `--cfg loom`. Everything in `core` imports from here so the same code is
//! what loom explores.
//!
//! Not parking_lot: its contended paths go through a process-wide table of parked threads whose
//! bucket locks and queues a `fork()` copies as they are, held by and pointing at threads that
//! do not exist in the child; a child that then contends on any lock hangs or crashes. std's
//! locks are one futex word each and keep no global state, so a child's fresh runtime starts
//! from clean locks (test `regress_fork_while_spawning`).

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
};
#[cfg(loom)]
pub(crate) use loom::thread_local;

#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
};
#[cfg(not(loom))]
pub(crate) use std::thread_local;

use std::sync::PoisonError;

/// A thread-local with a constant initialiser: std's `const { }` form normally (no lazy
/// initialisation check on every access, which matters on hot paths), loom's under loom (it
/// takes no `const` initialisers).
macro_rules! const_thread_local {
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr;) => {
        #[cfg(not(loom))]
        std::thread_local! { $(#[$attr])* $vis static $name: $t = const { $init }; }
        #[cfg(loom)]
        loom::thread_local! { $(#[$attr])* $vis static $name: $t = $init; }
    };
}
pub(crate) use const_thread_local;

/// Under loom, loom's `UnsafeCell`, which tracks every access.
#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

/// `std::cell::UnsafeCell` with loom's closure API (`with`, `with_mut`), so that the same code
/// compiles against both.
#[cfg(not(loom))]
#[derive(Debug, Default)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// A mutex whose `lock` returns the guard directly: a panic while it is held does not poison
/// it (the data it guards stays consistent at every unlock point in this crate).
#[derive(Debug, Default)]
pub(crate) struct Mutex<T>(
    #[cfg(loom)] loom::sync::Mutex<T>,
    #[cfg(not(loom))] std::sync::Mutex<T>,
);

#[cfg(loom)]
pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;
#[cfg(not(loom))]
pub(crate) type MutexGuard<'a, T> = std::sync::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        #[cfg(loom)]
        return Self(loom::sync::Mutex::new(value));
        #[cfg(not(loom))]
        return Self(std::sync::Mutex::new(value));
    }

    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A condition variable paired with [`Mutex`]. Under loom timeouts are not modelled: a timed
/// wait is an untimed wait, which is the harder case for the code that uses it.
#[derive(Debug, Default)]
pub(crate) struct Condvar(
    #[cfg(loom)] loom::sync::Condvar,
    #[cfg(not(loom))] std::sync::Condvar,
);

impl Condvar {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Waits until notified or until `deadline` (None: no limit). Returns the guard.
    pub(crate) fn wait_until<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        deadline: Option<std::time::Instant>,
    ) -> MutexGuard<'a, T> {
        #[cfg(not(loom))]
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(std::time::Instant::now());
            return match self.0.wait_timeout(guard, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        #[cfg(loom)]
        let _ = deadline;
        self.0.wait(guard).unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn notify_one(&self) {
        self.0.notify_one();
    }

    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }
}

/// Spin-wait hint; under loom, a yield so the model explores other threads.
#[inline]
pub(crate) fn spin_hint() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::hint::spin_loop();
}

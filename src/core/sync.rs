//! One place that picks the synchronisation primitives: parking_lot normally, loom's
//! model-checked versions under `--cfg loom`, std's under miri (whose timed futex waits it
//! models, unlike parking_lot's). Everything in `core` imports from here so the
//! same code is what loom explores.

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence,
};
#[cfg(loom)]
pub(crate) use loom::thread_local;

#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
#[allow(unused_imports)] // AtomicBool is only used by tests
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence,
};
#[cfg(not(loom))]
pub(crate) use std::thread_local;

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


/// A mutex whose `lock` returns the guard directly (parking_lot style) in every build.
#[derive(Debug, Default)]
pub(crate) struct Mutex<T>(
    #[cfg(loom)] loom::sync::Mutex<T>,
    #[cfg(all(not(loom), miri))] std::sync::Mutex<T>,
    #[cfg(all(not(loom), not(miri)))] parking_lot::Mutex<T>,
);

#[cfg(loom)]
pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;
#[cfg(all(not(loom), miri))]
pub(crate) type MutexGuard<'a, T> = std::sync::MutexGuard<'a, T>;
#[cfg(all(not(loom), not(miri)))]
pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        #[cfg(loom)]
        return Self(loom::sync::Mutex::new(value));
        #[cfg(all(not(loom), miri))]
        return Self(std::sync::Mutex::new(value));
        #[cfg(all(not(loom), not(miri)))]
        return Self(parking_lot::Mutex::new(value));
    }

    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        #[cfg(any(loom, miri))]
        return self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        #[cfg(all(not(loom), not(miri)))]
        return self.0.lock();
    }
}

/// A condition variable paired with [`Mutex`]. Under loom timeouts are not modelled: a timed
/// wait is an untimed wait, which is the harder case for the code that uses it.
#[derive(Debug, Default)]
pub(crate) struct Condvar(
    #[cfg(loom)] loom::sync::Condvar,
    #[cfg(all(not(loom), miri))] std::sync::Condvar,
    #[cfg(all(not(loom), not(miri)))] parking_lot::Condvar,
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
        #[cfg(loom)]
        {
            let _ = deadline;
            self.0.wait(guard).unwrap()
        }
        #[cfg(all(not(loom), miri))]
        {
            use std::sync::PoisonError;
            match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(std::time::Instant::now());
                    match self.0.wait_timeout(guard, left) {
                        Ok((g, _)) => g,
                        Err(e) => e.into_inner().0,
                    }
                }
                None => self.0.wait(guard).unwrap_or_else(PoisonError::into_inner),
            }
        }
        #[cfg(all(not(loom), not(miri)))]
        {
            let mut guard = guard;
            match deadline {
                Some(d) => {
                    self.0.wait_until(&mut guard, d);
                }
                None => self.0.wait(&mut guard),
            }
            guard
        }
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

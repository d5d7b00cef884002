//! `fork()` support. A child process has only the thread that forked: a runtime created
//! before the fork has no workers there, and its tasks belong to the parent. So each runtime
//! records the fork generation it was built in (a counter a `pthread_atfork` child handler
//! bumps), and in a later generation it behaves as shut down: spawns are refused, shutdown and
//! free return at once without touching its tasks (they are never run or dropped in the
//! child), and the process-wide default runtime is built afresh on first use.

use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

static GENERATION: AtomicU64 = AtomicU64::new(0);

extern "C" fn in_child() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// The generation a runtime being built belongs to; installs the fork handler on first use
/// (so before any runtime exists).
pub(crate) fn generation_at_build() -> u64 {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // SAFETY: registers a handler that only bumps an atomic (async-signal-safe). A failure
        // (ENOMEM) leaves fork detection off, as before this module existed.
        unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
    });
    current()
}

/// The current fork generation (one relaxed load: spawns check it).
#[inline]
pub(crate) fn current() -> u64 {
    GENERATION.load(Ordering::Relaxed)
}

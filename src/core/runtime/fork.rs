//! `fork()` support. A child process has only the thread that forked: a runtime created
//! before the fork has no workers there, and its tasks belong to the parent. So each runtime
//! records the fork generation it was built in (a counter that the C boundary's
//! `pthread_atfork` child handler bumps through [`note_child_after_fork`]), and in a later
//! generation it behaves as shut down: spawns are refused, shutdown and free return at once
//! without touching its tasks (they are never run or dropped in the child), and the
//! process-wide default runtime is built afresh on first use.

use std::sync::atomic::{AtomicU64, Ordering};

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Called in the child right after a fork (only an atomic add: async-signal-safe).
pub(crate) fn note_child_after_fork() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// The current fork generation (one relaxed load: spawns check it).
#[inline]
pub(crate) fn current() -> u64 {
    GENERATION.load(Ordering::Relaxed)
}

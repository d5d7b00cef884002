//! Task ids: unique in the process, never 0, handed out from per-thread blocks so that spawning
//! does not touch a process-wide counter for every task. The block number also picks the owner
//! list shard (see `task::owned`).

use std::cell::Cell;

use crate::core::sync::const_thread_local;

const BLOCK_SHIFT: u32 = 8;
const BLOCK: u64 = 1 << BLOCK_SHIFT;

static NEXT_BLOCK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

const_thread_local! {
    /// (next id, end of block)
    static BLOCK_RANGE: Cell<(u64, u64)> = Cell::new((0, 0));
}

/// A fresh id.
pub(crate) fn next_id() -> u64 {
    BLOCK_RANGE.with(|r| {
        let (mut next, mut end) = r.get();
        if next == end {
            let block = NEXT_BLOCK.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            next = block << BLOCK_SHIFT;
            end = next + BLOCK;
        }
        r.set((next + 1, end));
        next
    })
}

/// Which block an id came from.
pub(crate) fn block_of(id: u64) -> u64 {
    id >> BLOCK_SHIFT
}

/// Tests: makes this thread's next id the first of a fresh block whose owner-list shard (the
/// block number under `mask`) is `shard`.
#[cfg(all(test, loom))]
pub(crate) fn start_block_in_shard(shard: u64, mask: u64) {
    loop {
        let block = NEXT_BLOCK.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if block & mask == shard {
            BLOCK_RANGE.with(|r| r.set((block << BLOCK_SHIFT, (block + 1) << BLOCK_SHIFT)));
            return;
        }
    }
}

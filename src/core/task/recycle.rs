//! Recycling of task blocks.
//!
//! A task is often allocated on one thread and freed on another: a worker spawns, another
//! steals and runs it, and the last reference goes there. With glibc's malloc every such free
//! takes the allocating thread's arena lock, and a producer and a consumer then contend on it
//! (measured on `spawn_many_local` with 2 workers: about 10% of the time in futex wait/wake
//! under `_int_free`). So freed blocks are kept instead:
//!
//! - each thread has a small cache per size class (a stack of blocks, at most
//!   `2 * BATCH`); allocation pops from it, a free pushes onto it;
//! - a free onto a full cache moves `BATCH` blocks to the class's depot, and an allocation from
//!   an empty cache takes a whole batch from the depot: one lock per `BATCH` blocks, which is
//!   how blocks freed by a consumer come back to a producer;
//! - the depot takes its lock with `try_lock` only: when it is busy (or was left locked by a
//!   thread that `fork` did not copy) the block goes to or comes from malloc instead, so this
//!   never blocks;
//! - the depot holds at most `DEPOT_BATCHES` batches per class; the rest goes back to malloc.
//!   A thread's cache is handed to the depot (or freed) when the thread exits.
//!
//! Only blocks of at most `MAX_CLASS_SIZE` bytes and alignment at most `CLASS_ALIGN` are
//! recycled; a class is a multiple of 64 bytes. Under loom and Miri the system allocator is
//! used directly, so their leak checks see every block.
//!
//! `TASKS_NO_RECYCLE=1` in the environment (read once, at the first task allocation) turns
//! recycling off: every block goes straight back to malloc when its task is freed, so valgrind
//! and AddressSanitizer see a use of a freed handle in the user's program instead of a silently
//! reused block.

use std::alloc::Layout;
use std::ptr::NonNull;

/// Size classes are multiples of this.
const CLASS_GRAIN: usize = 64;
/// Largest recycled block.
const MAX_CLASS_SIZE: usize = 512;
const CLASSES: usize = MAX_CLASS_SIZE / CLASS_GRAIN;
/// Every recycled block is allocated with this alignment, whatever its layout asked for (at
/// most this much), so blocks of one class are interchangeable.
const CLASS_ALIGN: usize = 16;
/// Blocks moved between a thread and the depot at a time.
const BATCH: usize = 64;
/// Batches the depot keeps per class (at most 32 KiB .. 256 KiB of blocks per class in all).
const DEPOT_BATCHES: usize = 8;

/// The class index of `layout` and the layout its blocks are allocated with; None when it is
/// not recycled.
fn class_of(layout: Layout) -> Option<(usize, Layout)> {
    if !recycling_enabled()
        || layout.size() == 0
        || layout.size() > MAX_CLASS_SIZE
        || layout.align() > CLASS_ALIGN
    {
        return None;
    }
    let index = layout.size().div_ceil(CLASS_GRAIN) - 1;
    Some((index, class_of_index(index)))
}

/// Whether freed blocks are kept for reuse (see the module docs on `TASKS_NO_RECYCLE`).
fn recycling_enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| {
        !std::env::var_os("TASKS_NO_RECYCLE").is_some_and(|v| !v.is_empty() && v != "0")
    })
}

/// The layout every block of class `index` is allocated with.
fn class_of_index(index: usize) -> Layout {
    // Cannot fail: sizes are small multiples of 64 and the alignment a power of two.
    Layout::from_size_align((index + 1) * CLASS_GRAIN, CLASS_ALIGN).expect("class layout")
}

/// Allocates a block for `layout` (never null: aborts like `Box::new` when memory runs out).
pub(crate) fn alloc(layout: Layout) -> NonNull<u8> {
    let sys_layout = match class_of(layout) {
        Some((index, class_layout)) => match imp::take(index) {
            Some(block) => return block,
            None => class_layout,
        },
        None => layout,
    };
    // SAFETY: task blocks never have a zero size (they start with a header).
    let raw = unsafe { std::alloc::alloc(sys_layout) };
    NonNull::new(raw).unwrap_or_else(|| std::alloc::handle_alloc_error(sys_layout))
}

/// Frees a block that [`alloc`] returned for the same `layout`.
///
/// # Safety
/// `block` came from `alloc(layout)` and is not used again.
pub(crate) unsafe fn dealloc(block: NonNull<u8>, layout: Layout) {
    let sys_layout = match class_of(layout) {
        Some((index, class_layout)) => {
            if imp::give(index, block) {
                return;
            }
            class_layout
        }
        None => layout,
    };
    // SAFETY: allocated by `alloc` with this layout (the class layout for recycled sizes).
    unsafe { std::alloc::dealloc(block.as_ptr(), sys_layout) }
}

#[cfg(not(any(loom, miri)))]
mod imp {
    use std::cell::RefCell;
    use std::ptr::NonNull;

    use parking_lot::Mutex;

    use super::{BATCH, CLASSES, DEPOT_BATCHES, class_of_index};

    /// A free block. Blocks hold no data and belong to nobody while they are here.
    struct Block(NonNull<u8>);
    // SAFETY: a free block is plain memory; whoever takes it owns it.
    unsafe impl Send for Block {}

    type Batch = Vec<Block>;

    static DEPOT: [Mutex<Vec<Batch>>; CLASSES] = [const { Mutex::new(Vec::new()) }; CLASSES];

    struct Cache {
        classes: [Vec<Block>; CLASSES],
    }

    impl Drop for Cache {
        /// The thread is exiting: its blocks go to the depot while it has room, else to malloc.
        fn drop(&mut self) {
            for (index, blocks) in self.classes.iter_mut().enumerate() {
                while !blocks.is_empty() {
                    let at = blocks.len().saturating_sub(BATCH);
                    let batch = blocks.split_off(at);
                    if let Some(rejected) = deposit(index, batch) {
                        free_all(index, rejected);
                    }
                }
            }
        }
    }

    thread_local! {
        static CACHE: RefCell<Cache> = const {
            RefCell::new(Cache { classes: [const { Vec::new() }; CLASSES] })
        };
    }

    /// A block of class `index` from this thread's cache or the depot.
    pub(super) fn take(index: usize) -> Option<NonNull<u8>> {
        CACHE
            .try_with(|c| {
                let mut c = c.try_borrow_mut().ok()?;
                let blocks = &mut c.classes[index];
                if blocks.is_empty() {
                    let batch = DEPOT[index].try_lock()?.pop()?;
                    *blocks = batch;
                }
                blocks.pop().map(|b| b.0)
            })
            .ok()
            .flatten()
    }

    /// Keeps a freed block of class `index`; false if it must go back to malloc.
    pub(super) fn give(index: usize, block: NonNull<u8>) -> bool {
        CACHE
            .try_with(|c| {
                let Ok(mut c) = c.try_borrow_mut() else {
                    return false;
                };
                let blocks = &mut c.classes[index];
                if blocks.len() >= 2 * BATCH {
                    let batch = blocks.split_off(blocks.len() - BATCH);
                    if let Some(rejected) = deposit(index, batch) {
                        free_all(index, rejected);
                    }
                }
                blocks.push(Block(block));
                true
            })
            .unwrap_or(false)
    }

    /// Puts a batch into the depot; gives it back if the depot is full or busy.
    fn deposit(index: usize, batch: Batch) -> Option<Batch> {
        match DEPOT[index].try_lock() {
            Some(mut depot) if depot.len() < DEPOT_BATCHES => {
                depot.push(batch);
                None
            }
            _ => Some(batch),
        }
    }

    fn free_all(index: usize, batch: Batch) {
        let layout = class_of_index(index);
        for b in batch {
            // SAFETY: every block of class `index` was allocated with this layout.
            unsafe { std::alloc::dealloc(b.0.as_ptr(), layout) };
        }
    }

    /// Blocks of class `index` held by the depot (tests).
    #[cfg(test)]
    pub(crate) fn depot_blocks(index: usize) -> usize {
        DEPOT[index].lock().iter().map(Vec::len).sum()
    }
}

/// Under loom and Miri: nothing is kept, every block goes to and comes from the allocator.
#[cfg(any(loom, miri))]
mod imp {
    use std::ptr::NonNull;

    pub(super) fn take(_index: usize) -> Option<NonNull<u8>> {
        None
    }

    pub(super) fn give(_index: usize, _block: NonNull<u8>) -> bool {
        false
    }
}

#[cfg(all(test, not(any(loom, miri))))]
mod tests {
    use super::*;

    #[test]
    fn classes_round_up_to_64_bytes_and_skip_big_or_overaligned_layouts() {
        let l = |s, a| Layout::from_size_align(s, a).unwrap();
        assert_eq!(class_of(l(1, 1)).map(|c| c.0), Some(0));
        assert_eq!(class_of(l(64, 8)).map(|c| c.0), Some(0));
        assert_eq!(class_of(l(65, 8)).map(|c| c.0), Some(1));
        assert_eq!(class_of(l(176, 8)).unwrap().1, l(192, 16));
        assert_eq!(class_of(l(512, 16)).map(|c| c.0), Some(7));
        assert!(class_of(l(513, 8)).is_none());
        assert!(class_of(l(64, 32)).is_none());
    }

    #[test]
    fn blocks_freed_on_one_thread_are_reused_by_another() {
        // A class no task type in the test suite uses, so other tests do not interfere.
        let layout = Layout::from_size_align(448, 8).unwrap();
        let index = class_of(layout).unwrap().0;
        let addr = |p: NonNull<u8>| p.as_ptr() as usize;
        // A consumer thread frees 3 batches' worth of blocks a producer allocated.
        let produced: Vec<usize> = (0..3 * BATCH).map(|_| addr(alloc(layout))).collect();
        let to_free = produced.clone();
        std::thread::spawn(move || {
            for a in to_free {
                // SAFETY: allocated above with this layout, not used again.
                unsafe { dealloc(NonNull::new(a as *mut u8).unwrap(), layout) };
            }
        })
        .join()
        .unwrap();
        // The consumer kept 2 batches while running and handed everything to the depot at
        // exit; the producer's next allocations come from there.
        assert!(imp::depot_blocks(index) >= 2 * BATCH);
        let again: Vec<NonNull<u8>> = (0..BATCH).map(|_| alloc(layout)).collect();
        let reused = again
            .iter()
            .filter(|p| produced.contains(&addr(**p)))
            .count();
        assert_eq!(reused, BATCH, "a whole batch came back from the depot");
        for p in again {
            // SAFETY: as above.
            unsafe { dealloc(p, layout) };
        }
    }

    #[test]
    fn depot_is_bounded() {
        let layout = Layout::from_size_align(384, 8).unwrap();
        let index = class_of(layout).unwrap().0;
        std::thread::spawn(move || {
            let blocks: Vec<NonNull<u8>> = (0..(DEPOT_BATCHES + 4) * BATCH)
                .map(|_| alloc(layout))
                .collect();
            for p in blocks {
                // SAFETY: allocated above with this layout.
                unsafe { dealloc(p, layout) };
            }
        })
        .join()
        .unwrap();
        assert!(imp::depot_blocks(index) <= DEPOT_BATCHES * BATCH);
    }
}

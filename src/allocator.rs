//! The library's global allocator: mimalloc, or the C library's malloc (`std::alloc::System`)
//! when `TASKS_NO_RECYCLE` is set.
//!
//! Every Rust allocation of the library goes through here, task blocks included
//! (`core::task::cell`): mimalloc is 27-46% faster than glibc's malloc on the spawn-heavy
//! benchmarks (benches/ALLOCATOR.md). `TASKS_NO_RECYCLE` set to a non-empty value other than
//! `0` selects the system allocator instead, for the whole life of the process: a freed task
//! block then goes back to `free`, so valgrind and AddressSanitizer (which replace malloc, not
//! mimalloc) see every block freed and report a join or abort handle used after it was freed.
//!
//! # The choice is made once
//! Memory from one allocator must never be freed by the other, so the first call decides and
//! the choice never changes: it is stored in `CHOICE` before that first call allocates anything,
//! and every later call (alloc, free or realloc) reads it. Deciding reads the environment with
//! `libc::getenv`, which neither allocates nor re-enters this allocator. The first allocation
//! normally happens on one thread before any other thread of the library exists (threads are
//! created by code that has already allocated). Two threads of the C program may still make
//! their first calls into the library at the same time: both then read the same environment and
//! decide the same way; and as the decision is stored by a compare-exchange from `UNDECIDED`,
//! a thread that lost the race uses the winner's choice even if it had read something else (a
//! program that changes its environment while another thread reads it is racing in C already).
//! A pointer only reaches a thread after its allocation, so no block can be freed by a thread
//! that would still find `UNDECIDED`: every call agrees on one allocator.
//!
//! # Crate types
//! A `#[global_allocator]` belongs to the final artifact that contains this crate:
//! - `libtasks.so` (cdylib): the library's own allocations. mimalloc's symbols are not exported
//!   (scripts/check-symbols.sh) and `malloc` is not overridden: the program's memory is not
//!   touched.
//! - `libtasks.a` (staticlib), linked into a C or C++ program: the same, the library's own Rust
//!   allocations only. The archive carries mimalloc's (`mi_*`) symbols: a program that links
//!   its own copy of mimalloc statically should use a `--no-default-features` build.
//! - the rlib (Rust tests, the stress harness, a Rust program depending on this crate): the
//!   whole Rust program's allocations. That is what the tests should run with; a Rust program
//!   with its own `#[global_allocator]` (two are a compile error) depends on this crate with
//!   `default-features = false`, as `fuzz/` does.
//!
//! Hence a default feature (`mimalloc`) rather than a plain dependency: `--no-default-features`
//! builds have no global allocator of their own (the system allocator, `TASKS_NO_RECYCLE` then
//! changes nothing) and do not compile mimalloc's C. Under loom and Miri this module is left out
//! too (Miri cannot run mimalloc's C, and both check leaks and accesses on the system allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU8, Ordering};

use mimalloc::MiMalloc;

const UNDECIDED: u8 = 0;
const MIMALLOC: u8 = 1;
const SYSTEM: u8 = 2;

/// The allocator every call uses, from the first call on (module docs).
static CHOICE: AtomicU8 = AtomicU8::new(UNDECIDED);

/// mimalloc, or `System` under `TASKS_NO_RECYCLE` (module docs).
pub(crate) struct Allocator;

/// Whether the system allocator was chosen (deciding on the first call).
#[inline]
fn system() -> bool {
    // Relaxed: the value is all that is read; a stale UNDECIDED goes through `decide`'s
    // compare-exchange, which sees the stored choice.
    match CHOICE.load(Ordering::Relaxed) {
        MIMALLOC => false,
        SYSTEM => true,
        _ => decide(),
    }
}

#[cold]
#[inline(never)]
fn decide() -> bool {
    let choice = if no_recycle_set() { SYSTEM } else { MIMALLOC };
    match CHOICE.compare_exchange(UNDECIDED, choice, Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => choice == SYSTEM,
        Err(earlier) => earlier == SYSTEM,
    }
}

/// `TASKS_NO_RECYCLE` is set, non-empty and not "0". Allocates nothing.
fn no_recycle_set() -> bool {
    // SAFETY: a NUL-terminated name. getenv returns null or a NUL-terminated string, read at
    // once (the C program must not change its environment concurrently, as for any getenv).
    unsafe {
        let value = libc::getenv(c"TASKS_NO_RECYCLE".as_ptr());
        !value.is_null() && !matches!(std::ffi::CStr::from_ptr(value).to_bytes(), b"" | b"0")
    }
}

/// Forwards one `GlobalAlloc` call to the chosen allocator (deciding on the first call). Static
/// dispatch, not a `&dyn GlobalAlloc`: both allocators' entry points stay inlinable (an indirect
/// call per allocation measured 5-7% slower on spawn_many_remote).
macro_rules! forward {
    ($method:ident($($arg:expr),*)) => {
        if system() {
            System.$method($($arg),*)
        } else {
            MiMalloc.$method($($arg),*)
        }
    };
}

// SAFETY: every call forwards to one of two GlobalAlloc implementations, the same one for the
// whole process (module docs), so a block is always freed or resized by the allocator that
// allocated it; their contracts are the caller's.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract.
        unsafe { forward!(alloc(layout)) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract.
        unsafe { forward!(alloc_zeroed(layout)) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract; `ptr` came from the same allocator.
        unsafe { forward!(dealloc(ptr, layout)) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract; `ptr` came from the same allocator.
        unsafe { forward!(realloc(ptr, layout, new_size)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_choice_follows_the_environment_at_start() {
        // The test binary allocated long before this test: the choice is made, and it is the
        // one the environment asks for (the variable is never changed by the tests).
        let expected =
            std::env::var_os("TASKS_NO_RECYCLE").is_some_and(|v| !v.is_empty() && v != "0");
        assert_eq!(system(), expected);
        assert_eq!(
            CHOICE.load(Ordering::Relaxed),
            if expected { SYSTEM } else { MIMALLOC }
        );
        // Once made, it does not change.
        assert_eq!(decide(), expected);
    }
}

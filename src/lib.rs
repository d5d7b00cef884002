//! libtasks: a work-stealing task runtime with a C ABI.
//!
//! `core` is the runtime in plain Rust; `ffi` is the C boundary (`include/tasks.h` is generated
//! from it by `scripts/gen-header.sh`).

#![deny(unsafe_op_in_unsafe_fn)]
// The loom build is a reduced one (no runtime, no FFI): what only those use is dead there.
#![cfg_attr(loom, allow(dead_code, unused_imports))]

// The library's allocator: mimalloc, or the system allocator under `TASKS_NO_RECYCLE` (the
// default feature `mimalloc`; not under loom and Miri). See the module docs.
#[cfg(all(feature = "mimalloc", not(any(loom, miri))))]
mod allocator;
#[cfg(all(feature = "mimalloc", not(any(loom, miri))))]
#[global_allocator]
static GLOBAL: allocator::Allocator = allocator::Allocator;

pub(crate) mod core;
#[cfg(not(loom))]
pub mod ffi;

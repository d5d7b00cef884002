//! libtasks: a work-stealing task runtime with a C ABI.
//!
//! `core` is the runtime in plain Rust; `ffi` is the C boundary (`include/tasks.h` is generated
//! from it by `scripts/gen-header.sh`).

#![deny(unsafe_op_in_unsafe_fn)]
// The loom build is a reduced one (no runtime, no FFI): what only those use is dead there.
#![cfg_attr(loom, allow(dead_code, unused_imports))]

/// `--features mimalloc` (off by default; benches/ALLOCATOR.md): mimalloc as the allocator.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub(crate) mod core;
#[cfg(not(loom))]
pub mod ffi;

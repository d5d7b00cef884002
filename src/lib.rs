//! libtasks: a work-stealing task runtime with a C ABI.
//!
//! `core` is the runtime in plain Rust; `ffi` is the C boundary (`include/tasks.h` is generated
//! from it by `build.rs`).

#![deny(unsafe_op_in_unsafe_fn)]

pub(crate) mod core;
#[cfg(not(loom))]
pub mod ffi;

//! The operation language shared by the stress harness (tests/stress_api.rs) and the fuzz
//! target (fuzz/fuzz_targets/api_ops.rs): random (or fuzzer-chosen) sequences of C API calls
//! on a few runtimes, with an exact ledger of what the library must call back.
//!
//! - `draw`: where choices come from (PRNG or fuzz input).
//! - `ledger`: per-task accounting (drop_arg once, outputs taken or dropped once, ...).
//! - `program`, `children`: the task bodies' language.
//! - `pool`: the waker pool and its background waker.
//! - `api_ops`, `actor`, `world`: the operations, one thread's objects, shared objects.
//! - `round`, `watchdog`: settling and checking a round; hang detection.
// Each includer uses a different part of the language.
#![allow(dead_code)]

pub mod actor;
pub mod api_ops;
pub mod children;
pub mod draw;
pub mod ledger;
pub mod pool;
pub mod program;
pub mod round;
pub mod watchdog;
pub mod world;

//! The C boundary. Every export is a plain `#[unsafe(no_mangle)] pub extern "C" fn` whose body
//! runs behind `boundary` (a Rust panic becomes `TASKS_ERR_INTERNAL` / NULL / 0 / false and
//! never unwinds into C), checks every pointer argument before use, and states in its doc
//! comment who owns what. These comments become `include/tasks.h`.
//!
//! Pointer representations (all opaque to C), each declared once with `cast::Castable`:
//! - `tasks_runtime*`: an `Arc<Runtime>` (`Arc::into_raw`); the default runtime's is lent
//!   from a process-lifetime `Arc`.
//! - `tasks_join_handle*` / `tasks_abort_handle*`: a core `JoinHandle` / `TaskRef`, each one
//!   pointer owning one task reference.
//! - `tasks_waker*`, `tasks_builder*`, `tasks_join_set*`, `tasks_executor*`: boxed core
//!   values (`Waker`, `Config`, `JoinSet`, `Executor`).
//! - `tasks_context*`: the core poll context, valid only during the poll call it is passed to.
//! - `tasks_local_key*`: a leaked `LocalKey`, never freed.
//!
//! Nothing here reads task state or moves outputs: the core's typed handles do that, and each
//! export only converts pointers (`cast`), callbacks (`callback`) and results (`status`).

#![allow(non_camel_case_types)]
// Every export's safety contract is the C contract written in its doc comment (pointers are
// NULL or live objects of this library, used as documented); a Rust-style `# Safety` heading in
// each would only repeat it in the generated header.
#![allow(clippy::missing_safety_doc)]

pub mod abort_handle;
pub mod body;
pub mod bridge;
pub mod builder;
pub mod callback;
pub(crate) mod cast;
pub mod context;
pub mod current;
pub mod executor;
mod fork;
pub mod join_handle;
pub mod join_set;
pub mod local_key;
pub mod parallel;
pub mod runtime;
pub mod scope;
pub mod spawn;
pub mod status;
pub mod waker;

use std::panic::{AssertUnwindSafe, catch_unwind};

pub use status::tasks_status;

/// What an export returns when a panic was caught in its body.
pub(crate) trait OnPanic {
    fn on_panic() -> Self;
}

impl OnPanic for tasks_status {
    fn on_panic() -> Self {
        tasks_status::TASKS_ERR_INTERNAL
    }
}
impl<T> OnPanic for *mut T {
    fn on_panic() -> Self {
        std::ptr::null_mut()
    }
}
impl<T> OnPanic for *const T {
    fn on_panic() -> Self {
        std::ptr::null()
    }
}
impl OnPanic for bool {
    fn on_panic() -> Self {
        false
    }
}
impl OnPanic for u64 {
    fn on_panic() -> Self {
        0
    }
}
impl OnPanic for usize {
    fn on_panic() -> Self {
        0
    }
}
impl OnPanic for () {
    fn on_panic() -> Self {}
}

/// Runs an export's body, turning a panic into the export's error value.
#[inline]
pub(crate) fn boundary<T: OnPanic>(f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| T::on_panic())
}

/// Converts a nanosecond timeout into a deadline (None: forever; `TASKS_FOREVER` or overflow).
pub(crate) fn deadline_after(timeout_ns: u64) -> Option<std::time::Instant> {
    if timeout_ns == u64::MAX {
        return None;
    }
    std::time::Instant::now().checked_add(std::time::Duration::from_nanos(timeout_ns))
}

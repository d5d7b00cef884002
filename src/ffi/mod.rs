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

/// Runs the body of an export that returns a status and checks its arguments with `?`: an
/// early `Err(status)` (a missing argument through [`Required::required`], a core error
/// through its `From` impl, see `status`) is the call's status, as an `Ok` one is.
#[inline]
pub(crate) fn checked(f: impl FnOnce() -> Result<tasks_status, tasks_status>) -> tasks_status {
    boundary(|| f().unwrap_or_else(|status| status))
}

/// An argument a call cannot do without: when it is absent (a NULL pointer or callback, a cast
/// that found NULL), `?` on `required()` makes the call return TASKS_ERR_NULL.
pub(crate) trait Required {
    type Value;
    fn required(self) -> Result<Self::Value, tasks_status>;
}

impl<T> Required for Option<T> {
    type Value = T;
    #[inline]
    fn required(self) -> Result<T, tasks_status> {
        self.ok_or(tasks_status::TASKS_ERR_NULL)
    }
}

impl<T> Required for *mut T {
    type Value = *mut T;
    #[inline]
    fn required(self) -> Result<*mut T, tasks_status> {
        if self.is_null() {
            Err(tasks_status::TASKS_ERR_NULL)
        } else {
            Ok(self)
        }
    }
}

impl<T> Required for *const T {
    type Value = *const T;
    #[inline]
    fn required(self) -> Result<*const T, tasks_status> {
        self.cast_mut().required().map(<*mut T>::cast_const)
    }
}

/// A timeout in nanoseconds as a duration; `TASKS_FOREVER` is None (no limit).
pub(crate) fn timeout_from(timeout_ns: u64) -> Option<std::time::Duration> {
    (timeout_ns != status::TASKS_FOREVER).then(|| std::time::Duration::from_nanos(timeout_ns))
}

/// Converts a nanosecond timeout into a deadline (None: forever; `TASKS_FOREVER` or overflow).
pub(crate) fn deadline_after(timeout_ns: u64) -> Option<std::time::Instant> {
    timeout_from(timeout_ns).and_then(|timeout| std::time::Instant::now().checked_add(timeout))
}

//! Status codes and the library version.

use std::ffi::{c_char, c_void};

use super::boundary;
use super::cast::write_out;
use crate::core::block_on::BlockOnError;
use crate::core::fork_join::runtime::Shutdown;
use crate::core::local_scheduler::LocalSchedulerError;
use crate::core::runtime::{BuildError, SpawnError, StopError};
use crate::core::task::task_local::NoTaskError;
use crate::core::task::{JoinError, Outcome, TaskResult};

/// Waits without limit when passed as a timeout.
pub const TASKS_FOREVER: u64 = u64::MAX;

/// The result of a call. Non-negative values are outcomes, negative values are errors.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum tasks_status {
    /// Success; for a join: the task completed successfully.
    TASKS_OK = 0,
    /// Not finished yet (a poll, or a join with timeout 0).
    TASKS_PENDING = 1,
    /// A wait ran out of time; the handle stays valid.
    TASKS_TIMED_OUT = 2,
    /// The task was aborted (or its runtime shut down) before it completed.
    TASKS_CANCELLED = 3,
    /// The task reported failure; its output holds the failure payload.
    TASKS_FAILED = 4,
    /// A join set has no tasks left.
    TASKS_EMPTY = 5,
    /// A required pointer was NULL.
    TASKS_ERR_NULL = -1,
    /// An argument is out of range, or the call does not fit the object's state.
    TASKS_ERR_INVALID = -2,
    /// The runtime is shutting down or shut down; nothing was spawned.
    TASKS_ERR_SHUTDOWN = -3,
    /// The call needs to run inside a task and does not.
    TASKS_ERR_NO_TASK = -4,
    /// E.g. freeing or blocking on a runtime from one of its own threads, or a task joining itself.
    TASKS_ERR_WOULD_DEADLOCK = -5,
    /// A thread-bound object was used from another thread.
    TASKS_ERR_WRONG_THREAD = -6,
    /// Allocation failed.
    TASKS_ERR_NO_MEMORY = -7,
    /// The OS refused to start a thread.
    TASKS_ERR_THREAD = -8,
    /// A bug in the library (a caught panic); the process keeps running.
    TASKS_ERR_INTERNAL = -9,
}

fn status_text(s: i32) -> &'static [u8] {
    match s {
        0 => b"TASKS_OK: success\0",
        1 => b"TASKS_PENDING: not finished yet\0",
        2 => b"TASKS_TIMED_OUT: the wait ran out of time\0",
        3 => b"TASKS_CANCELLED: the task was cancelled before it completed\0",
        4 => b"TASKS_FAILED: the task reported failure\0",
        5 => b"TASKS_EMPTY: the join set has no tasks left\0",
        -1 => b"TASKS_ERR_NULL: a required pointer was NULL\0",
        -2 => b"TASKS_ERR_INVALID: invalid argument or state\0",
        -3 => b"TASKS_ERR_SHUTDOWN: the runtime is shut down\0",
        -4 => b"TASKS_ERR_NO_TASK: not called from inside a task\0",
        -5 => b"TASKS_ERR_WOULD_DEADLOCK: the call would deadlock\0",
        -6 => b"TASKS_ERR_WRONG_THREAD: used from the wrong thread\0",
        -7 => b"TASKS_ERR_NO_MEMORY: out of memory\0",
        -8 => b"TASKS_ERR_THREAD: the OS refused to start a thread\0",
        -9 => b"TASKS_ERR_INTERNAL: internal error in libtasks\0",
        _ => b"unknown tasks_status\0",
    }
}

/// A static, human-readable string for any status value, unknown values included (it takes an
/// `int32_t` so that any value may be passed). Never NULL; never freed.
#[unsafe(no_mangle)]
pub extern "C" fn tasks_status_str(s: i32) -> *const c_char {
    boundary(|| status_text(s).as_ptr().cast())
}

/// The library version, e.g. "0.1.0": a static string, never freed. Matches the
/// TASKS_VERSION_* macros of the header it was built with.
#[unsafe(no_mangle)]
pub extern "C" fn tasks_version() -> *const c_char {
    boundary(|| concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast())
}

// Every core error (and fork-join outcome) becomes a status here, and nowhere else: one
// `From` per type, written as a table.
macro_rules! into_status {
    ($($ty:ident { $($pat:pat => $status:ident),+ $(,)? })+) => {
        $(impl From<$ty> for tasks_status {
            fn from(e: $ty) -> Self {
                match e {
                    $($pat => tasks_status::$status),+
                }
            }
        })+
    };
}

into_status! {
    BuildError {
        BuildError::Invalid => TASKS_ERR_INVALID,
        BuildError::Thread => TASKS_ERR_THREAD,
        BuildError::NoMemory => TASKS_ERR_NO_MEMORY,
    }
    SpawnError { SpawnError => TASKS_ERR_SHUTDOWN }
    StopError {
        StopError::DefaultRuntime => TASKS_ERR_INVALID,
        StopError::OwnThread => TASKS_ERR_WOULD_DEADLOCK,
        StopError::TimedOut => TASKS_TIMED_OUT,
    }
    JoinError {
        JoinError::Pending => TASKS_PENDING,
        JoinError::TimedOut => TASKS_TIMED_OUT,
        JoinError::WouldDeadlock => TASKS_ERR_WOULD_DEADLOCK,
    }
    LocalSchedulerError {
        LocalSchedulerError::WrongThread => TASKS_ERR_WRONG_THREAD,
        LocalSchedulerError::Shutdown => TASKS_ERR_SHUTDOWN,
        LocalSchedulerError::WouldDeadlock => TASKS_ERR_WOULD_DEADLOCK,
    }
    BlockOnError {
        BlockOnError::WouldDeadlock => TASKS_ERR_WOULD_DEADLOCK,
        BlockOnError::Shutdown => TASKS_ERR_SHUTDOWN,
    }
    NoTaskError { NoTaskError => TASKS_ERR_NO_TASK }
    Shutdown { Shutdown => TASKS_ERR_SHUTDOWN }
    // How a scope or a loop ended.
    Outcome {
        Outcome::Ok => TASKS_OK,
        Outcome::Failed => TASKS_FAILED,
        Outcome::Cancelled => TASKS_CANCELLED,
    }
}

/// A finished task's status; its output (null for a cancelled task) goes through
/// `output` when that is not NULL.
pub(crate) fn hand_out_result(result: TaskResult, output: *mut *mut c_void) -> tasks_status {
    let (status, out) = match result {
        TaskResult::Ok(out) => (tasks_status::TASKS_OK, out),
        TaskResult::Failed(out) => (tasks_status::TASKS_FAILED, out),
        TaskResult::Cancelled => return tasks_status::TASKS_CANCELLED,
    };
    // SAFETY: the caller's out-pointer, NULL or writable.
    unsafe { write_out(output, out.cast()) };
    status
}

/// `Ok(())` as TASKS_OK, an error as its status.
pub(crate) fn status_of<E: Into<tasks_status>>(r: Result<(), E>) -> tasks_status {
    r.map_or_else(Into::into, |()| tasks_status::TASKS_OK)
}

//! `tasks_builder`: runtime settings.

use std::ffi::{CStr, c_char, c_void};
use std::sync::Arc;
use std::time::Duration;

use super::runtime::tasks_runtime;
use super::{boundary, null_check, tasks_status};
use crate::core::runtime::config::{
    MAX_STACK_SIZE, MAX_WORKER_THREADS, MIN_STACK_SIZE, ThreadHook,
};
use crate::core::runtime::{Config, Shared};

/// Settings for a new runtime. Defaults: workers = number of CPUs (or TASKS_WORKER_THREADS),
/// at most 512 blocking threads, 10 s keep-alive, thread names "tasks-worker-N", 2 MiB stacks.
pub struct tasks_builder {
    _private: [u8; 0],
}

unsafe fn config<'a>(b: *mut tasks_builder) -> &'a mut Config {
    // SAFETY: a live builder is a boxed Config.
    unsafe { &mut *b.cast::<Config>() }
}

/// A builder with the defaults; free it with tasks_builder_free. NULL only if out of memory.
#[unsafe(no_mangle)]
pub extern "C" fn tasks_builder_new() -> *mut tasks_builder {
    boundary(|| Box::into_raw(Box::new(Config::default())).cast())
}

/// Number of worker threads: 1 to 16384, else TASKS_ERR_INVALID (the builder is unchanged).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_builder_worker_threads(
    b: *mut tasks_builder,
    n: usize,
) -> tasks_status {
    boundary(|| {
        null_check!(tasks_status::TASKS_ERR_NULL; b);
        if n == 0 || n > MAX_WORKER_THREADS {
            return tasks_status::TASKS_ERR_INVALID;
        }
        // SAFETY: a live builder.
        unsafe { config(b) }.worker_threads = n;
        tasks_status::TASKS_OK
    })
}

/// Most blocking-pool threads alive at once (>= 1, else TASKS_ERR_INVALID).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_builder_max_blocking_threads(
    b: *mut tasks_builder,
    n: usize,
) -> tasks_status {
    boundary(|| {
        null_check!(tasks_status::TASKS_ERR_NULL; b);
        if n == 0 {
            return tasks_status::TASKS_ERR_INVALID;
        }
        // SAFETY: a live builder.
        unsafe { config(b) }.max_blocking_threads = n;
        tasks_status::TASKS_OK
    })
}

/// How long an idle blocking thread waits for work before it exits, in nanoseconds.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_builder_blocking_keep_alive(
    b: *mut tasks_builder,
    ns: u64,
) -> tasks_status {
    boundary(|| {
        null_check!(tasks_status::TASKS_ERR_NULL; b);
        // SAFETY: a live builder.
        unsafe { config(b) }.blocking_keep_alive = Duration::from_nanos(ns);
        tasks_status::TASKS_OK
    })
}

/// Thread name prefix (copied): workers are `"<prefix>-N"`, blocking threads
/// `"<prefix>-blocking"`. Linux shows the first 15 bytes of a thread name.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_builder_thread_name(
    b: *mut tasks_builder,
    prefix: *const c_char,
) -> tasks_status {
    boundary(|| {
        null_check!(tasks_status::TASKS_ERR_NULL; b, prefix);
        // SAFETY: a NUL-terminated string; a live builder.
        let name = unsafe { CStr::from_ptr(prefix) }
            .to_string_lossy()
            .into_owned();
        if name.contains('\0') {
            return tasks_status::TASKS_ERR_INVALID;
        }
        unsafe { config(b) }.thread_name = name;
        tasks_status::TASKS_OK
    })
}

/// Stack size of every thread the runtime starts, in bytes: 64 KiB to 1 GiB, else
/// TASKS_ERR_INVALID (the builder is unchanged).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_builder_thread_stack_size(
    b: *mut tasks_builder,
    bytes: usize,
) -> tasks_status {
    boundary(|| {
        null_check!(tasks_status::TASKS_ERR_NULL; b);
        if !(MIN_STACK_SIZE..=MAX_STACK_SIZE).contains(&bytes) {
            return tasks_status::TASKS_ERR_INVALID;
        }
        // SAFETY: a live builder.
        unsafe { config(b) }.stack_size = bytes;
        tasks_status::TASKS_OK
    })
}

struct Hook {
    f: unsafe extern "C" fn(*mut c_void),
    data: *mut c_void,
}

// SAFETY: the contract says hooks run on the runtime's threads with the data given here.
unsafe impl Send for Hook {}
unsafe impl Sync for Hook {}

impl Hook {
    fn call(&self) {
        // SAFETY: the user's callback with its data.
        unsafe { (self.f)(self.data) }
    }
}

fn hook(f: unsafe extern "C" fn(*mut c_void), data: *mut c_void) -> ThreadHook {
    let h = Hook { f, data };
    Arc::new(move || h.call())
}

/// `fn(data)` runs on every thread the runtime starts (workers and blocking threads), first
/// thing on that thread. `fn` NULL: TASKS_ERR_NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_builder_on_thread_start(
    b: *mut tasks_builder,
    func: Option<unsafe extern "C" fn(data: *mut c_void)>,
    data: *mut c_void,
) -> tasks_status {
    boundary(|| {
        null_check!(tasks_status::TASKS_ERR_NULL; b);
        let Some(f) = func else {
            return tasks_status::TASKS_ERR_NULL;
        };
        // SAFETY: a live builder.
        unsafe { config(b) }.on_thread_start = Some(hook(f, data));
        tasks_status::TASKS_OK
    })
}

/// `fn(data)` runs on every thread the runtime starts, last thing before it exits.
/// `fn` NULL: TASKS_ERR_NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_builder_on_thread_stop(
    b: *mut tasks_builder,
    func: Option<unsafe extern "C" fn(data: *mut c_void)>,
    data: *mut c_void,
) -> tasks_status {
    boundary(|| {
        null_check!(tasks_status::TASKS_ERR_NULL; b);
        let Some(f) = func else {
            return tasks_status::TASKS_ERR_NULL;
        };
        // SAFETY: a live builder.
        unsafe { config(b) }.on_thread_stop = Some(hook(f, data));
        tasks_status::TASKS_OK
    })
}

/// Builds a runtime from the settings (the builder stays usable and is still freed by you) and
/// starts its workers. On success `*out` receives it; free it with tasks_runtime_free.
/// Returns TASKS_ERR_NULL, TASKS_ERR_THREAD (the OS refused a thread), TASKS_ERR_NO_MEMORY (no
/// memory for a thread's stack); nothing is left running on error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_builder_build(
    b: *const tasks_builder,
    out: *mut *mut tasks_runtime,
) -> tasks_status {
    boundary(|| {
        null_check!(tasks_status::TASKS_ERR_NULL; b, out);
        // SAFETY: a live builder.
        let cfg = unsafe { config(b.cast_mut()) }.clone();
        match Shared::build(cfg, false) {
            Ok(shared) => {
                // SAFETY: checked non-NULL.
                unsafe { *out = Arc::into_raw(shared).cast_mut().cast() };
                tasks_status::TASKS_OK
            }
            Err(e) => e.into(),
        }
    })
}

/// Frees the builder. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_builder_free(b: *mut tasks_builder) {
    boundary(|| {
        null_check!(b);
        // SAFETY: the caller gives up the builder.
        drop(unsafe { Box::from_raw(b.cast::<Config>()) });
    })
}

//! `tasks_builder`: runtime settings.

use std::ffi::{CStr, c_char, c_void};
use std::sync::Arc;
use std::time::Duration;

use super::callback::Callback;
use super::cast::{self, castable};
use super::runtime::{give_built, tasks_runtime};
use super::{Required, boundary, checked, tasks_status};
use crate::core::runtime::config::{InvalidSetting, ThreadHook};
use crate::core::runtime::{Config, Runtime};

/// Settings for a new runtime. Defaults: workers = number of CPUs (or TASKS_WORKER_THREADS),
/// at most 512 blocking threads, 10 s keep-alive, thread names "tasks-worker-N", 2 MiB stacks.
pub struct tasks_builder {
    _private: [u8; 0],
}

castable!(tasks_builder => Config, OwnedBox);

impl From<InvalidSetting> for tasks_status {
    fn from(_: InvalidSetting) -> Self {
        tasks_status::TASKS_ERR_INVALID
    }
}

/// Applies a setting to the builder `b`: TASKS_ERR_NULL for NULL; a setting the builder
/// refuses returns its error and leaves the builder unchanged.
///
/// # Safety
/// `b` is NULL or a live builder, used from one thread at a time.
unsafe fn configure<E: Into<tasks_status>>(
    b: *mut tasks_builder,
    set: impl FnOnce(&mut Config) -> Result<(), E>,
) -> tasks_status {
    checked(|| {
        // SAFETY: the caller's contract.
        let config = unsafe { cast::try_mut(b) }.required()?;
        set(config).map_err(Into::into)?;
        Ok(tasks_status::TASKS_OK)
    })
}

/// A builder with the defaults; free it with tasks_builder_free. NULL only if out of memory.
#[unsafe(no_mangle)]
pub extern "C" fn tasks_builder_new() -> *mut tasks_builder {
    boundary(|| cast::give_box(Config::default()))
}

/// Number of worker threads: 1 to 16384, else TASKS_ERR_INVALID (the builder is unchanged).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_builder_worker_threads(
    b: *mut tasks_builder,
    n: usize,
) -> tasks_status {
    // SAFETY: NULL or a live builder, used from one thread at a time.
    unsafe { configure(b, |c| c.set_worker_threads(n)) }
}

/// Most blocking-pool threads alive at once (>= 1, else TASKS_ERR_INVALID).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_builder_max_blocking_threads(
    b: *mut tasks_builder,
    n: usize,
) -> tasks_status {
    // SAFETY: NULL or a live builder, used from one thread at a time.
    unsafe { configure(b, |c| c.set_max_blocking_threads(n)) }
}

/// How long an idle blocking thread waits for work before it exits, in nanoseconds.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_builder_blocking_keep_alive(
    b: *mut tasks_builder,
    ns: u64,
) -> tasks_status {
    // SAFETY: NULL or a live builder, used from one thread at a time.
    unsafe {
        configure(b, |c| {
            c.blocking_keep_alive = Duration::from_nanos(ns);
            Ok::<_, InvalidSetting>(())
        })
    }
}

/// Thread name prefix (copied): workers are `"<prefix>-N"`, blocking threads
/// `"<prefix>-blocking"`. Linux shows the first 15 bytes of a thread name.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_builder_thread_name(
    b: *mut tasks_builder,
    prefix: *const c_char,
) -> tasks_status {
    checked(|| {
        // SAFETY: a NUL-terminated string.
        let name = unsafe { CStr::from_ptr(prefix.required()?) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: NULL or a live builder, used from one thread at a time.
        Ok(unsafe { configure(b, |c| c.set_thread_name(name)) })
    })
}

/// Stack size of every thread the runtime starts, in bytes: 64 KiB to 1 GiB, else
/// TASKS_ERR_INVALID (the builder is unchanged).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_builder_thread_stack_size(
    b: *mut tasks_builder,
    bytes: usize,
) -> tasks_status {
    // SAFETY: NULL or a live builder, used from one thread at a time.
    unsafe { configure(b, |c| c.set_stack_size(bytes)) }
}

/// Sets one of the thread hooks to a C callback; a NULL callback is TASKS_ERR_NULL.
fn set_hook(
    slot: &mut Option<ThreadHook>,
    func: Option<unsafe extern "C" fn(*mut c_void)>,
    data: *mut c_void,
) -> Result<(), tasks_status> {
    let hook = Callback::new(func, data).required()?;
    *slot = Some(Arc::new(move || hook.call()));
    Ok(())
}

/// `fn(data)` runs on every thread the runtime starts (workers and blocking threads), first
/// thing on that thread. `fn` NULL: TASKS_ERR_NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_builder_on_thread_start(
    b: *mut tasks_builder,
    func: Option<unsafe extern "C" fn(data: *mut c_void)>,
    data: *mut c_void,
) -> tasks_status {
    // SAFETY: NULL or a live builder, used from one thread at a time.
    unsafe { configure(b, |c| set_hook(&mut c.on_thread_start, func, data)) }
}

/// `fn(data)` runs on every thread the runtime starts, last thing before it exits.
/// `fn` NULL: TASKS_ERR_NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_builder_on_thread_stop(
    b: *mut tasks_builder,
    func: Option<unsafe extern "C" fn(data: *mut c_void)>,
    data: *mut c_void,
) -> tasks_status {
    // SAFETY: NULL or a live builder, used from one thread at a time.
    unsafe { configure(b, |c| set_hook(&mut c.on_thread_stop, func, data)) }
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
    checked(|| {
        // SAFETY: NULL or a live builder.
        let config = unsafe { cast::try_ref(b) }.required()?;
        Ok(give_built(
            Runtime::build(config.clone(), false),
            out.required()?,
        ))
    })
}

/// Frees the builder. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_builder_free(b: *mut tasks_builder) {
    // SAFETY: NULL or a live builder, which the caller gives up.
    boundary(|| drop(unsafe { cast::take_box(b) }))
}

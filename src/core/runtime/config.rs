//! Runtime settings, as collected by the builder.

use std::sync::Arc;
use std::time::Duration;

/// Most worker threads a runtime may have (the idle protocol counts workers in 16 bits, and no
/// machine runs more than this many usefully). Larger requests are refused, not attempted.
pub(crate) const MAX_WORKER_THREADS: usize = 1 << 14;
/// Largest accepted thread stack size (1 GiB); smallest: 64 KiB.
pub(crate) const MAX_STACK_SIZE: usize = 1 << 30;
pub(crate) const MIN_STACK_SIZE: usize = 64 << 10;

/// A callback run on every thread the runtime starts (at its start or just before it exits).
pub(crate) type ThreadHook = Arc<dyn Fn() + Send + Sync>;

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) worker_threads: usize,
    pub(crate) max_blocking_threads: usize,
    pub(crate) blocking_keep_alive: Duration,
    pub(crate) thread_name: String,
    pub(crate) stack_size: usize,
    pub(crate) on_thread_start: Option<ThreadHook>,
    pub(crate) on_thread_stop: Option<ThreadHook>,
}

/// A setting out of its documented range; the configuration is unchanged.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct InvalidSetting;

impl Config {
    /// 1 to [`MAX_WORKER_THREADS`].
    pub(crate) fn set_worker_threads(&mut self, n: usize) -> Result<(), InvalidSetting> {
        if n == 0 || n > MAX_WORKER_THREADS {
            return Err(InvalidSetting);
        }
        self.worker_threads = n;
        Ok(())
    }

    /// At least 1.
    pub(crate) fn set_max_blocking_threads(&mut self, n: usize) -> Result<(), InvalidSetting> {
        if n == 0 {
            return Err(InvalidSetting);
        }
        self.max_blocking_threads = n;
        Ok(())
    }

    /// [`MIN_STACK_SIZE`] to [`MAX_STACK_SIZE`].
    pub(crate) fn set_stack_size(&mut self, bytes: usize) -> Result<(), InvalidSetting> {
        if !(MIN_STACK_SIZE..=MAX_STACK_SIZE).contains(&bytes) {
            return Err(InvalidSetting);
        }
        self.stack_size = bytes;
        Ok(())
    }

    /// Any name without NUL bytes (threads are named `"<prefix>-N"`).
    pub(crate) fn set_thread_name(&mut self, prefix: String) -> Result<(), InvalidSetting> {
        if prefix.contains('\0') {
            return Err(InvalidSetting);
        }
        self.thread_name = prefix;
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            worker_threads: default_worker_threads(),
            max_blocking_threads: 512,
            blocking_keep_alive: Duration::from_secs(10),
            thread_name: "tasks-worker".to_string(),
            stack_size: 2 << 20,
            on_thread_start: None,
            on_thread_stop: None,
        }
    }
}

/// `TASKS_WORKER_THREADS` if set to a positive number, else the number of CPUs.
pub(crate) fn default_worker_threads() -> usize {
    std::env::var("TASKS_WORKER_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .map(|n| n.min(MAX_WORKER_THREADS))
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
}

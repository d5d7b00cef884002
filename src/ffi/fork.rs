//! The `pthread_atfork` child handler that lets the core tell runtimes created before a
//! `fork()` from those created after it (see `core::runtime::fork`). Installed when the
//! library is loaded (an `.init_array` entry), so before any runtime exists.

use crate::core::runtime::fork::note_child_after_fork;

extern "C" fn in_child_after_fork() {
    note_child_after_fork();
}

extern "C" fn install_fork_handler() {
    // SAFETY: registers a handler that only bumps an atomic (async-signal-safe, no allocation).
    // A failure (ENOMEM) leaves fork detection off; nothing else depends on it.
    unsafe { libc::pthread_atfork(None, None, Some(in_child_after_fork)) };
}

/// Runs `install_fork_handler` when the library is loaded (ELF constructors).
#[used]
#[unsafe(link_section = ".init_array")]
static INSTALL_FORK_HANDLER: extern "C" fn() = install_fork_handler;

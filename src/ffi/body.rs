//! The two kinds of C task, the spawn options, and how they become a core task body.

use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr::NonNull;

use super::callback::CFn;
use super::cast::castable;
use crate::core::task::{Body, BodyPoll, Context};

/// A poll-style task's context; valid only during the poll call it is passed to.
pub struct tasks_context {
    _private: [u8; 0],
}

castable!(tasks_context => Context<'static>, Borrowed);

/// What a poll function returns.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum tasks_poll {
    /// Finished successfully, `*output` set.
    TASKS_POLL_READY = 0,
    /// Cannot progress; it must first have arranged to be woken (a waker from
    /// tasks_context_waker stored somewhere that will wake it).
    TASKS_POLL_PENDING = 1,
    /// Can progress but lets other tasks run first; it is polled again later.
    TASKS_POLL_YIELD = 2,
    /// Finished with failure, `*output` set to the failure payload.
    TASKS_POLL_FAILED = 3,
}

/// A run-to-completion task: runs once on a worker. Return 0 for success, non-zero for failure.
/// `*output` starts as NULL; set it to the task's result (or failure payload).
pub type tasks_fn = Option<unsafe extern "C" fn(arg: *mut c_void, output: *mut *mut c_void) -> i32>;

/// A poll-style task (a hand-written state machine, like a Rust future). It is called again
/// after a wake (PENDING) or soon (YIELD) until it returns READY or FAILED. A value outside the
/// enum counts as FAILED.
pub type tasks_poll_fn = Option<
    unsafe extern "C" fn(
        state: *mut c_void,
        cx: *mut tasks_context,
        output: *mut *mut c_void,
    ) -> tasks_poll,
>;

/// The same function seen as returning a plain integer, so that an out-of-range value from C
/// is checked instead of being undefined behaviour in Rust.
type PollFnTyped =
    unsafe extern "C" fn(*mut c_void, *mut tasks_context, *mut *mut c_void) -> tasks_poll;
type RawPollFn = unsafe extern "C" fn(*mut c_void, *mut tasks_context, *mut *mut c_void) -> i32;

/// Options for spawning; a NULL `tasks_spawn_opts*` means all defaults.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct tasks_spawn_opts {
    /// Copied; NULL: unnamed.
    pub name: *const c_char,
    /// Called exactly once when the task is done with arg/state: after it finished, or when it
    /// is cancelled. NULL: none. Not called when the spawn itself fails.
    pub drop_arg: Option<unsafe extern "C" fn(arg: *mut c_void)>,
    /// Called on an output that nobody took (handle freed without joining, join with a NULL
    /// output pointer, ...). Never called with NULL. NULL: none.
    pub drop_output: Option<unsafe extern "C" fn(output: *mut c_void)>,
}

#[derive(Clone, Copy)]
pub(crate) enum CFunc {
    Run(unsafe extern "C" fn(*mut c_void, *mut *mut c_void) -> i32),
    Poll(RawPollFn),
}

impl CFunc {
    pub(crate) fn run(f: tasks_fn) -> Option<CFunc> {
        f.map(CFunc::Run)
    }

    pub(crate) fn poll(f: tasks_poll_fn) -> Option<CFunc> {
        // SAFETY: same signature except the return type, a C enum (int-sized) read as i32.
        f.map(|f| CFunc::Poll(unsafe { std::mem::transmute::<PollFnTyped, RawPollFn>(f) }))
    }
}

/// A C task's body: function, argument, drop functions, name. Dropping it calls drop_arg.
pub(crate) struct CBody {
    func: CFunc,
    arg: *mut c_void,
    drop_arg: Option<CFn>,
    drop_output: Option<CFn>,
    /// A copy of the name (`CString::into_raw`: one word instead of `CString`'s two, which
    /// matters for a body every waiting task carries); freed in `Drop`.
    name: Option<NonNull<c_char>>,
}

// SAFETY: the C caller hands arg/state over to the task; the contract says callbacks may run on
// any thread.
unsafe impl Send for CBody {}

impl CBody {
    /// Reads the options. `opts` may be NULL.
    pub(crate) unsafe fn new(
        func: CFunc,
        arg: *mut c_void,
        opts: *const tasks_spawn_opts,
    ) -> CBody {
        // SAFETY: caller passes NULL or a valid options struct.
        let opts = unsafe { opts.as_ref() };
        CBody {
            func,
            arg,
            drop_arg: opts.and_then(|o| CFn::new(o.drop_arg)),
            drop_output: opts.and_then(|o| CFn::new(o.drop_output)),
            name: opts
                .filter(|o| !o.name.is_null())
                // SAFETY: a non-NULL name is a NUL-terminated string.
                .map(|o| unsafe { CStr::from_ptr(o.name) }.to_owned())
                .map(|n| NonNull::new(n.into_raw()).expect("CString::into_raw is never null")),
        }
    }

    /// A spawn failed: the caller keeps its argument, so drop_arg must not run.
    pub(crate) fn disarm(mut self) {
        self.drop_arg = None;
    }

    /// The task's name (NUL-terminated), borrowed from the body.
    pub(crate) fn name(&self) -> Option<&CStr> {
        // SAFETY: our own copy, alive until `Drop`.
        self.name.map(|n| unsafe { CStr::from_ptr(n.as_ptr()) })
    }
}

impl Drop for CBody {
    fn drop(&mut self) {
        if let Some(d) = self.drop_arg {
            // SAFETY: the user's drop function for the argument they gave us, called once.
            unsafe { d.call(self.arg) }
        }
        if let Some(n) = self.name.take() {
            // SAFETY: from `CString::into_raw` in `new`, freed once.
            drop(unsafe { CString::from_raw(n.as_ptr()) });
        }
    }
}

impl Body for CBody {
    type OutputDropper = Option<CFn>;

    fn is_poll_style(&self) -> bool {
        matches!(self.func, CFunc::Poll(_))
    }

    fn output_dropper(&self) -> Option<CFn> {
        self.drop_output
    }

    fn drop_output(dropper: Option<CFn>, output: *mut ()) {
        if let Some(d) = dropper {
            // SAFETY: the user's drop function for an output their task produced.
            unsafe { d.call(output.cast()) }
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>, output: &mut *mut ()) -> BodyPoll {
        let out = (output as *mut *mut ()).cast::<*mut c_void>();
        match self.func {
            CFunc::Run(f) => {
                // SAFETY: the user's function with the argument they gave for it.
                if unsafe { f(self.arg, out) } == 0 {
                    BodyPoll::Ready
                } else {
                    BodyPoll::Failed
                }
            }
            CFunc::Poll(f) => {
                let cx = (cx as *mut Context<'_>).cast::<tasks_context>();
                // SAFETY: as above; the context outlives the call.
                match unsafe { f(self.arg, cx, out) } {
                    0 => BodyPoll::Ready,
                    1 => BodyPoll::Pending,
                    2 => BodyPoll::Yield,
                    _ => BodyPoll::Failed,
                }
            }
        }
    }
}

//! C callbacks: the one wrapper for a C function pointer the library calls later, possibly on
//! another thread (drop functions, wake and notify callbacks, thread hooks, destructors).

use std::ffi::c_void;

/// The C type of every such callback: `void f(void *)`.
pub type tasks_drop_fn = Option<unsafe extern "C" fn(ptr: *mut c_void)>;

/// A C function taking one pointer. The contract (API.md, "Conventions") lets the library call
/// callbacks from any thread, which is what makes this `Send + Sync`.
#[derive(Clone, Copy)]
pub(crate) struct CFn(unsafe extern "C" fn(*mut c_void));

impl CFn {
    pub(crate) fn new(f: tasks_drop_fn) -> Option<CFn> {
        f.map(CFn)
    }

    /// Calls the function with `ptr`.
    ///
    /// # Safety
    /// `ptr` is what the user gave the library for this function (an argument, an output, a
    /// data pointer), and calling it now is what the contract documents.
    pub(crate) unsafe fn call(self, ptr: *mut c_void) {
        // SAFETY: the caller's contract.
        unsafe { (self.0)(ptr) }
    }
}

/// A C function together with the data pointer it was registered with.
#[derive(Clone, Copy)]
pub(crate) struct Callback {
    f: CFn,
    data: *mut c_void,
}

// SAFETY: the contract says callbacks run on any thread with the data given for them; the
// library never reads through `data`.
unsafe impl Send for Callback {}
unsafe impl Sync for Callback {}

impl Callback {
    pub(crate) fn new(f: tasks_drop_fn, data: *mut c_void) -> Option<Callback> {
        Some(Callback {
            f: CFn::new(f)?,
            data,
        })
    }

    /// Calls `f(data)`.
    pub(crate) fn call(&self) {
        // SAFETY: the user registered `f` to be called with `data`.
        unsafe { self.f.call(self.data) }
    }
}

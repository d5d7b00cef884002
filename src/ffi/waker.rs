//! `tasks_waker`: wakers of tasks, and wakers wrapping your own callback.

use std::ffi::c_void;
use std::task::Waker;

use super::{boundary, null_check};
use crate::core::task::waker::{WakeFn, custom_waker};

/// Something that can be woken: a task (from tasks_context_waker) or your callback (from
/// tasks_waker_new). Every waker you receive is freed once, with tasks_waker_free or by
/// consuming it with tasks_waker_wake.
pub struct tasks_waker {
    _private: [u8; 0],
}

pub(crate) fn boxed(w: Waker) -> *mut tasks_waker {
    Box::into_raw(Box::new(w)).cast()
}

unsafe fn waker<'a>(w: *const tasks_waker) -> &'a Waker {
    // SAFETY: a live waker pointer is a boxed Waker.
    unsafe { &*w.cast::<Waker>() }
}

struct CallbackWaker {
    wake: unsafe extern "C" fn(*mut c_void),
    data: *mut c_void,
    drop: Option<unsafe extern "C" fn(*mut c_void)>,
}

// SAFETY: the contract says wake and drop callbacks may be called from any thread.
unsafe impl Send for CallbackWaker {}
unsafe impl Sync for CallbackWaker {}

impl WakeFn for CallbackWaker {
    fn wake(&self) {
        // SAFETY: the user's callback with the data they gave for it.
        unsafe { (self.wake)(self.data) }
    }
}

impl Drop for CallbackWaker {
    fn drop(&mut self) {
        if let Some(d) = self.drop {
            // SAFETY: called once, when the last clone goes.
            unsafe { d(self.data) }
        }
    }
}

/// A waker that calls `wake(data)` synchronously on every wake (from the waking thread).
/// `drop(data)` (may be NULL) runs once, when the last clone is freed or consumed. For waiting
/// on a join handle from a non-task thread or an event loop. NULL if `wake` is NULL.
#[unsafe(no_mangle)]
pub extern "C" fn tasks_waker_new(
    wake: Option<unsafe extern "C" fn(data: *mut c_void)>,
    data: *mut c_void,
    drop: Option<unsafe extern "C" fn(data: *mut c_void)>,
) -> *mut tasks_waker {
    boundary(|| match wake {
        Some(wake) => boxed(custom_waker(CallbackWaker { wake, data, drop })),
        None => std::ptr::null_mut(),
    })
}

/// Another waker that wakes the same thing; free it separately. NULL for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_waker_clone(w: *const tasks_waker) -> *mut tasks_waker {
    boundary(|| {
        null_check!(std::ptr::null_mut(); w);
        // SAFETY: a live waker.
        boxed(unsafe { waker(w) }.clone())
    })
}

/// Wakes and consumes `w` (do not free it afterwards). A wake of a finished or cancelled task
/// does nothing. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_waker_wake(w: *mut tasks_waker) {
    boundary(|| {
        null_check!(w);
        // SAFETY: the caller gives up the waker.
        unsafe { Box::from_raw(w.cast::<Waker>()) }.wake();
    })
}

/// Wakes, keeping `w`. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_waker_wake_by_ref(w: *const tasks_waker) {
    boundary(|| {
        null_check!(w);
        // SAFETY: a live waker.
        unsafe { waker(w) }.wake_by_ref();
    })
}

/// True if both wake the same task (or are clones of the same callback waker). False if either
/// is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_waker_will_wake(
    a: *const tasks_waker,
    b: *const tasks_waker,
) -> bool {
    boundary(|| {
        null_check!(false; a, b);
        // SAFETY: live wakers.
        unsafe { waker(a).will_wake(waker(b)) }
    })
}

/// Frees a waker without waking. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_waker_free(w: *mut tasks_waker) {
    boundary(|| {
        null_check!(w);
        // SAFETY: the caller gives up the waker.
        drop(unsafe { Box::from_raw(w.cast::<Waker>()) });
    })
}

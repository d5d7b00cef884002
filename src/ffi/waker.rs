//! `tasks_waker`: wakers of tasks, and wakers wrapping your own callback.

use std::ffi::c_void;
use std::task::Waker;

use super::boundary;
use super::callback::Callback;
use super::cast::{self, castable};
use crate::core::task::waker::{WakeFn, custom_waker};

/// Something that can be woken: a task (from tasks_context_waker) or your callback (from
/// tasks_waker_new). Every waker you receive is freed once, with tasks_waker_free or by
/// consuming it with tasks_waker_wake.
pub struct tasks_waker {
    _private: [u8; 0],
}

castable!(tasks_waker => Waker, OwnedBox);

pub(crate) fn give_waker(w: Waker) -> *mut tasks_waker {
    cast::give_box(w)
}

/// The user's wake callback and the drop callback for its data.
struct CallbackWaker {
    wake: Callback,
    drop: Option<Callback>,
}

impl WakeFn for CallbackWaker {
    fn wake(&self) {
        self.wake.call();
    }
}

impl Drop for CallbackWaker {
    fn drop(&mut self) {
        // Once, when the last clone goes.
        if let Some(d) = &self.drop {
            d.call();
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
    boundary(|| match Callback::new(wake, data) {
        Some(wake) => give_waker(custom_waker(CallbackWaker {
            wake,
            drop: Callback::new(drop, data),
        })),
        None => std::ptr::null_mut(),
    })
}

/// Another waker that wakes the same thing; free it separately. NULL for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_waker_clone(w: *const tasks_waker) -> *mut tasks_waker {
    // SAFETY: NULL or a live waker.
    boundary(|| unsafe { cast::try_ref(w) }.map_or(std::ptr::null_mut(), |w| give_waker(w.clone())))
}

/// Wakes and consumes `w` (do not free it afterwards). A wake of a finished or cancelled task
/// does nothing. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_waker_wake(w: *mut tasks_waker) {
    boundary(|| {
        // SAFETY: NULL or a live waker, which the caller gives up.
        if let Some(w) = unsafe { cast::take_box(w) } {
            w.wake();
        }
    })
}

/// Wakes, keeping `w`. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_waker_wake_by_ref(w: *const tasks_waker) {
    boundary(|| {
        // SAFETY: NULL or a live waker.
        if let Some(w) = unsafe { cast::try_ref(w) } {
            w.wake_by_ref();
        }
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
        // SAFETY: NULL or live wakers.
        match unsafe { (cast::try_ref(a), cast::try_ref(b)) } {
            (Some(a), Some(b)) => a.will_wake(b),
            _ => false,
        }
    })
}

/// Frees a waker without waking. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tasks_waker_free(w: *mut tasks_waker) {
    // SAFETY: NULL or a live waker, which the caller gives up.
    boundary(|| drop(unsafe { cast::take_box(w) }))
}

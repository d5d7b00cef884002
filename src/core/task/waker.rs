//! Wakers. A task waker is a `std::task::Waker` whose data pointer is the task header and
//! which owns one task reference; user-defined wakers (a callback, data and drop function) are
//! `Arc`-backed wakers. Both kinds are plain `Waker`s, so the rest of the code needs no
//! distinction.

use std::ptr::NonNull;
use std::sync::Arc;
use std::task::{RawWaker, RawWakerVTable, Wake, Waker};

use super::TaskRef;
use super::raw::RawTask;

static TASK_WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone_raw, wake_raw, wake_by_ref_raw, drop_raw);

/// Turns a task reference into a waker that owns it.
pub(crate) fn task_waker(task: TaskRef) -> Waker {
    let raw = RawWaker::new(task.into_raw().as_ptr() as *const (), &TASK_WAKER_VTABLE);
    // SAFETY: the vtable functions uphold RawWaker's contract: the data pointer is a task
    // header with one reference owned by this waker.
    unsafe { Waker::from_raw(raw) }
}

/// # Safety
/// `data` is the pointer of a live task waker (it came from `task_waker`), which owns a
/// reference for as long as the returned value is used.
unsafe fn task_of(data: *const ()) -> RawTask {
    // SAFETY: `task_waker` stored `TaskRef::into_raw`, non-null with full provenance.
    unsafe { RawTask::from_raw(NonNull::new_unchecked(data.cast_mut().cast())) }
}

unsafe fn clone_raw(data: *const ()) -> RawWaker {
    // SAFETY: the waker being cloned owns a reference.
    unsafe { task_of(data) }.ref_inc();
    RawWaker::new(data, &TASK_WAKER_VTABLE)
}

unsafe fn wake_raw(data: *const ()) {
    // SAFETY: the waker's reference, consumed by the wake.
    unsafe { task_of(data) }.wake_by_val();
}

unsafe fn wake_by_ref_raw(data: *const ()) {
    // SAFETY: the waker owns a reference.
    unsafe { task_of(data) }.wake_by_ref();
}

unsafe fn drop_raw(data: *const ()) {
    // SAFETY: the waker's reference, given up here.
    unsafe { task_of(data).drop_ref() }
}

/// A user-defined wake callback. `drop` runs once, when the last waker sharing it goes away.
pub(crate) trait WakeFn: Send + Sync + 'static {
    fn wake(&self);
}

struct CustomWaker<W: WakeFn>(W);

impl<W: WakeFn> Wake for CustomWaker<W> {
    fn wake(self: Arc<Self>) {
        self.0.wake();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.wake();
    }
}

/// A waker calling `w.wake()` synchronously on every wake; `w` is dropped with the last clone.
pub(crate) fn custom_waker<W: WakeFn>(w: W) -> Waker {
    Waker::from(Arc::new(CustomWaker(w)))
}

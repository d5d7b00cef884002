//! A task asking to be woken after a delay, and the task's timer being released when it ends.

use std::ptr::NonNull;
use std::time::Instant;

use super::{Header, TaskRef, waker};
use crate::core::timer::{TimerKey, TimerTarget};

/// The running task (the caller holds RUNNING) asks to be woken once at `deadline`; a timer it
/// set earlier and that has not fired is replaced.
pub(crate) fn sleep_until(h: NonNull<Header>, deadline: Instant) {
    // SAFETY: the caller holds a reference and RUNNING.
    let header = unsafe { h.as_ref() };
    cancel(h);
    let key = TimerKey::new(deadline);
    // SAFETY: RUNNING gives the timer slot to this thread.
    header.ext().timer.with_mut(|t| unsafe { *t = Some(key) });
    let target = TimerTarget::Wake(waker::task_waker(TaskRef::clone_from(h)));
    // SAFETY: the task is listed (it is running), so its scheduler is alive.
    unsafe { (header.scheduler.as_ref().vtable.add_timer)(header.scheduler, key, target) };
}

/// Releases the task's pending timer, if any (the caller holds RUNNING, and the task is still
/// listed so its scheduler is alive).
pub(crate) fn cancel(h: NonNull<Header>) {
    // SAFETY: the caller holds a reference and RUNNING.
    let header = unsafe { h.as_ref() };
    let Some(ext) = header.ext_if_present() else {
        return;
    };
    // SAFETY: RUNNING gives the timer slot to this thread.
    let Some(key) = ext.timer.with_mut(|t| unsafe { (*t).take() }) else {
        return;
    };
    // SAFETY: see above.
    let target = unsafe { (header.scheduler.as_ref().vtable.cancel_timer)(header.scheduler, key) };
    // Dropping a Wake target drops a task reference; dropping a Start target discards the
    // queue entry of a delayed task (which we hold RUNNING for: the entry just goes stale).
    drop(target);
}

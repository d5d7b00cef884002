//! A task asking to be woken after a delay, and the task's timer being released when it ends.

use std::time::Instant;

use super::handle::TaskRef;
use super::raw::RawTask;
use super::waker;
use crate::core::timer::{TimerKey, TimerTarget};

impl RawTask {
    /// The running task (the caller holds RUNNING) asks to be woken once at `deadline`; a timer
    /// it set earlier and that has not fired is replaced.
    pub(super) fn sleep_until(self, deadline: Instant) {
        self.cancel_timer();
        let key = TimerKey::new(deadline);
        // SAFETY: RUNNING gives the timer slot to this thread.
        self.header()
            .ext()
            .timer
            .with_mut(|t| unsafe { *t = Some(key) });
        let target = TimerTarget::Wake(waker::task_waker(TaskRef::new_from(self)));
        // SAFETY: the task is listed (it is running), so its scheduler is alive.
        unsafe { (self.header().vtable.add_timer)(self, key, target) };
    }

    /// Releases the task's pending timer, if any (the caller holds RUNNING, and the task is
    /// still listed so its scheduler is alive).
    pub(super) fn cancel_timer(self) {
        let Some(ext) = self.header().ext_if_present() else {
            return;
        };
        // SAFETY: RUNNING gives the timer slot to this thread.
        let Some(key) = ext.timer.with_mut(|t| unsafe { (*t).take() }) else {
            return;
        };
        // SAFETY: see above.
        let target = unsafe { (self.header().vtable.cancel_timer)(self, key) };
        // Dropping a Wake target drops a task reference; dropping a Start target discards the
        // queue entry of a delayed task (which we hold RUNNING for: the entry just goes stale).
        drop(target);
    }
}

//! The local executor: thread-bound tasks run by the thread that created it, inside its own
//! loop (`run`), with a notify hook for waking that loop. A thin owner of a `LocalScheduler`
//! whose timers are the default runtime's.

use std::sync::Arc;

use crate::core::local_scheduler::{LocalScheduler, LocalSchedulerError, ReadyHook};
use crate::core::park::Parker;
use crate::core::runtime::default_runtime;
use crate::core::task::{Body, JoinHandle, Joining};

pub(crate) struct Executor {
    sched: Arc<LocalScheduler>,
    /// Woken when a last entry arrives while the executor closes.
    closing: Arc<Parker>,
}

impl Executor {
    /// An executor bound to the calling thread.
    pub(crate) fn new() -> Executor {
        Executor {
            sched: LocalScheduler::new(default_runtime().cloned(), None),
            closing: Arc::new(Parker::new()),
        }
    }

    pub(crate) fn spawn<B: Body>(
        &self,
        body: B,
        joining: Joining,
    ) -> Result<Option<JoinHandle>, (LocalSchedulerError, B)> {
        self.sched.spawn(body, joining)
    }

    pub(crate) fn run(&self, max: usize) -> Result<usize, LocalSchedulerError> {
        self.sched.run(max)
    }

    /// Replaces the notify hook; the old one is not called once this returns.
    pub(crate) fn set_notify(&self, hook: Option<ReadyHook>) {
        drop(self.sched.set_ready_hook(hook));
    }

    pub(crate) fn len(&self) -> usize {
        self.sched.unfinished()
    }

    /// On the owning thread: cancels what is left and waits until every task is released;
    /// the executor may then be dropped. Refused, with nothing changed, from another thread
    /// (`WrongThread`) or from inside its own `run` (`WouldDeadlock`: one of its tasks).
    pub(crate) fn close(&self) -> Result<(), LocalSchedulerError> {
        if !self.sched.is_owner() {
            return Err(LocalSchedulerError::WrongThread);
        }
        let closing = Arc::clone(&self.closing);
        // The user's hook is not called once this swap returns (nor after the free).
        let hook = self
            .sched
            .set_ready_hook(Some(Arc::new(move || closing.unpark())));
        self.sched.close(&self.closing).inspect_err(|_| {
            drop(self.sched.set_ready_hook(hook));
        })
    }
}

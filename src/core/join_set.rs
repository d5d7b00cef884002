//! Join sets: tasks spawned into a group and taken back in the order they finish.
//!
//! Each task's join-waker slot holds a small waker naming the task's slot in the set; when the
//! task completes, that waker appends the slot to the set's `done` queue (under the set's lock)
//! and wakes whoever waits on the set. `join_next` pops that queue, so it returns tasks in
//! completion order, and checking the queue and registering a waiter happen under the same lock,
//! so no completion is missed. A set is used from one thread at a time (its handles live in a
//! plain vector); only `done` and `waiter` are shared with completing threads.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::Instant;

use crate::core::park::Parker;
use crate::core::runtime::wait::{WaitFor, wait_until};
use crate::core::runtime::{Runtime, SpawnError};
use crate::core::sync::Mutex;
use crate::core::task::{Body, JoinHandle, Joining, Placement, TaskResult};

#[derive(Default)]
struct Ready {
    done: VecDeque<usize>,
    waiter: Option<Waker>,
}

#[derive(Default)]
struct SetShared {
    ready: Mutex<Ready>,
}

struct SlotWaker {
    set: Arc<SetShared>,
    slot: usize,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let waiter = {
            let mut r = self.set.ready.lock();
            r.done.push_back(self.slot);
            r.waiter.take()
        };
        if let Some(w) = waiter {
            w.wake();
        }
    }
}

/// `join_next`'s wait: something in `done`.
impl WaitFor for SetShared {
    fn done(&self) -> bool {
        !self.ready.lock().done.is_empty()
    }
    fn arm(&self, parker: &Arc<Parker>) -> bool {
        let mut r = self.ready.lock();
        if !r.done.is_empty() {
            return false;
        }
        r.waiter = Some(Waker::from(Arc::new(ParkerWaker(Arc::clone(parker)))));
        true
    }
    fn disarm(&self, _: &Arc<Parker>) {
        self.ready.lock().waiter = None;
    }
}

struct ParkerWaker(Arc<Parker>);

impl Wake for ParkerWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// A finished task taken out of the set, with its result (output handed over or dropped as
/// `join_next` was asked).
pub(crate) struct Joined {
    pub(crate) id: u64,
    pub(crate) result: TaskResult,
}

/// What `join_next` found.
pub(crate) enum Next {
    Joined(Joined),
    Empty,
    /// Nothing finished in time (or yet, for a poll).
    NotYet,
    /// The only task left unjoined is the one calling: it would wait for itself.
    WouldDeadlock,
}

pub(crate) struct JoinSet {
    runtime: Arc<Runtime>,
    shared: Arc<SetShared>,
    slots: Vec<Option<JoinHandle>>,
    free: Vec<usize>,
    len: usize,
}

impl JoinSet {
    pub(crate) fn new(runtime: Arc<Runtime>) -> JoinSet {
        JoinSet {
            runtime,
            shared: Arc::default(),
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    /// Tasks spawned and not yet returned by `join_next`.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Spawns a task into the set; returns its id.
    pub(crate) fn spawn<B: Body>(&mut self, body: B) -> Result<u64, (SpawnError, B)> {
        let handle = self
            .runtime
            .spawn(body, Placement::Worker, Joining::Handle)?
            .expect("asked for a handle");
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        let waker = Waker::from(Arc::new(SlotWaker {
            set: Arc::clone(&self.shared),
            slot,
        }));
        if handle.poll_join(&waker).is_some() {
            // Finished before we could register: queue it ourselves.
            waker.wake();
        }
        let id = handle.id();
        self.slots[slot] = Some(handle);
        self.len += 1;
        Ok(id)
    }

    fn take(&mut self, slot: usize, keep_output: bool) -> Joined {
        let handle = self.slots[slot].take().expect("a done slot holds its task");
        self.free.push(slot);
        self.len -= 1;
        Joined {
            id: handle.id(),
            result: handle
                .take_result(keep_output)
                .expect("done means complete"),
        }
    }

    fn pop_done(&mut self, keep_output: bool) -> Option<Joined> {
        let slot = self.shared.ready.lock().done.pop_front()?;
        Some(self.take(slot, keep_output))
    }

    /// The next task to finish, waiting up to `deadline` (None: forever; a past deadline: do not
    /// wait). On a worker thread it runs other tasks while it waits.
    pub(crate) fn join_next(&mut self, deadline: Option<Instant>, keep_output: bool) -> Next {
        if let Some(j) = self.pop_done(keep_output) {
            return Next::Joined(j);
        }
        if self.len == 0 {
            return Next::Empty;
        }
        if self.len == 1
            && deadline.is_none_or(|d| d > Instant::now())
            && self.only_task_is_current()
        {
            return Next::WouldDeadlock;
        }
        wait_until(&*self.shared, deadline);
        match self.pop_done(keep_output) {
            Some(j) => Next::Joined(j),
            None => Next::NotYet,
        }
    }

    /// Whether the set's one remaining task is the task calling (nothing else can finish, and
    /// it cannot finish while it waits).
    fn only_task_is_current(&self) -> bool {
        self.slots
            .iter()
            .flatten()
            .all(|h| h.is_current() && !h.is_finished())
    }

    /// Poll-style `join_next`: registers `waker` (replacing an earlier one) when nothing has
    /// finished yet.
    pub(crate) fn poll_join_next(&mut self, waker: &Waker, keep_output: bool) -> Next {
        if self.len == 0 {
            return Next::Empty;
        }
        let slot = {
            let mut r = self.shared.ready.lock();
            match r.done.pop_front() {
                Some(slot) => slot,
                None => {
                    r.waiter = Some(waker.clone());
                    return Next::NotYet;
                }
            }
        };
        Next::Joined(self.take(slot, keep_output))
    }

    /// Aborts every task still in the set (they stay in it, to be joined as cancelled).
    pub(crate) fn abort_all(&self) {
        for handle in self.slots.iter().flatten() {
            handle.abort();
        }
    }
}

impl Drop for JoinSet {
    /// Aborts what is left and drops the handles: outputs nobody took are dropped with their
    /// drop_output (now for finished tasks, by the completer for running ones).
    fn drop(&mut self) {
        self.abort_all();
        self.slots.clear();
        self.shared.ready.lock().waiter = None;
    }
}

//! A scheduler and task body for tests: the scheduler is a plain FIFO queue under a mutex that
//! the test drains by hand, so a test (or a loom model) decides exactly which thread runs what.

use std::collections::VecDeque;
use std::ffi::CStr;
use std::ptr::NonNull;

use crate::core::sync::{Arc, AtomicBool, AtomicUsize, Mutex, Ordering};
use crate::core::task::owned::OwnedTasks;
use crate::core::task::state::Outcome;
use crate::core::task::{
    Body, BodyPoll, Context, Header, Notified, ScheduleKind, Scheduler, SchedulerVtable, TaskRef,
    harness,
};
use crate::core::timer::{TimerDriver, TimerKey, TimerTarget};

#[repr(C)]
pub(crate) struct TestScheduler {
    sched: Scheduler,
    queue: Mutex<VecDeque<Notified>>,
    pub(crate) owned: OwnedTasks,
    pub(crate) completed: AtomicUsize,
    pub(crate) timers: TimerDriver,
}

static VTABLE: SchedulerVtable = SchedulerVtable {
    schedule,
    completed,
    release,
    add_timer,
    cancel_timer,
};

unsafe fn add_timer(s: NonNull<Scheduler>, key: TimerKey, target: TimerTarget) {
    unsafe { this(s) }.timers.insert(key, target);
}

unsafe fn cancel_timer(s: NonNull<Scheduler>, key: TimerKey) -> Option<TimerTarget> {
    unsafe { this(s) }.timers.cancel(key)
}

unsafe fn this<'a>(s: NonNull<Scheduler>) -> &'a TestScheduler {
    // SAFETY: the first field of a repr(C) TestScheduler.
    unsafe { s.cast::<TestScheduler>().as_ref() }
}

unsafe fn schedule(s: NonNull<Scheduler>, n: Notified, _kind: ScheduleKind) {
    unsafe { this(s) }.queue.lock().push_back(n);
}

unsafe fn completed(s: NonNull<Scheduler>, h: &Header, outcome: Outcome) {
    let t = unsafe { this(s) };
    t.owned.count(h, outcome);
    t.completed.fetch_add(1, Ordering::Relaxed);
}

unsafe fn release(s: NonNull<Scheduler>, h: &Header) {
    unsafe { this(s) }.owned.remove(h);
}

impl TestScheduler {
    pub(crate) fn new() -> Arc<TestScheduler> {
        Arc::new(TestScheduler {
            sched: Scheduler { vtable: &VTABLE },
            queue: Mutex::new(VecDeque::new()),
            owned: OwnedTasks::new(1),
            completed: AtomicUsize::new(0),
            timers: TimerDriver::new(),
        })
    }

    fn ptr(&self) -> NonNull<Scheduler> {
        // From the whole struct, not the field: the scheduler reaches the rest of it.
        NonNull::from(self).cast()
    }

    /// Spawns: links the task and queues its first entry. Returns the join handle's reference
    /// if asked, or None; Err if the scheduler is closed (the body comes back).
    pub(crate) fn spawn(&self, body: TestBody, handle: bool) -> Result<Option<TaskRef>, TestBody> {
        self.spawn_placed(body, handle, crate::core::task::Placement::Worker)
    }

    /// Spawns a thread-bound task (as a local executor does).
    pub(crate) fn spawn_local(&self, body: TestBody) -> TaskRef {
        self.spawn_placed(body, true, crate::core::task::Placement::Local)
            .unwrap()
            .unwrap()
    }

    /// Spawns any body (a wrapper such as a scope task) as a worker task.
    #[cfg_attr(not(loom), allow(dead_code))]
    pub(crate) fn spawn_body<B: Body>(&self, body: B, handle: bool) -> Result<Option<TaskRef>, B> {
        self.spawn_placed(body, handle, crate::core::task::Placement::Worker)
    }

    fn spawn_placed<B: Body>(
        &self,
        body: B,
        handle: bool,
        placement: crate::core::task::Placement,
    ) -> Result<Option<TaskRef>, B> {
        let h = Header::allocate(
            body,
            crate::core::id::next_id(),
            self.ptr(),
            placement,
            handle,
        );
        if !self.owned.insert(h) {
            // SAFETY: never linked or queued.
            return Err(unsafe { Header::unallocate::<B>(h) });
        }
        self.queue
            .lock()
            .push_back(unsafe { Notified::from_raw(h) });
        Ok(handle.then(|| unsafe { TaskRef::from_raw(h) }))
    }

    pub(crate) fn pop(&self) -> Option<Notified> {
        self.queue.lock().pop_front()
    }

    pub(crate) fn queue_back(&self, n: Notified) {
        self.queue.lock().push_back(n);
    }

    pub(crate) fn queued(&self) -> usize {
        self.queue.lock().len()
    }

    /// Fires every timer that is due (what a worker does before sleeping).
    pub(crate) fn fire_timers(&self) {
        let due = self
            .timers
            .take_expired(std::time::Instant::now() + std::time::Duration::from_secs(3600));
        crate::core::timer::fire(due, |n| self.queue_back(n));
    }

    /// Runs queued entries until the queue is empty; returns how many polls happened.
    pub(crate) fn run_all(&self) -> usize {
        let mut polls = 0;
        while let Some(n) = self.pop() {
            if harness::run(n) {
                polls += 1;
            }
        }
        polls
    }

    /// Closes and aborts every listed task (what a runtime shutdown does), then discards the
    /// queue.
    pub(crate) fn shutdown(&self) {
        for t in self.owned.close_and_collect() {
            harness::abort(t.ptr());
        }
        while let Some(n) = self.pop() {
            drop(n);
        }
    }
}

/// What a test body does on each poll.
#[derive(Clone, Copy)]
pub(crate) enum Script {
    /// Ready at the first poll.
    Ready,
    /// Pending until `flag` is set, then Ready(1).
    UntilFlag,
    /// Yields `n` times, then Ready.
    Yield(usize),
    /// A run-to-completion task (Ready at its one run).
    Run,
    /// Wakes itself during the first poll and returns Pending; Ready at the second.
    WakeSelfOnce,
    /// First poll: asks to be woken by a timer (already due) and returns Pending; then Ready.
    SleepOnce,
    /// Aborts itself during the poll, then returns Pending (→ cancelled) or Ready (stands).
    AbortSelf { then_ready: bool },
}

/// Counters shared between a test and its tasks.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) polls: AtomicUsize,
    pub(crate) drops: AtomicUsize,
    pub(crate) outputs_dropped: AtomicUsize,
    pub(crate) flag: AtomicBool,
}

pub(crate) struct TestBody {
    pub(crate) script: Script,
    pub(crate) counters: Arc<Counters>,
    pub(crate) yields_left: usize,
    /// Set while this task's body is being polled (counters may be shared by many tasks).
    in_poll: Arc<AtomicBool>,
}

impl TestBody {
    pub(crate) fn new(script: Script, counters: &Arc<Counters>) -> TestBody {
        let yields_left = match script {
            Script::Yield(n) => n,
            _ => 0,
        };
        TestBody {
            script,
            counters: Arc::clone(counters),
            yields_left,
            in_poll: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl std::fmt::Debug for TestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestBody")
    }
}

impl Drop for TestBody {
    fn drop(&mut self) {
        self.counters.drops.fetch_add(1, Ordering::SeqCst);
    }
}

impl Body for TestBody {
    type OutputDropper = ();

    fn is_poll_style(&self) -> bool {
        !matches!(self.script, Script::Run)
    }

    fn output_dropper(&self) {}

    fn drop_output(_: (), output: *mut ()) {
        // Outputs in tests are leaked Arc<Counters> clones, so dropping one is countable.
        // SAFETY: produced by `output_of` below.
        let c = unsafe { Arc::from_raw(output as *const Counters) };
        c.outputs_dropped.fetch_add(1, Ordering::SeqCst);
    }

    fn poll(&mut self, cx: &mut Context<'_>, output: &mut *mut ()) -> BodyPoll {
        assert!(
            !self.in_poll.swap(true, Ordering::SeqCst),
            "a task was polled twice at once"
        );
        self.counters.polls.fetch_add(1, Ordering::SeqCst);
        let r = match self.script {
            Script::Ready | Script::Run => BodyPoll::Ready,
            Script::UntilFlag => {
                if self.counters.flag.load(Ordering::SeqCst) {
                    BodyPoll::Ready
                } else {
                    BodyPoll::Pending
                }
            }
            Script::SleepOnce => {
                if self.counters.polls.load(Ordering::SeqCst) == 1 {
                    crate::core::task::sleep::sleep_until(cx.task, std::time::Instant::now());
                    BodyPoll::Pending
                } else {
                    BodyPoll::Ready
                }
            }
            Script::WakeSelfOnce => {
                if self.counters.polls.load(Ordering::SeqCst) == 1 {
                    cx.waker().wake_by_ref();
                    BodyPoll::Pending
                } else {
                    BodyPoll::Ready
                }
            }
            Script::AbortSelf { then_ready } => {
                harness::abort(cx.task);
                if then_ready {
                    BodyPoll::Ready
                } else {
                    BodyPoll::Pending
                }
            }
            Script::Yield(_) => {
                if self.yields_left == 0 {
                    BodyPoll::Ready
                } else {
                    self.yields_left -= 1;
                    BodyPoll::Yield
                }
            }
        };
        if r == BodyPoll::Ready {
            *output = output_of(&self.counters);
        }
        self.in_poll.store(false, Ordering::SeqCst);
        r
    }

    fn name(&self) -> Option<&CStr> {
        None
    }
}

/// An output whose drop is counted in `counters.outputs_dropped`.
pub(crate) fn output_of(counters: &Arc<Counters>) -> *mut () {
    Arc::into_raw(Arc::clone(counters)) as *mut ()
}

/// Takes an output handed out by a join and frees it (not counted as a drop by the runtime).
pub(crate) fn consume_output(out: *mut ()) {
    if !out.is_null() {
        // SAFETY: produced by `output_of`.
        drop(unsafe { Arc::from_raw(out as *const Counters) });
    }
}

/// The outcome of a completed task through its handle.
pub(crate) fn outcome(h: &TaskRef) -> Option<Outcome> {
    crate::core::task::join::outcome(h.header())
}

/// Drops a join handle the way the C handle's free does (clears the join interest).
pub(crate) fn drop_handle(h: TaskRef) {
    crate::core::task::join::drop_handle(h.into_raw());
}

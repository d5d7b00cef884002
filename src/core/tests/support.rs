//! A scheduler and task body for tests: the scheduler is a plain FIFO queue under a mutex that
//! the test drains by hand, so a test (or a loom model) decides exactly which thread runs what.

use std::collections::VecDeque;
use std::task::Waker;

use crate::core::sync::{Arc, AtomicBool, AtomicUsize, Mutex, Ordering};
use crate::core::task::{
    self, Body, BodyPoll, Context, JoinHandle, Joining, Notified, Outcome, OwnedTasks, Placement,
    Schedule, ScheduleKind, TaskRef, TaskResult,
};
use crate::core::timer::{TimerDriver, TimerKey, TimerTarget};

/// `BOUND`: whether its tasks are thread-bound (as a local executor's are: an abort from
/// another thread schedules the cancellation for the owner).
pub(crate) struct TestScheduler<const BOUND: bool = false> {
    queue: Mutex<VecDeque<Notified>>,
    pub(crate) owned: OwnedTasks,
    pub(crate) timers: TimerDriver,
}

impl<const BOUND: bool> Schedule for TestScheduler<BOUND> {
    const THREAD_BOUND: bool = BOUND;

    fn task_list(&self) -> &OwnedTasks {
        &self.owned
    }

    fn schedule(this: &std::sync::Arc<Self>, n: Notified, _kind: ScheduleKind) {
        this.queue.lock().push_back(n);
    }

    fn add_timer(&self, key: TimerKey, target: TimerTarget) {
        self.timers.insert(key, target);
    }

    fn cancel_timer(&self, key: TimerKey) -> Option<TimerTarget> {
        self.timers.cancel(key)
    }
}

impl TestScheduler {
    pub(crate) fn new() -> std::sync::Arc<TestScheduler> {
        TestScheduler::<false>::create()
    }

    /// A scheduler of thread-bound tasks.
    pub(crate) fn new_bound() -> std::sync::Arc<TestScheduler<true>> {
        TestScheduler::<true>::create()
    }

    /// A scheduler whose owner list has `shards` shards (a power of two).
    #[cfg(loom)]
    pub(crate) fn new_sharded(shards: usize) -> std::sync::Arc<TestScheduler> {
        TestScheduler::<false>::create_sharded(shards)
    }
}

impl<const BOUND: bool> TestScheduler<BOUND> {
    fn create() -> std::sync::Arc<Self> {
        Self::create_sharded(1)
    }

    fn create_sharded(shards: usize) -> std::sync::Arc<Self> {
        std::sync::Arc::new(TestScheduler {
            queue: Mutex::new(VecDeque::new()),
            owned: OwnedTasks::new(shards),
            timers: TimerDriver::new(),
        })
    }

    /// Spawns: links the task and queues its first entry. Returns the join handle if asked,
    /// or None; Err if the scheduler is closed (the body comes back).
    pub(crate) fn spawn(
        self: &std::sync::Arc<Self>,
        body: TestBody,
        handle: bool,
    ) -> Result<Option<JoinHandle>, TestBody> {
        self.spawn_body(body, handle)
    }

    /// Spawns any body (a wrapper such as a scope task) as a worker task.
    pub(crate) fn spawn_body<B: Body>(
        self: &std::sync::Arc<Self>,
        body: B,
        handle: bool,
    ) -> Result<Option<JoinHandle>, B> {
        let joining = if handle {
            Joining::Handle
        } else {
            Joining::Detached
        };
        let spawned = task::spawn(self, body, Placement::Worker, joining)?;
        self.queue_back(spawned.entry);
        Ok(spawned.handle)
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
            if n.run() {
                polls += 1;
            }
        }
        polls
    }

    /// Closes and aborts every listed task (what a runtime shutdown does), then discards the
    /// queue.
    pub(crate) fn shutdown(&self) {
        for t in self.owned.close_and_collect() {
            t.abort();
        }
        while let Some(n) = self.pop() {
            drop(n);
        }
    }
}

/// Runs a loom model with the preemption bound of `LOOM_MAX_PREEMPTIONS` (2 if unset: what CI
/// affords; scripts/heavy.sh raises it).
#[cfg(loom)]
pub(crate) fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(2);
    }
    b.check(f);
}

/// Runs `other` on a new loom thread while this thread runs `here`, then joins it: a model's
/// race of one thread against the test's own. Returns both results.
#[cfg(loom)]
pub(crate) fn race<T: Send + 'static, R>(
    other: impl FnOnce() -> T + Send + 'static,
    here: impl FnOnce() -> R,
) -> (T, R) {
    let t = loom::thread::spawn(other);
    let r = here();
    (t.join().unwrap(), r)
}

/// Runs `a` and `b` on two new loom threads (started, then joined, in that order) while this
/// thread runs `here`; returns what `here` returned.
#[cfg(loom)]
pub(crate) fn race_two<R>(
    a: impl FnOnce() + Send + 'static,
    b: impl FnOnce() + Send + 'static,
    here: impl FnOnce() -> R,
) -> R {
    let ta = loom::thread::spawn(a);
    let tb = loom::thread::spawn(b);
    let r = here();
    ta.join().unwrap();
    tb.join().unwrap();
    r
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

/// Counters shared between a test and its tasks, and the flag `Script::UntilFlag` waits for.
/// Tests read and set them through the methods (all SeqCst).
#[derive(Default)]
pub(crate) struct Counters {
    polls: AtomicUsize,
    drops: AtomicUsize,
    outputs_dropped: AtomicUsize,
    flag: AtomicBool,
}

impl Counters {
    /// Polls of the tasks' bodies so far.
    pub(crate) fn polls(&self) -> usize {
        self.polls.load(Ordering::SeqCst)
    }

    /// Bodies dropped (the C layer's drop_arg) so far.
    pub(crate) fn drops(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }

    /// Outputs dropped so far.
    pub(crate) fn outputs_dropped(&self) -> usize {
        self.outputs_dropped.load(Ordering::SeqCst)
    }

    /// Lets the `Script::UntilFlag` tasks finish at their next poll.
    pub(crate) fn set_flag(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }
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
                if self.counters.polls() == 1 {
                    cx.sleep_until(std::time::Instant::now());
                    BodyPoll::Pending
                } else {
                    BodyPoll::Ready
                }
            }
            Script::WakeSelfOnce => {
                if self.counters.polls() == 1 {
                    cx.waker().wake_by_ref();
                    BodyPoll::Pending
                } else {
                    BodyPoll::Ready
                }
            }
            Script::AbortSelf { then_ready } => {
                cx.abort_own_task();
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

/// The setup of most tests: a test scheduler, counters, and one task running `script`,
/// spawned with a handle (its first entry queued, nothing run yet).
pub(crate) fn one_task(
    script: Script,
) -> (std::sync::Arc<TestScheduler>, Arc<Counters>, JoinHandle) {
    let s = TestScheduler::new();
    let c = Arc::new(Counters::default());
    let h = s.spawn(TestBody::new(script, &c), true).unwrap().unwrap();
    (s, c, h)
}

/// [`one_task`] with a thread-bound task (as a local executor's).
pub(crate) fn one_bound_task(
    script: Script,
) -> (
    std::sync::Arc<TestScheduler<true>>,
    Arc<Counters>,
    JoinHandle,
) {
    let s = TestScheduler::new_bound();
    let c = Arc::new(Counters::default());
    let h = s.spawn(TestBody::new(script, &c), true).unwrap().unwrap();
    (s, c, h)
}

/// [`one_task`] run up to its wait: a `Script::UntilFlag` task polled once (Pending), idle
/// until woken.
pub(crate) fn idle_task() -> (std::sync::Arc<TestScheduler>, Arc<Counters>, JoinHandle) {
    let (s, c, h) = one_task(Script::UntilFlag);
    s.run_all();
    (s, c, h)
}

/// [`idle_task`] with a thread-bound task.
pub(crate) fn idle_bound_task() -> (
    std::sync::Arc<TestScheduler<true>>,
    Arc<Counters>,
    JoinHandle,
) {
    let (s, c, h) = one_bound_task(Script::UntilFlag);
    s.run_all();
    (s, c, h)
}

/// A waker of the task.
pub(crate) fn task_waker_of(h: &TaskRef) -> Waker {
    task::waker::task_waker(h.clone())
}

/// The outcome of a completed task through its handle.
pub(crate) fn outcome(h: &JoinHandle) -> Option<Outcome> {
    h.outcome()
}

/// Takes the output of a finished task (once; null after, or for a cancelled task).
pub(crate) fn take_output(h: &JoinHandle) -> *mut () {
    match h.take_result(true) {
        Some(TaskResult::Ok(out) | TaskResult::Failed(out)) => out,
        _ => std::ptr::null_mut(),
    }
}

/// The end of most tests: the handle is dropped, and with it the task's last trace (it was
/// released from its scheduler's list).
pub(crate) fn drop_and_check_released<const B: bool>(s: &TestScheduler<B>, h: JoinHandle) {
    drop(h);
    assert_eq!(s.owned.len(), 0, "the task was released");
}

/// The end of a test whose task was cancelled after `polls` polls: its body was dropped exactly
/// once, and dropping the handle releases it.
#[cfg(loom)]
pub(crate) fn assert_cancelled_and_released<const B: bool>(
    s: &TestScheduler<B>,
    c: &Counters,
    h: JoinHandle,
    polls: usize,
) {
    assert_eq!(outcome(&h), Some(Outcome::Cancelled));
    assert_eq!(c.polls(), polls, "polls before the cancel");
    assert_eq!(c.drops(), 1, "drop_arg exactly once");
    drop_and_check_released(s, h);
}

/// Drops a join handle the way the C handle's free does (clears the join interest).
pub(crate) fn drop_handle(h: JoinHandle) {
    drop(h);
}

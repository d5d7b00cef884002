//! Loom models of fork-join (`core::fork_join`), on the real code: the join protocol
//! (`join2::join_on` with the real `StackJob` and `Latch`) over a model host whose job deque is
//! a mutex-guarded queue (crossbeam's deque does not run under loom; what matters is that a pop
//! and a steal never return the same entry, which the mutex gives), and the scope's counter
//! (`CountLatch`) with real scope tasks (`ScopeTask` bodies spawned on the test scheduler and
//! run by `harness::run`) against the real waiter (`Latch::wait_parked`, what a thread that is
//! not a worker runs).

use std::collections::VecDeque;
use std::sync::atomic::Ordering::SeqCst;

use loom::thread;

use super::support::*;
use crate::core::fork_join::cancel::CancelCtx;
use crate::core::fork_join::job::JobRef;
use crate::core::fork_join::join2::{JobHost, join_on};
use crate::core::fork_join::latch::{CountLatch, Latch};
use crate::core::fork_join::scope::{ScopeState, ScopeTask};
use crate::core::park::Parker;
use crate::core::sync::{Arc, AtomicBool, AtomicUsize, Mutex};
use crate::core::task::Outcome;

/// A worker as the join protocol sees it: a job deque (back = the owner's end, front = the
/// thieves'), whether this thread still holds the core, and the parker its waits use.
struct Host {
    deque: Arc<Mutex<VecDeque<JobRef>>>,
    has_core: AtomicBool,
    parker: std::sync::Arc<Parker>,
}

impl Host {
    fn new() -> Host {
        Host {
            deque: Arc::new(Mutex::new(VecDeque::new())),
            has_core: AtomicBool::new(true),
            parker: std::sync::Arc::new(Parker::new()),
        }
    }
}

impl JobHost for Host {
    fn push_job(&self, job: JobRef) -> bool {
        if !self.has_core.load(SeqCst) {
            return false;
        }
        self.deque.lock().push_back(job);
        true
    }

    fn pop_job(&self) -> Option<JobRef> {
        if !self.has_core.load(SeqCst) {
            return None;
        }
        self.deque.lock().pop_back()
    }

    fn push_back(&self, job: JobRef) {
        self.deque.lock().push_back(job);
    }

    fn wait(&self, latch: &Latch) {
        // A thread that is not helping (the worker's help loop adds running other work).
        latch.wait_parked(&self.parker, None);
    }
}

/// Runs a job taken out of a deque (after its lock was released), if there was one.
fn run_taken(job: Option<JobRef>) {
    if let Some(job) = job {
        // SAFETY: taken out of the queue: we run it once.
        unsafe { job.execute() };
    }
}

/// A thief: one steal attempt at the front of the owner's deque, running what it took.
fn spawn_thief(host: &Host) -> thread::JoinHandle<()> {
    let deque = host.deque.clone();
    thread::spawn(move || {
        let job = deque.lock().pop_front();
        run_taken(job);
    })
}

/// A test scheduler with `tasks` tasks of a new scope queued on it, each a `Script::Run` body
/// counted in the counters; the scope's count holds one for its body and one per task.
fn scope_with_tasks(
    tasks: usize,
) -> (
    std::sync::Arc<TestScheduler>,
    Arc<Counters>,
    Arc<ScopeState>,
) {
    let sched = TestScheduler::new();
    let counters = Arc::new(Counters::default());
    let scope = Arc::new(ScopeState::new(CancelCtx::default()));
    for _ in 0..tasks {
        scope.count().inc();
        let task = ScopeTask::new(TestBody::new(Script::Run, &counters), &scope);
        assert!(matches!(sched.spawn_body(task, false), Ok(None)));
    }
    (sched, counters, scope)
}

/// A worker: runs the next queued entry (a scope task), holding the scope as a runtime does.
fn spawn_runner(
    sched: &std::sync::Arc<TestScheduler>,
    scope: &Arc<ScopeState>,
) -> thread::JoinHandle<()> {
    let (sched, scope) = (sched.clone(), scope.clone());
    thread::spawn(move || {
        let _keep = scope;
        let entry = sched.pop().expect("one entry per worker");
        entry.run();
    })
}

/// The waiter: the scope body's own count goes, then it waits for the tasks (what `Scope::run`
/// does off a worker).
fn end_body_and_wait(scope: &ScopeState) {
    // SAFETY: the body's count; the scope outlives the wait.
    unsafe { CountLatch::dec(scope.count()) };
    let parker = std::sync::Arc::new(Parker::new());
    assert!(scope.count().latch().wait_parked(&parker, None));
}

/// The join2 race: the owner pops its job `b` back after `a` while a thief tries to steal it.
/// Exactly one of them runs `b`; the owner returns only after `b` ran (inline, or the thief set
/// the latch), sees `b`'s result, and leaves nothing in the deque.
#[test]
fn loom_fj_join2_steal_vs_pop_back() {
    model(|| {
        let host = Host::new();
        let ran_b = Arc::new(AtomicUsize::new(0));
        let thief = spawn_thief(&host);
        let (ra, rb) = {
            let ran_b = ran_b.clone();
            join_on(
                &host,
                || 1u32,
                move |_stolen| {
                    ran_b.fetch_add(1, SeqCst);
                    2u32
                },
                CancelCtx::default(),
            )
        };
        // Returned: b ran exactly once, its result is here, and it is in no queue.
        assert_eq!((ra, rb), (1, 2));
        assert_eq!(ran_b.load(SeqCst), 1);
        assert!(host.deque.lock().is_empty());
        thief.join().unwrap();
        assert_eq!(ran_b.load(SeqCst), 1);
    });
}

/// The core moves during `a` (block_in_place inside `a` gives it to a substitute thread): the
/// owner's pop-back finds no core and waits on the latch; the substitute (now the deque's owner)
/// pops `b` from the back and runs it, racing with a thief at the front.
#[test]
fn loom_fj_join2_core_handed_off_during_a() {
    model(|| {
        let host = Host::new();
        let ran_b = Arc::new(AtomicUsize::new(0));
        let handed = Arc::new(AtomicBool::new(false));
        let substitute = {
            let (deque, handed) = (host.deque.clone(), handed.clone());
            thread::spawn(move || {
                // Starts once the core is handed over (the hand-off starts this thread).
                while !handed.load(SeqCst) {
                    thread::yield_now();
                }
                let job = deque.lock().pop_back();
                run_taken(job);
            })
        };
        let thief = spawn_thief(&host);
        let (ra, rb) = {
            let ran_b = ran_b.clone();
            join_on(
                &host,
                || {
                    host.has_core.store(false, SeqCst);
                    handed.store(true, SeqCst);
                    1u32
                },
                move |stolen| {
                    assert!(stolen, "the owner has no core: it never runs b inline");
                    ran_b.fetch_add(1, SeqCst);
                    2u32
                },
                CancelCtx::default(),
            )
        };
        assert_eq!((ra, rb), (1, 2));
        assert_eq!(ran_b.load(SeqCst), 1);
        substitute.join().unwrap();
        thief.join().unwrap();
        assert_eq!(ran_b.load(SeqCst), 1);
        assert!(host.deque.lock().is_empty());
    });
}

/// The scope's counter vs its waiter: two scope tasks end on two threads (drop_arg, output
/// dropped, count decremented; the last decrement sets the latch and unparks) while the waiter
/// drops its own count, checks and parks. No lost wake-up (loom reports a deadlock otherwise),
/// and the waiter returns only after both bodies were dropped and both outputs dropped.
#[test]
fn loom_fj_scope_count_vs_waiter() {
    model(|| {
        let (sched, counters, scope) = scope_with_tasks(2);
        let workers: Vec<_> = (0..2).map(|_| spawn_runner(&sched, &scope)).collect();
        end_body_and_wait(&scope);
        assert_eq!(counters.drops(), 2, "a drop_arg ran after the wait");
        assert_eq!(counters.outputs_dropped(), 2);
        assert_eq!(scope.outcome(), Outcome::Ok);
        for w in workers {
            w.join().unwrap();
        }
    });
}

/// Cancel vs start: the scope is cancelled while its task starts. Either the task ran (its
/// result stands) or it was cancelled unrun; in both cases its body was dropped exactly once
/// before the waiter returns, and the scope reports CANCELLED.
#[test]
fn loom_fj_scope_cancel_vs_start() {
    model(|| {
        let (sched, counters, scope) = scope_with_tasks(1);
        let worker = spawn_runner(&sched, &scope);
        scope.cancel();
        end_body_and_wait(&scope);
        assert_eq!(counters.drops(), 1);
        let polls = counters.polls();
        assert!(polls <= 1);
        assert_eq!(counters.outputs_dropped(), polls);
        assert_eq!(scope.outcome(), Outcome::Cancelled);
        worker.join().unwrap();
    });
}

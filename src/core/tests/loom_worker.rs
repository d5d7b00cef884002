//! Loom models of the worker protocol (`runtime/worker.rs`) and of the shutdown races of
//! issue "Correctness under every interleaving". The worker loop itself needs real threads,
//! crossbeam's deques and timers, which loom cannot run; what decides lost wake-ups is the idle
//! protocol (`core::idle::Idle`: searching and sleeping accounting), the parker
//! (`core::park::Parker`) and the order in which the worker calls them. These models drive the
//! real `Idle` and `Parker` in the exact order `worker.rs` does (quoted at each step), with a
//! mutex-guarded queue standing in for the injector and the stealable local queues. A lost
//! wake-up shows up as a loom deadlock (every thread parked while work is queued).
//!
//! The shutdown races run on the real `TimerDriver` and `LocalScheduler`.

use std::cell::Cell;
use std::collections::VecDeque;
use std::ops::Range;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Release, SeqCst};

use loom::thread;

use super::support::*;
use crate::core::idle::Idle;
use crate::core::park::Parker;
use crate::core::sync::{Arc, AtomicBool, AtomicUsize, Mutex};
use crate::core::task::{Joining, Outcome};
use crate::core::timer::{InsertOutcome, TimerDriver, TimerKey, TimerTarget};

/// What the workers of a model share: the idle protocol, one parker per worker, the injector
/// (any worker pops it), a stealable local queue of a worker that runs no loop here (reached
/// only by searching, as `steal_batch_and_pop` is), and how many tasks were run.
struct Pool {
    idle: Idle,
    parkers: Vec<std::sync::Arc<Parker>>,
    injector: Mutex<VecDeque<u32>>,
    stealable: Mutex<VecDeque<u32>>,
    /// A fork-join job deque of a worker that runs no loop here: how many jobs it holds (its
    /// owner pushes with a plain release store, as crossbeam's `Worker::push` does; thieves
    /// take one with a CAS).
    jobs: AtomicUsize,
    ran: AtomicUsize,
    exiting: AtomicBool,
    /// Unparked by whoever runs a task, so the model's main thread can wait for the work to be
    /// done before it lets the workers exit (else an exit wake-up would hide a lost one).
    main: std::sync::Arc<Parker>,
}

/// Starts a model thread running `f` on the pool.
fn on_thread(pool: &Arc<Pool>, f: impl FnOnce(&Pool) + Send + 'static) -> thread::JoinHandle<()> {
    let pool = pool.clone();
    thread::spawn(move || f(&pool))
}

impl Pool {
    fn new(workers: usize) -> Arc<Pool> {
        Arc::new(Pool {
            idle: Idle::new(workers),
            parkers: (0..workers)
                .map(|_| std::sync::Arc::new(Parker::new()))
                .collect(),
            injector: Mutex::new(VecDeque::new()),
            stealable: Mutex::new(VecDeque::new()),
            jobs: AtomicUsize::new(0),
            ran: AtomicUsize::new(0),
            exiting: AtomicBool::new(false),
            main: std::sync::Arc::new(Parker::new()),
        })
    }

    /// A pool of `workers` workers, those in `running` running their loop on model threads (the
    /// others are played by the model's own threads). Returns the loops' threads, for `finish`.
    fn start(workers: usize, running: Range<usize>) -> (Arc<Pool>, Vec<thread::JoinHandle<()>>) {
        let pool = Pool::new(workers);
        let loops = running
            .map(|i| on_thread(&pool, move |pool| pool.worker_loop(i)))
            .collect();
        (pool, loops)
    }

    /// `Runtime::notify_worker`.
    fn notify(&self) {
        if let Some(i) = self.idle.worker_to_notify() {
            self.parkers[i].unpark();
        }
    }

    /// A remote producer: push, then notify (`Runtime::push_remote`).
    fn push(&self, task: u32) {
        self.injector.lock().push_back(task);
        self.notify();
    }

    /// A worker's spawn (or its LIFO slot released before it waits): push to its stealable
    /// queue, then notify (`schedule_local` with `ScheduleKind::Spawn`, `hand_off_core`).
    fn push_local(&self, task: u32) {
        self.stealable.lock().push_back(task);
        self.notify();
    }

    /// A worker's fork-join job push (`WorkerCtx::push_job`): the deque's plain store, then
    /// the cheap check whether a sleeper needs waking.
    fn push_job(&self) {
        let n = self.jobs.load(Acquire);
        self.jobs.store(n + 1, Release);
        if self.idle.needs_notify_after_push() {
            self.notify();
        }
    }

    /// A thief's job steal (`RuntimeJobs::steal`).
    fn steal_job(&self) -> bool {
        let mut n = self.jobs.load(Acquire);
        while n > 0 {
            match self.jobs.compare_exchange(n, n - 1, AcqRel, Acquire) {
                Ok(_) => return true,
                Err(now) => n = now,
            }
        }
        false
    }

    /// `Runtime::has_work` (with the job deques: `RuntimeJobs::has_jobs`).
    fn has_work(&self) -> bool {
        !self.injector.lock().is_empty()
            || !self.stealable.lock().is_empty()
            || self.jobs.load(Acquire) > 0
    }

    /// `WorkerCtx::run_task`: leave the searching set, then run.
    fn run(&self, searching: &Cell<bool>, _task: u32) {
        if self.idle.leave_search(searching) {
            self.notify();
        }
        self.ran.fetch_add(1, SeqCst);
        self.main.unpark();
    }

    /// `WorkerCtx::next_task` (the injector) then `search` (stealing needs the searching role).
    fn find(&self, searching: &Cell<bool>) -> Option<u32> {
        if let Some(t) = self.injector.lock().pop_front() {
            return Some(t);
        }
        if !self.idle.enter_search(searching) {
            return None;
        }
        // Jobs are stolen before tasks, in the searching role (`worker/jobs.rs`).
        if self.steal_job() {
            return Some(u32::MAX);
        }
        self.stealable.lock().pop_front()
    }

    /// `WorkerCtx::sleep`: sleep as idle worker `idx`.
    fn sleep(&self, idx: usize, searching: &Cell<bool>) {
        self.idle.sleep_as_idle(
            idx,
            searching,
            || self.has_work() || self.exiting.load(SeqCst),
            || self.parkers[idx].park(None),
        );
    }

    /// `WorkerCtx::main_loop` until exit.
    fn worker_loop(&self, idx: usize) {
        let searching = Cell::new(false);
        loop {
            if let Some(t) = self.find(&searching) {
                self.run(&searching, t);
                continue;
            }
            if self.exiting.load(SeqCst) {
                break;
            }
            self.sleep(idx, &searching);
        }
        if self.idle.leave_search(&searching) {
            self.notify();
        }
    }

    /// The model's end: wait until `n` tasks ran, then let the workers exit, join their `loops`
    /// and check that exactly `n` tasks ran.
    fn finish(&self, n: usize, loops: Vec<thread::JoinHandle<()>>) {
        while self.ran.load(SeqCst) < n {
            self.main.park(None);
        }
        self.exiting.store(true, SeqCst);
        for p in &self.parkers {
            p.unpark();
        }
        for l in loops {
            l.join().unwrap();
        }
        assert_eq!(self.ran.load(SeqCst), n);
    }
}

/// Defect 1: a worker sleeping inside a join is woken by a producer's notify (and so counted
/// as searching), finds its join done and returns to the user's task. It must leave the
/// searching set on that exit (`help_until`'s last step), or the producer's task waits while
/// the other worker sleeps: loom then reports a deadlock.
#[test]
fn loom_worker_join_wakeup_restores_search_role() {
    model(|| {
        let (pool, idle_worker) = Pool::start(2, 1..2);
        let done = Arc::new(AtomicBool::new(false));
        let joiner = {
            let (pool, done) = (pool.clone(), done.clone());
            thread::spawn(move || {
                // `WorkerCtx::help_until` with a target that completes on another thread.
                let searching = Cell::new(false);
                let mut took_part = false;
                loop {
                    if done.load(SeqCst) {
                        break;
                    }
                    took_part = true;
                    if let Some(t) = pool.find(&searching) {
                        pool.run(&searching, t);
                        continue;
                    }
                    // `arm` (the waiter registration) is the completer's unpark below.
                    pool.sleep(0, &searching);
                }
                // The fixes under test: restore the role on every exit from the wait, and pass on
                // work this wait saw but did not take.
                if pool.idle.leave_search(&searching) {
                    pool.notify();
                }
                if took_part && pool.has_work() {
                    pool.notify();
                }
                // Back in the user's task, which runs on without looking at the queues.
            })
        };
        let completer = {
            let (pool, done) = (pool.clone(), done.clone());
            thread::spawn(move || {
                done.store(true, SeqCst);
                pool.parkers[0].unpark();
            })
        };
        // The main thread is the producer (one thread fewer keeps bound 3 affordable).
        pool.push(7);
        completer.join().unwrap();
        joiner.join().unwrap();
        pool.finish(1, idle_worker);
    });
}

/// Defects 2 and 7: a worker whose task spawns a child and then blocks without a library join
/// (or that is about to wait holding its LIFO slot) makes the child stealable and notifies
/// before blocking (`schedule_local` for a spawn; `hand_off_core`/`release_work` for the slot):
/// the idle worker must always be woken to run it, whatever it was doing meanwhile.
#[test]
fn loom_worker_spawn_then_block_wakes_idle_worker() {
    model(|| {
        let (pool, idle_worker) = Pool::start(2, 1..2);
        // Worker 0 runs a task: it spawns, then blocks (on a condition variable, say): from here
        // on worker 0 takes nothing from the queues.
        on_thread(&pool, |pool| pool.push_local(1)).join().unwrap();
        pool.finish(1, idle_worker);
    });
}

/// Defect 1 (the searching count itself): two workers search and sleep while a producer
/// pushes two tasks one after the other; both run, and no notify is swallowed by a worker
/// counted as searching that no longer looks.
#[test]
fn loom_worker_burst_two_sleepers() {
    model(|| {
        let (pool, workers) = Pool::start(2, 0..2);
        pool.push(0);
        pool.push(1);
        pool.finish(2, workers);
    });
}

/// Defect 8: a `spawn_after` publishes its start entry in the timer driver while shutdown
/// drains the driver. Either the drain takes the entry, or the insert is refused and the
/// entry comes back to the spawner: it is discarded exactly once either way, and nothing is
/// left pending (the task is released, so shutdown's wait for the owner list ends).
#[test]
fn loom_spawn_after_vs_shutdown_timer_drain() {
    model(|| {
        let (s, c, h) = one_task(Script::Ready);
        // Move the task's first entry from the queue into a start timer, as spawn_after does.
        let entry = s.pop().expect("first entry");
        let driver = Arc::new(TimerDriver::new());
        let key = TimerKey::new(std::time::Instant::now() + std::time::Duration::from_secs(60));
        let d2 = driver.clone();
        let s2 = s.clone();
        race_two(
            move || {
                if let InsertOutcome::Refused(target) = d2.insert(key, TimerTarget::Start(entry)) {
                    drop(target);
                }
            },
            // Shutdown: close the owner list and abort what is listed, then drain the timers.
            move || {
                for t in s2.owned.close_and_collect() {
                    t.abort();
                }
            },
            || drop(driver.drain()),
        );
        // Whatever a drain that ran before the insert missed, a second one (or the refusal)
        // accounts for: nothing may stay pending after shutdown's drain.
        assert!(!driver.has_pending(), "a start entry outlived the drain");
        assert_cancelled_and_released(&s, &c, h, 0);
    });
}

/// Defect 9: `block_on` registers its scheduler with the runtime, then spawns into it, while
/// a shutdown closes and aborts every registered scheduler. Either the spawn lands before the
/// close (the task is cancelled: drop_arg once) or it is refused with the body handed back
/// untouched (drop_arg never called): never both, never neither.
#[test]
fn loom_block_on_spawn_vs_shutdown() {
    model(|| {
        let sched = crate::core::local_scheduler::LocalScheduler::new(None, None);
        let c = Arc::new(Counters::default());
        let s2 = sched.clone();
        let ((), spawned) = race(
            move || s2.abort_all(),
            || match sched.spawn(TestBody::new(Script::Ready, &c), Joining::Handle) {
                Ok(h) => Some(h.expect("handle")),
                Err((_, body)) => {
                    // What block_on hands back to its caller: the caller still owns the state,
                    // untouched, and releases it itself (the one drop counted below).
                    assert_eq!(c.drops(), 0);
                    drop(body);
                    None
                }
            },
        );
        // The owner thread runs what was queued (an abort of a thread-bound task is carried out
        // here), then closes.
        sched.run(usize::MAX).unwrap();
        let parker = Parker::new();
        sched.close(&parker).unwrap();
        match spawned {
            Some(h) => {
                let o = outcome(&h).expect("complete");
                assert!(o == Outcome::Cancelled || o == Outcome::Ok, "{o:?}");
                if o == Outcome::Ok {
                    consume_output(take_output(&h));
                }
                assert_eq!(c.drops(), 1);
                drop_handle(h);
            }
            None => assert_eq!(c.drops(), 1, "released by the caller only"),
        }
        assert_eq!(sched.owned.len(), 0);
    });
}

/// A fork-join job push by a worker whose `a` half then blocks until the job (`b`) has run
/// elsewhere (`a` waits for something `b` does): the idle worker must be woken for the job.
/// The push is a plain store; a check of the idle word that is not ordered after it (no
/// fence) can read "nobody sleeps" while the sleeper's re-check reads "no job" (store
/// buffering), and both wait forever.
#[test]
fn loom_job_push_wakes_idle_worker() {
    model(|| {
        let (pool, idle_worker) = Pool::start(2, 1..2);
        // Worker 0 (this thread) pushes `b`, then runs an `a` that waits for `b`.
        pool.push_job();
        pool.finish(1, idle_worker);
    });
}

/// The parker (`core::park`): an unpark racing with a park is never lost (loom reports the
/// deadlock), and what the unparker wrote before `unpark` is visible, even through a relaxed
/// load, once `park` returns for it; two unparks leave at most one token, so the parked thread
/// returns once for both and nothing else breaks.
#[test]
fn loom_parker_unpark_vs_park() {
    model(|| {
        let parker = Arc::new(Parker::new());
        let written = Arc::new(AtomicUsize::new(0));
        let unparker = {
            let (parker, written) = (parker.clone(), written.clone());
            thread::spawn(move || {
                written.store(1, std::sync::atomic::Ordering::Relaxed);
                parker.unpark();
                parker.unpark();
            })
        };
        while written.load(std::sync::atomic::Ordering::Relaxed) == 0 {
            parker.park(None);
        }
        unparker.join().unwrap();
    });
}

//! Fork-join on a real runtime, from Rust: join2 recursion (inside a worker and from outside),
//! parallel_for coverage and failure, scopes with real tasks, the latch on its own, and the
//! shutdown refusal. (The C tests in c-tests/fj_*.c cover the C API; loom_fork_join the races.)

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use super::support::*;
use crate::core::fork_join::latch::{CountLatch, Latch};
use crate::core::fork_join::parallel_for::parallel_for;
use crate::core::fork_join::runtime::{Shutdown, join2};
use crate::core::fork_join::scope::Scope;
use crate::core::runtime::{Config, Runtime};
use crate::core::sync::Arc;
use crate::core::task::Outcome;

fn runtime(workers: usize) -> Arc<Runtime> {
    let config = Config {
        worker_threads: workers,
        ..Config::default()
    };
    Runtime::build(config, false).expect("threads start")
}

fn fib(rt: &Runtime, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = join2(rt, || fib(rt, n - 1), || fib(rt, n - 2)).unwrap();
    a + b
}

#[test]
fn join2_fib_from_outside_and_on_one_worker() {
    for workers in [1, 3] {
        let rt = runtime(workers);
        assert_eq!(fib(&rt, 18), 2584);
        assert_eq!(rt.metrics().spawned, 0, "join2 halves are not tasks");
        rt.shutdown_and_join();
    }
}

#[test]
fn parallel_for_covers_once_and_stops_on_failure() {
    let rt = runtime(2);
    for (len, grain) in [
        (0u64, 0u64),
        (1, 1),
        (257, 3),
        (10_000, 0),
        (10_000, 10_001),
    ] {
        let hits: Vec<AtomicU8> = (0..len).map(|_| AtomicU8::new(0)).collect();
        let body = |b: u64, e: u64| {
            assert!(b < e && e - b >= grain.max(1).min(len));
            for i in b..e {
                hits[(i - 100) as usize].fetch_add(1, SeqCst);
            }
            true
        };
        let r = parallel_for(&rt, 100, 100 + len, grain, &body);
        assert_eq!(r, Ok(Outcome::Ok));
        assert!(hits.iter().all(|h| h.load(SeqCst) == 1));
    }
    let calls = AtomicUsize::new(0);
    let fail_first = |b: u64, _e: u64| {
        calls.fetch_add(1, SeqCst);
        b != 0
    };
    assert_eq!(
        parallel_for(&rt, 0, 1 << 20, 1, &fail_first),
        Ok(Outcome::Failed)
    );
    assert!(calls.load(SeqCst) < 1 << 20);
    rt.shutdown_and_join();
}

#[test]
fn scope_runs_real_tasks_and_waits_for_their_drops() {
    let rt = runtime(2);
    let c = Arc::new(Counters::default());
    let r = Scope::run(&rt, |s| {
        for _ in 0..50 {
            assert!(s.spawn(TestBody::new(Script::Run, &c)).is_ok());
        }
        true
    });
    assert_eq!(r, Ok(Outcome::Ok));
    assert_eq!(c.drops(), 50);
    assert_eq!(c.outputs_dropped(), 50);
    assert_eq!(rt.metrics().spawned, 50, "scope tasks are tasks");
    // A cancelled scope drops later spawns at once.
    let r = Scope::run(&rt, |s| {
        s.cancel();
        assert!(s.spawn(TestBody::new(Script::Run, &c)).is_ok());
        true
    });
    assert_eq!(r, Ok(Outcome::Cancelled));
    assert_eq!(c.drops(), 51);
    assert_eq!(rt.shutdown(None), Ok(()));
    assert!(matches!(Scope::run(&rt, |_| true), Err(Shutdown)));
    assert_eq!(join2(&rt, || 1, || 2).err(), Some(Shutdown));
    assert_eq!(
        parallel_for(&rt, 0, 10, 1, &|_, _| panic!("never called")),
        Err(Shutdown)
    );
    rt.shutdown_and_join();
}

#[test]
fn latch_wakes_a_parked_waiter() {
    let latch = Arc::new(CountLatch::new());
    latch.inc();
    let setter = {
        let latch = latch.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            // SAFETY: the count taken by `inc` above; the latch is kept alive by the Arc.
            unsafe { CountLatch::dec(&*latch) };
        })
    };
    // SAFETY: the waiter's own count.
    unsafe { CountLatch::dec(&*latch) };
    let parker = crate::core::park::current();
    assert!(latch.latch().wait_parked(&parker, None));
    setter.join().unwrap();
    // A timed wait on a latch nobody sets returns false.
    let l = Latch::new();
    let deadline = std::time::Instant::now() + Duration::from_millis(5);
    assert!(!l.wait_parked(&parker, Some(deadline)));
    assert!(!l.probe());
}

//! The runtime with real threads: spawn, join (parked and helping), yield, blocking pool,
//! shutdown with queued/idle tasks, metrics, and teardown leaving no thread behind.

use std::time::{Duration, Instant};

use super::support::*;
use crate::core::runtime::wait::wait_for_task;
use crate::core::runtime::{Config, Runtime};
use crate::core::sync::Arc;
use crate::core::task::{JoinHandle, Joining, Outcome, Placement, waker};

/// Spawns a task with a handle (the runtime is open).
fn spawn(rt: &Arc<Runtime>, script: Script, placement: Placement, c: &Arc<Counters>) -> JoinHandle {
    let spawned = rt.spawn(TestBody::new(script, c), placement, Joining::Handle);
    spawned.ok().unwrap().unwrap()
}

/// Waits for the task (helping on a worker, parking elsewhere); its outcome, None on timeout.
fn join_task(h: &JoinHandle, deadline: Option<Instant>) -> Option<Outcome> {
    wait_for_task(h, deadline);
    h.outcome()
}

/// Small under miri, which runs threads slowly.
fn n(full: usize) -> usize {
    if cfg!(miri) { full / 100 + 2 } else { full }
}

fn runtime(workers: usize) -> Arc<Runtime> {
    let config = Config {
        worker_threads: workers,
        blocking_keep_alive: Duration::from_millis(20),
        ..Config::default()
    };
    Runtime::build(config, false).expect("threads start")
}

#[test]
fn spawn_and_join_many_from_outside() {
    let rt = runtime(2);
    let c = Arc::new(Counters::default());
    let handles: Vec<_> = (0..n(2000))
        .map(|i| {
            let script = if i % 2 == 0 {
                Script::Run
            } else {
                Script::Yield(2)
            };
            spawn(&rt, script, Placement::Worker, &c)
        })
        .collect();
    for h in handles {
        assert_eq!(join_task(&h, None), Some(Outcome::Ok));
        consume_output(take_output(&h));
        drop_handle(h);
    }
    assert_eq!(c.drops(), n(2000));
    let m = rt.metrics();
    assert_eq!(m.spawned, n(2000) as u64);
    assert_eq!(m.completed, n(2000) as u64);
    assert_eq!(m.alive, 0);
    rt.shutdown_and_join();
}

#[test]
fn join_with_deadline_times_out_then_succeeds() {
    let rt = runtime(1);
    let c = Arc::new(Counters::default());
    let h = spawn(&rt, Script::UntilFlag, Placement::Worker, &c);
    let start = Instant::now();
    let deadline = start + Duration::from_millis(20);
    assert_eq!(join_task(&h, Some(deadline)), None);
    assert!(start.elapsed() >= Duration::from_millis(20));
    c.set_flag();
    waker::task_waker(h.clone()).wake();
    assert_eq!(join_task(&h, None), Some(Outcome::Ok));
    drop_handle(h);
    rt.shutdown_and_join();
    assert_eq!(c.outputs_dropped(), 1);
}

#[test]
fn blocking_pool_runs_tasks_and_threads_exit_after_keep_alive() {
    let rt = runtime(1);
    let c = Arc::new(Counters::default());
    let handles: Vec<_> = (0..4)
        .map(|_| spawn(&rt, Script::Run, Placement::Blocking, &c))
        .collect();
    for h in handles {
        assert_eq!(join_task(&h, None), Some(Outcome::Ok));
        drop_handle(h);
    }
    assert_eq!(rt.metrics().polls, 4, "the four blocking runs are counted");
    let deadline = Instant::now() + Duration::from_secs(5);
    while rt.metrics().blocking_threads > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        rt.metrics().blocking_threads,
        0,
        "idle blocking threads exit"
    );
    rt.shutdown_and_join();
}

#[test]
fn shutdown_cancels_idle_tasks_and_refuses_spawns() {
    let rt = runtime(2);
    let c = Arc::new(Counters::default());
    let handles: Vec<_> = (0..n(200))
        .map(|_| spawn(&rt, Script::UntilFlag, Placement::Worker, &c))
        .collect();
    // Let them all be polled once and go idle.
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.polls() < n(200) && Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert_eq!(rt.shutdown(Some(Duration::from_secs(10))), Ok(()));
    for h in &handles {
        assert_eq!(join_task(h, None), Some(Outcome::Cancelled));
    }
    assert_eq!(c.drops(), n(200));
    let refused = rt.spawn(
        TestBody::new(Script::Run, &c),
        Placement::Worker,
        Joining::Handle,
    );
    assert!(refused.is_err());
    drop(refused);
    rt.shutdown_and_join();
    for h in handles {
        drop_handle(h);
    }
    assert_eq!(rt.metrics().cancelled, n(200) as u64);
}

#[test]
fn runtimes_come_and_go_without_leaving_threads() {
    for _ in 0..n(50) {
        let rt = runtime(2);
        let c = Arc::new(Counters::default());
        let h = spawn(&rt, Script::Run, Placement::Worker, &c);
        assert_eq!(join_task(&h, None), Some(Outcome::Ok));
        drop_handle(h);
        rt.shutdown_and_join();
        assert_eq!(
            Arc::strong_count(&rt),
            1,
            "every runtime thread released its reference"
        );
    }
}

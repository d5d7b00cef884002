//! A round: fresh runtimes and an empty ledger at the start; at the end, once every thread
//! released what it held, everything the round created is freed and settled, the default
//! runtime's metrics are compared with the ledger, and the ledger is reset. Rounds keep the
//! ledger small in long runs and give the fuzzer one round per input.

use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use tasks::ffi::abort_handle::tasks_abort_handle_free;
use tasks::ffi::join_handle::{tasks_join_handle_free, tasks_join_handle_join};
use tasks::ffi::runtime::tasks_metrics;
use tasks::ffi::runtime::{tasks_runtime_default, tasks_runtime_metrics};
use tasks::ffi::status::TASKS_FOREVER;

use super::draw::Draw;
use super::ledger::{SENTINEL, ledger};
use super::pool;
use super::watchdog::Track;
use super::world::{Rt, World, check_metrics};

fn default_metrics() -> tasks_metrics {
    let mut m = tasks_metrics::default();
    // SAFETY: the default runtime lives forever.
    unsafe { tasks_runtime_metrics(tasks_runtime_default(), &mut m) };
    m
}

/// Starts a round of `ops` operations; returns the default runtime's metrics at its start.
pub fn begin(world: &World, ops: usize, d: &mut impl Draw) -> tasks_metrics {
    for slot in world.slots.iter() {
        *slot.write().unwrap() = Rt::create(d, world.skip.allows("small_stacks"));
    }
    world.budget.store(ops, SeqCst);
    default_metrics()
}

/// Ends the round (every actor has run `cleanup`); returns the violations it collected, split
/// into failures and those of the known defects in `allowed`.
pub fn finish(
    world: &World,
    baseline: &tasks_metrics,
    track: &Track,
    settle: Duration,
    allowed: &[u32],
) -> (Vec<String>, Vec<String>) {
    let l = ledger();
    world.budget.store(0, SeqCst);
    track.begin(None, "round end: shared handles");
    for mut held in std::mem::take(&mut *world.shared.lock().unwrap()) {
        let mut out = SENTINEL;
        // Executor tasks of freed executors are cancelled: a join returns at once.
        let timeout = if held.exec_owner.is_some() {
            0
        } else {
            TASKS_FOREVER
        };
        // SAFETY: a handle the harness owns, joined then freed once.
        unsafe {
            let st = tasks_join_handle_join(held.h as *mut _, timeout, &mut out);
            if matches!(st as i32, 0 | 3 | 4) {
                l.on_join(held.serial, st as i32, out, false, held.done.is_none());
                held.done = Some(st as i32);
            }
            tasks_join_handle_free(held.h as *mut _);
        }
    }
    for (a, _) in std::mem::take(&mut *world.aborts.lock().unwrap()) {
        // SAFETY: pooled abort handles, freed once.
        unsafe { tasks_abort_handle_free(a as *mut _) };
    }
    track.begin(None, "round end: freeing runtimes");
    for slot in world.slots.iter() {
        if let Some(rt) = slot.write().unwrap().take() {
            rt.free();
        }
    }
    track.begin(
        None,
        "round end: waiting for the default runtime's tasks to settle",
    );
    let start = Instant::now();
    let mut m = default_metrics();
    loop {
        pool::drain();
        let unsettled = l.first_unsettled(None);
        m = if unsettled.is_none() {
            default_metrics()
        } else {
            m
        };
        if unsettled.is_none() && m.alive == 0 {
            break;
        }
        if start.elapsed() > settle {
            l.fail(format!(
                "round end: not settled after {settle:?}: {} (default runtime alive: {})",
                unsettled.unwrap_or_else(|| "ledger settled".into()),
                m.alive
            ));
            break;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let delta = tasks_metrics {
        spawned: m.spawned - baseline.spawned,
        completed: m.completed - baseline.completed,
        failed: m.failed - baseline.failed,
        cancelled: m.cancelled - baseline.cancelled,
        ..m
    };
    check_metrics(&delta, 0, Some(l.tally(0)), 0);
    track.end();
    let v = l.take_split(allowed);
    l.next_round();
    v
}

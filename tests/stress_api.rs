//! Randomized API-sequence stress test over the C functions (issue 8, "the net").
//!
//! Several threads draw random operations (every kind of spawn, joins with random timeouts,
//! poll-joins, aborts, wakers, join sets, local executors, block_on, block_in_place, runtime
//! shutdown and free, metrics) on the default runtime and a few runtimes of their own, in
//! rounds. A watchdog ends the run on any hang; at each round's end the ledger must balance
//! exactly (see tests/support/ledger.rs).
//!
//! Environment:
//!   STRESS_SEED     seed (default: fixed, so CI draws the same operations each run)
//!   STRESS_OPS      operations in all (default 1000000, capped by STRESS_SECS)
//!   STRESS_SECS     stop drawing after this many seconds (default 20)
//!   STRESS_THREADS  harness threads (default 4)
//!   STRESS_ROUND    operations per round (default 20000)
//!   STRESS_HANG     seconds without progress that count as a hang (default 20)
//!   STRESS_SKIP     comma-separated operation/body kinds to leave out (default none)
//!                   (also "small_stacks": runtimes with 256 KiB thread stacks)
//!   STRESS_ONLY     comma-separated kinds to keep, all others left out (to narrow a finding)
//!   STRESS_ALLOW_DEFECTS  comma-separated issue-8 defect numbers whose violations are printed
//!                   but do not fail the run (default none; for working on a core that has them)
//!
//! Violations carry the issue-8 defect number they belong to, "(defect N)"; 16-18 are defects
//! this harness found beyond issue 8's list: 16, a tasks_runtime_shutdown that returned while a
//! concurrent first one had not yet closed the runtime (a block_on after it was accepted; fixed:
//! the closing runs under a lock); 17, a shut-down runtime's metrics counting more tasks than
//! were accepted (a race in this harness, not the core: a join-set spawn now holds its
//! runtime's slot like every other spawn); 18, a metrics snapshot whose outcome counters
//! exceeded `spawned` (fixed with defect 11: outcome counters are read before `spawned`).
//! The default configuration exercises everything and must run green; STRESS_ALLOW_DEFECTS
//! and STRESS_SKIP are for narrowing a finding.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::actor::Actor;
use support::api_ops::{Op, all_names};
use support::draw::Rng;
use support::ledger;
use support::watchdog::{self, Track};
use support::world::{Skip, World};
use support::{pool, round};

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v}: not a number")),
        Err(_) => default,
    }
}

const SLOTS: u8 = 3;

#[test]
fn stress_api() {
    let seed: u64 = env("STRESS_SEED", 0x5eed_0001);
    let ops: usize = env("STRESS_OPS", 1_000_000);
    let secs: u64 = env("STRESS_SECS", 20);
    let threads: usize = env("STRESS_THREADS", 4).max(1);
    let round_ops: usize = env("STRESS_ROUND", 20_000).max(1);
    let hang = Duration::from_secs(env("STRESS_HANG", 20));
    let mut skip_list = std::env::var("STRESS_SKIP").unwrap_or_default();
    if let Ok(only) = std::env::var("STRESS_ONLY") {
        let keep: Vec<&str> = only.split(',').map(str::trim).collect();
        let rest: Vec<&str> = all_names()
            .into_iter()
            .filter(|n| !keep.contains(n))
            .collect();
        skip_list = rest.join(",");
    }
    let skip = Skip::parse(&skip_list);
    let allowed: Vec<u32> = std::env::var("STRESS_ALLOW_DEFECTS")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .parse()
                .expect("STRESS_ALLOW_DEFECTS: defect numbers")
        })
        .collect();
    for name in skip_list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        assert!(
            all_names().contains(&name),
            "STRESS_SKIP: unknown kind {name}; known: {:?}",
            all_names()
        );
    }

    support::program::set_skipped(&|b| skip.allows(support::api_ops::body_name(b)));
    // Serials per round: each operation spawns at most a task with up to four children.
    ledger::init(round_ops * 6 + 1024);
    pool::start_waker_thread(seed);
    let world: &'static World = Box::leak(Box::new(World::new(threads, SLOTS as usize, skip)));
    let tracks: Vec<_> = (0..threads)
        .map(|i| Track::new(format!("thread {i}")))
        .collect();
    let main_track = Track::new("main".into());
    let context = Arc::new(Mutex::new(format!("STRESS_SEED={seed}")));
    let mut all = tracks.clone();
    all.push(main_track.clone());
    watchdog::start(all, hang, context.clone());

    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut done = 0usize;
    let mut rounds = 0u64;
    let mut tasks_spawned = 0usize;
    while done < ops && Instant::now() < deadline {
        let this_round = round_ops.min(ops - done);
        *context.lock().unwrap() =
            format!("STRESS_SEED={seed} round {rounds}, STRESS_SKIP={skip_list:?}");
        let mut rng = Rng::new(seed ^ rounds.wrapping_mul(0x9E37_79B9));
        let baseline = round::begin(world, this_round, &mut rng);
        let before: u64 = tracks
            .iter()
            .map(|t| t.ops.load(std::sync::atomic::Ordering::SeqCst))
            .sum();
        std::thread::scope(|s| {
            for (i, track) in tracks.iter().enumerate() {
                let track = track.clone();
                let thread_seed =
                    seed ^ (rounds << 32) ^ (i as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407);
                s.spawn(move || {
                    let mut rng = Rng::new(thread_seed);
                    let mut actor = Actor::new(i, world);
                    while Instant::now() < deadline && world.claim() {
                        let op = Op::draw(&mut rng, &world.skip, SLOTS);
                        track.begin(Some(op), "operation");
                        actor.exec(op, &mut rng);
                        track.end();
                    }
                    track.begin(None, "thread cleanup");
                    actor.cleanup();
                    track.end();
                });
            }
        });
        tasks_spawned += ledger::ledger().serials();
        let (violations, known) = round::finish(world, &baseline, &main_track, hang / 2, &allowed);
        for k in known {
            println!("stress: round {rounds}: known defect (STRESS_ALLOW_DEFECTS): {k}");
        }
        let after: u64 = tracks
            .iter()
            .map(|t| t.ops.load(std::sync::atomic::Ordering::SeqCst))
            .sum();
        done += (after - before) as usize - threads; // each thread's cleanup counts as a step
        if !violations.is_empty() {
            let recent: String = tracks.iter().map(|t| t.describe()).collect();
            panic!(
                "stress: {} violation(s) in round {rounds} (STRESS_SEED={seed}, STRESS_SKIP={skip_list:?}):\n{}\n{recent}",
                violations.len(),
                violations.join("\n")
            );
        }
        rounds += 1;
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "stress: {done} operations ({tasks_spawned} tasks) in {rounds} rounds, {threads} threads, {elapsed:.1} s ({:.0} ops/s), STRESS_SEED={seed}",
        done as f64 / elapsed
    );
    assert!(done > 0, "no operation ran");
}

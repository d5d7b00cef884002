//! Fuzz target: the input is a sequence of C API operations (the stress harness's language,
//! tests/support/), executed by one driver thread while the runtimes' workers do the rest.
//! Each input is one round: fresh runtimes, at most `MAX_OPS` operations, then everything is
//! released and the ledger must balance exactly (drop_arg once per task, every output taken
//! or dropped once, metrics equal to the ledger, no callback after a free). A violation panics
//! (a libFuzzer crash); a hang ends the process through the watchdog (or libFuzzer's -timeout).
//!
//! Environment: FUZZ_SKIP (kinds to leave out, as STRESS_SKIP), FUZZ_ALLOW_DEFECTS (as
//! STRESS_ALLOW_DEFECTS), FUZZ_HANG (seconds, default 10), FUZZ_PRINT=1 (print each operation:
//! with `cargo fuzz run api_ops <artifact>` it turns a finding into its operation sequence).
#![no_main]

#[path = "../../tests/support/mod.rs"]
mod support;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use support::actor::Actor;
use support::api_ops::{Op, body_name};
use support::draw::Bytes;
use support::watchdog::{self, Track};
use support::world::{Skip, World};
use support::{ledger, pool, program, round};

/// Operations per input: keeps each input short and bounded in time.
const MAX_OPS: usize = 64;
const SLOTS: u8 = 2;

struct Fuzz {
    world: &'static World,
    track: Arc<Track>,
    allowed: Vec<u32>,
    print: bool,
}

fn setup() -> &'static Fuzz {
    static FUZZ: OnceLock<Fuzz> = OnceLock::new();
    FUZZ.get_or_init(|| {
        let skip = Skip::parse(&std::env::var("FUZZ_SKIP").unwrap_or_default());
        program::set_skipped(&|b| skip.allows(body_name(b)));
        let allowed = std::env::var("FUZZ_ALLOW_DEFECTS")
            .unwrap_or_default()
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        let hang: u64 = std::env::var("FUZZ_HANG")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10);
        // Each operation spawns at most a task and four children.
        ledger::init(MAX_OPS * 6 + 64);
        pool::start_waker_thread(0);
        let track = Track::new("driver".into());
        watchdog::start(
            vec![track.clone()],
            Duration::from_secs(hang),
            Arc::new(Mutex::new("fuzz input".into())),
        );
        let print = std::env::var("FUZZ_PRINT").is_ok_and(|v| v == "1");
        Fuzz {
            world: Box::leak(Box::new(World::new(1, SLOTS as usize, skip))),
            track,
            allowed,
            print,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = setup();
    let mut d = Bytes::new(data);
    let baseline = round::begin(f.world, usize::MAX, &mut d);
    let mut actor = Actor::new(0, f.world);
    for _ in 0..MAX_OPS {
        if d.is_empty() {
            break;
        }
        let op = Op::draw(&mut d, &f.world.skip, SLOTS);
        if f.print {
            eprintln!("fuzz op: {op:?}");
        }
        f.track.begin(Some(op), "operation");
        actor.exec(op, &mut d);
        f.track.end();
    }
    f.track.begin(None, "cleanup");
    actor.cleanup();
    f.track.end();
    let (failures, _known) = round::finish(
        f.world,
        &baseline,
        &f.track,
        Duration::from_secs(5),
        &f.allowed,
    );
    if !failures.is_empty() {
        panic!(
            "{} violation(s):\n{}\n{}",
            failures.len(),
            failures.join("\n"),
            f.track.describe()
        );
    }
});

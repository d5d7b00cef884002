//! The watchdog: any participant (harness thread, or the main thread settling a round) busy in
//! one step for longer than the hang limit is a hang. It prints the seed, every participant's
//! current step and last operations, and what the ledger still waits for, then ends the
//! process (a hung thread cannot be joined, so the test cannot fail any other way).

use std::collections::VecDeque;
use std::io::Write;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::api_ops::Op;
use super::ledger::{ledger, now_ns};
use super::pool;

const RECENT: usize = 12;

pub struct Track {
    pub name: String,
    busy: AtomicBool,
    since: AtomicU64,
    pub ops: AtomicU64,
    recent: Mutex<(VecDeque<Op>, &'static str)>,
}

impl Track {
    pub fn new(name: String) -> Arc<Track> {
        Arc::new(Track {
            name,
            busy: AtomicBool::new(false),
            since: AtomicU64::new(0),
            ops: AtomicU64::new(0),
            recent: Mutex::new((VecDeque::with_capacity(RECENT), "idle")),
        })
    }

    /// Starts one step: an operation, or a named phase.
    pub fn begin(&self, op: Option<Op>, phase: &'static str) {
        let mut r = self.recent.lock().unwrap();
        if let Some(op) = op {
            if r.0.len() == RECENT {
                r.0.pop_front();
            }
            r.0.push_back(op);
        }
        r.1 = phase;
        drop(r);
        self.since.store(now_ns(), SeqCst);
        self.busy.store(true, SeqCst);
    }

    pub fn end(&self) {
        self.busy.store(false, SeqCst);
        self.ops.fetch_add(1, SeqCst);
    }

    /// The last operations, oldest first.
    pub fn describe(&self) -> String {
        let r = self.recent.lock().unwrap();
        let busy = self.busy.load(SeqCst);
        let for_ms = (now_ns().saturating_sub(self.since.load(SeqCst))) / 1_000_000;
        let mut s = format!(
            "  {}: {} ({}), {} ops done; last operations, oldest first:\n",
            self.name,
            if busy {
                format!("busy for {for_ms} ms")
            } else {
                "idle".into()
            },
            r.1,
            self.ops.load(SeqCst)
        );
        for op in r.0.iter() {
            s += &format!("    {op:?}\n");
        }
        s
    }
}

/// Starts the watchdog thread over `tracks`; `context` names the run (seed, round).
pub fn start(tracks: Vec<Arc<Track>>, hang: Duration, context: Arc<Mutex<String>>) {
    std::thread::Builder::new()
        .name("stress-watchdog".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(100));
                let now = now_ns();
                let stuck = tracks.iter().find(|t| {
                    t.busy.load(SeqCst)
                        && now.saturating_sub(t.since.load(SeqCst)) > hang.as_nanos() as u64
                });
                if let Some(t) = stuck {
                    report(&tracks, t, hang, &context.lock().unwrap());
                    std::process::exit(3);
                }
            }
        })
        .expect("watchdog thread");
}

fn report(tracks: &[Arc<Track>], stuck: &Track, hang: Duration, context: &str) {
    let mut s = format!(
        "\n==== stress watchdog: {} made no progress for {:?}: a hang ({context}) ====\n",
        stuck.name, hang
    );
    for t in tracks {
        s += &t.describe();
    }
    let l = ledger();
    s += &format!(
        "waker pool: {} wakers; ledger: {} serials this round, first unsettled: {}\n",
        pool::len(),
        l.serials(),
        l.first_unsettled(None).unwrap_or_else(|| "none".into())
    );
    for v in l.take_violations() {
        s += &format!("violation: {v}\n");
    }
    // Straight to the file descriptor: the test harness captures print!/eprint! output, and
    // this process is about to end without returning to it.
    let _ = std::io::stderr().write_all(s.as_bytes());
}

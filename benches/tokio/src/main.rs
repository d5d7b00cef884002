//! The tokio side of the libtasks scheduler benchmarks: the same workloads as `benches/c/bench.c`,
//! on tokio's multi-threaded runtime, in the same units and output format.
//!
//! Usage: `tokio-bench [WORKERS] [WORKLOAD...]`
//!   WORKERS   worker threads (else env BENCH_WORKERS, else the number of CPUs)
//!   WORKLOAD  run only these (spawn_many_remote spawn_many_local yield_many ping_pong chained_spawn fib)
//! Env: BENCH_ITERS=R measures exactly R iterations per workload (after one warm-up);
//!      otherwise iterations run until BENCH_TIME_MS (default 1000) have passed (at least 5).
//!      BENCH_FIB_N=n runs fib(n) instead of fib(30) (for quick checks).
//! Stdout: one line per workload, `tokio <workload> <ns_per_unit>`; details go to stderr.
//!
//! Workloads mirror tokio's own `benches/rt_multi_threaded.rs`. To compare schedulers rather
//! than closure captures, the shared counter and the "done" signal are statics (the C side uses
//! globals): a trivial task captures nothing, and the last task to finish sets a latch
//! (mutex + condvar) that the main thread waits on, where tokio's bench uses an mpsc sync channel.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use tokio::runtime::{self, Runtime};
use tokio::sync::oneshot;

const NUM_SPAWN: usize = 10_000;
const YIELD_TASKS: usize = 200;
const NUM_YIELD: usize = 1_000;
const NUM_PINGS: usize = 1_000;
const CHAIN_LEN: usize = 1_000;
const FIB_N_DEFAULT: u64 = 30;

const MIN_ITERS: usize = 5;
const MAX_ITERS: usize = 1_000_000;

/// A one-shot event the main thread waits on (reset by the wait).
struct Latch {
    done: Mutex<bool>,
    cv: Condvar,
}

impl Latch {
    const fn new() -> Self {
        Latch { done: Mutex::new(false), cv: Condvar::new() }
    }
    fn set(&self) {
        *self.done.lock().unwrap() = true;
        self.cv.notify_one();
    }
    fn wait(&self) {
        let mut g = self.done.lock().unwrap();
        while !*g {
            g = self.cv.wait(g).unwrap();
        }
        *g = false;
    }
}

static REM: AtomicUsize = AtomicUsize::new(0);
static LATCH: Latch = Latch::new();

/// The trivial task body: count down; the last one signals the main thread.
fn count_down() {
    if REM.fetch_sub(1, Relaxed) == 1 {
        LATCH.set();
    }
}

struct Config {
    workers: usize,
    iters: Option<usize>,
    target: Duration,
    fib_n: u64,
    only: Vec<String>,
}

fn measure(cfg: &Config, name: &str, units: u64, unit_name: &str, mut iteration: impl FnMut()) {
    if !cfg.only.is_empty() && !cfg.only.iter().any(|w| w == name) {
        return;
    }
    iteration(); // warm-up
    let mut samples: Vec<u128> = Vec::new();
    let start = Instant::now();
    loop {
        let t = Instant::now();
        iteration();
        samples.push(t.elapsed().as_nanos());
        let n = samples.len();
        let enough = match cfg.iters {
            Some(r) => n >= r,
            None => (n >= MIN_ITERS && start.elapsed() >= cfg.target) || n >= MAX_ITERS,
        };
        if enough {
            break;
        }
    }
    samples.sort_unstable();
    let n = samples.len();
    let median = if n % 2 == 1 {
        samples[n / 2] as f64
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) as f64 / 2.0
    };
    println!("tokio {name} {:.1}", median / units as f64);
    eprintln!(
        "# tokio {name}: {n} iterations, median {:.3} ms/iteration, {units} {unit_name}/iteration, min {:.3} ms, max {:.3} ms",
        median / 1e6,
        samples[0] as f64 / 1e6,
        samples[n - 1] as f64 / 1e6
    );
}

/// spawn_many_remote: 10,000 trivial tasks spawned from the main thread (not a worker), then
/// every JoinHandle awaited (tokio's `spawn_many_remote_idle`).
fn spawn_many_remote(cfg: &Config, rt: &Runtime) {
    let mut handles = Vec::with_capacity(NUM_SPAWN);
    measure(cfg, "spawn_many_remote", NUM_SPAWN as u64, "tasks", || {
        REM.store(NUM_SPAWN, Relaxed);
        for _ in 0..NUM_SPAWN {
            handles.push(rt.spawn(async {
                REM.fetch_sub(1, Relaxed);
            }));
        }
        rt.block_on(async {
            for h in handles.drain(..) {
                h.await.unwrap();
            }
        });
        assert_eq!(REM.load(Relaxed), 0);
    });
}

/// spawn_many_local: one task on the runtime spawns 10,000 trivial detached tasks; the last one
/// to run signals the main thread.
fn spawn_many_local(cfg: &Config, rt: &Runtime) {
    measure(cfg, "spawn_many_local", NUM_SPAWN as u64, "tasks", || {
        REM.store(NUM_SPAWN, Relaxed);
        let root = rt.spawn(async {
            for _ in 0..NUM_SPAWN {
                tokio::spawn(async { count_down() });
            }
        });
        LATCH.wait();
        rt.block_on(root).unwrap();
    });
}

/// yield_many: 200 tasks spawned from the main thread, each yielding 1,000 times.
fn yield_many(cfg: &Config, rt: &Runtime) {
    measure(cfg, "yield_many", (YIELD_TASKS * NUM_YIELD) as u64, "yields", || {
        REM.store(YIELD_TASKS, Relaxed);
        for _ in 0..YIELD_TASKS {
            rt.spawn(async {
                for _ in 0..NUM_YIELD {
                    tokio::task::yield_now().await;
                }
                count_down();
            });
        }
        LATCH.wait();
    });
}

/// ping_pong: a task spawns 1,000 tasks; each spawns a peer, sends it a message on a oneshot and
/// waits for the answer on another oneshot.
fn ping_pong(cfg: &Config, rt: &Runtime) {
    measure(cfg, "ping_pong", NUM_PINGS as u64, "pairs", || {
        REM.store(NUM_PINGS, Relaxed);
        let root = rt.spawn(async {
            for _ in 0..NUM_PINGS {
                tokio::spawn(async {
                    let (tx1, rx1) = oneshot::channel::<()>();
                    let (tx2, rx2) = oneshot::channel::<()>();
                    tokio::spawn(async move {
                        rx1.await.unwrap();
                        tx2.send(()).unwrap();
                    });
                    tx1.send(()).unwrap();
                    rx2.await.unwrap();
                    count_down();
                });
            }
        });
        LATCH.wait();
        rt.block_on(root).unwrap();
    });
}

/// chained_spawn: a chain of 1,000 tasks, each spawning the next; the last signals.
fn chained_spawn(cfg: &Config, rt: &Runtime) {
    fn iter(n: usize) {
        if n == 0 {
            LATCH.set();
        } else {
            tokio::spawn(async move { iter(n - 1) });
        }
    }
    measure(cfg, "chained_spawn", CHAIN_LEN as u64, "tasks", || {
        rt.spawn(async { iter(CHAIN_LEN) });
        LATCH.wait();
    });
}

fn fib(n: u64) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    Box::pin(async move {
        if n < 2 {
            return n;
        }
        let a = tokio::spawn(fib(n - 1));
        let b = tokio::spawn(fib(n - 2));
        a.await.unwrap() + b.await.unwrap()
    })
}

/// Number of fib tasks for fib(n) with no cutoff, the root included: C(n) = C(n-1) + C(n-2) + 1.
fn fib_task_count(n: u64) -> u64 {
    let (mut a, mut b) = (1u64, 1u64); // C(0), C(1)
    for _ in 1..n {
        let c = a + b + 1;
        a = b;
        b = c;
    }
    if n == 0 { a } else { b }
}

/// fib(30) fork-join: every call is a task that spawns its two children and awaits both.
fn fib_value(n: u64) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}

fn fib_bench(cfg: &Config, rt: &Runtime) {
    let n = cfg.fib_n;
    let tasks = fib_task_count(n);
    if cfg.only.is_empty() || cfg.only.iter().any(|w| w == "fib") {
        eprintln!("# tokio fib({n}): {tasks} tasks per iteration");
    }
    let expected = fib_value(n);
    measure(cfg, "fib", tasks, "tasks", || {
        let v = rt.block_on(rt.spawn(fib(n))).unwrap();
        assert_eq!(v, expected);
    });
}

/// Resident memory per task that waits: spawned, polled once, pending (never woken), on a runtime
/// of its own; growth of the resident set over the task count (see bench.c's memory_pending).
fn memory_pending(cfg: &Config) {
    if !(cfg.only.is_empty() || cfg.only.iter().any(|w| w == "memory_pending")) {
        return;
    }
    const TASKS: usize = 200_000;
    static POLLED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    fn resident_bytes() -> i64 {
        let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
        let pages: i64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * 4096
    }
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(cfg.workers)
        .build()
        .expect("building the tokio runtime");
    let before = resident_bytes();
    for _ in 0..TASKS {
        drop(rt.spawn(async {
            POLLED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            std::future::pending::<()>().await
        }));
    }
    while POLLED.load(std::sync::atomic::Ordering::SeqCst) < TASKS {
        std::thread::sleep(Duration::from_millis(1));
    }
    let after = resident_bytes();
    println!("tokio memory_pending {:.1}", (after - before) as f64 / TASKS as f64);
    eprintln!("# tokio memory_pending: {TASKS} tasks, resident +{} KB", (after - before) / 1024);
    rt.shutdown_background();
}

fn env_usize(name: &str) -> Option<usize> {
    let v = std::env::var(name).ok()?;
    match v.trim().parse::<usize>() {
        Ok(n) if n > 0 => Some(n),
        _ => {
            eprintln!("tokio-bench: ignoring {name}={v:?} (want a positive integer)");
            None
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let workers = match args.peek().map(|a| a.parse::<usize>()) {
        Some(Ok(n)) if n > 0 => {
            args.next();
            n
        }
        Some(Ok(_)) => {
            eprintln!("tokio-bench: WORKERS must be >= 1");
            std::process::exit(2);
        }
        _ => env_usize("BENCH_WORKERS")
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
    };
    let cfg = Config {
        workers,
        iters: env_usize("BENCH_ITERS"),
        target: Duration::from_millis(env_usize("BENCH_TIME_MS").unwrap_or(1000) as u64),
        fib_n: env_usize("BENCH_FIB_N").map_or(FIB_N_DEFAULT, |n| n.min(40) as u64),
        only: args.collect(),
    };
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(cfg.workers)
        .enable_all()
        .build()
        .expect("building the tokio runtime");
    eprintln!("# tokio: {} worker threads", cfg.workers);

    spawn_many_remote(&cfg, &rt);
    spawn_many_local(&cfg, &rt);
    yield_many(&cfg, &rt);
    ping_pong(&cfg, &rt);
    chained_spawn(&cfg, &rt);
    fib_bench(&cfg, &rt);
    memory_pending(&cfg);
}

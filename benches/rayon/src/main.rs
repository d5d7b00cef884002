//! The Rayon side of the libtasks fork-join benchmarks: the same workloads as
//! `benches/c/forkjoin.c` (libtasks), `benches/tbb` and `benches/omp`, in the same units and
//! output format (`benches/c/forkjoin_common.h` has the C side of what is shared here).
//!
//! Usage: `rayon-bench [WORKERS] [WORKLOAD...]`
//!   WORKERS   threads of the pool (`ThreadPoolBuilder::num_threads`; else env BENCH_WORKERS,
//!             else the number of CPUs). Each iteration runs inside `pool.install`.
//!   WORKLOAD  run only these (fib_join2 fib_scope pfor_add pfor_small)
//! Env: BENCH_ITERS, BENCH_TIME_MS, BENCH_FIB_N as for the other benches.
//! Stdout: `rayon <workload> <value>`, value in the workload's unit (ns/call, ns/element,
//! us/loop); details go to stderr.

use std::time::{Duration, Instant};

use rayon::prelude::*;
use rayon::ThreadPool;

const FIB_N_DEFAULT: u32 = 30;
const PFOR_ADD_N: usize = 10_000_000;
const PFOR_SMALL_LOOPS: u64 = 10_000;
const PFOR_SMALL_LEN: usize = 256;
const PFOR_SMALL_STEPS: usize = 80;

const MIN_ITERS: usize = 5;
const MAX_ITERS: usize = 1_000_000;

struct Config {
    workers: usize,
    iters: Option<usize>,
    target: Duration,
    fib_n: u32,
    only: Vec<String>,
}

fn measure(
    cfg: &Config,
    name: &str,
    units: u64,
    scale: f64,
    unit_name: &str,
    mut iteration: impl FnMut(),
) {
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
    let value = median / units as f64 / scale;
    if scale > 1.0 {
        println!("rayon {name} {value:.2}");
    } else {
        println!("rayon {name} {value:.1}");
    }
    eprintln!(
        "# rayon {name}: {n} iterations, median {:.3} ms/iteration, {units} {unit_name}/iteration, min {:.3} ms, max {:.3} ms",
        median / 1e6,
        samples[0] as f64 / 1e6,
        samples[n - 1] as f64 / 1e6
    );
}

// ---- fib ----------------------------------------------------------------------------------------

/// Calls of fib(n) with no cutoff, the root included: C(n) = C(n-1) + C(n-2) + 1.
fn fib_calls(n: u32) -> u64 {
    let (mut a, mut b) = (1u64, 1u64);
    for _ in 1..n {
        let c = a + b + 1;
        a = b;
        b = c;
    }
    if n == 0 {
        a
    } else {
        b
    }
}

fn fib_value(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}

/// fib_join2: every call forks its two halves with `rayon::join` (fib(n-1) on this thread,
/// fib(n-2) offered to thieves).
fn fib_join2(n: u32) -> u64 {
    if n < 2 {
        return n as u64;
    }
    let (a, b) = rayon::join(|| fib_join2(n - 1), || fib_join2(n - 2));
    a + b
}

/// fib_scope: every call opens a `rayon::scope`, spawns fib(n-1) into it, computes fib(n-2)
/// inline; the scope's end waits for the child.
fn fib_scope(n: u32) -> u64 {
    if n < 2 {
        return n as u64;
    }
    let (mut a, mut b) = (0, 0);
    rayon::scope(|s| {
        s.spawn(|_| a = fib_scope(n - 1));
        b = fib_scope(n - 2);
    });
    a + b
}

// ---- pfor ---------------------------------------------------------------------------------------

/// The unit of work of pfor_small (the same chain as forkjoin_common.h's `pfor_small_work`).
#[inline]
fn pfor_small_work(mut x: u64) -> u64 {
    for _ in 0..PFOR_SMALL_STEPS {
        x ^= x >> 29;
        x = x.wrapping_mul(0xbf58476d1ce4e5b9);
    }
    x
}

/// a[i] = a[i]*3 + i, checked on a few elements after each loop.
struct PforAdd {
    a: Vec<u64>,
    rounds: u32,
}

impl PforAdd {
    fn new() -> Self {
        PforAdd {
            a: (0..PFOR_ADD_N as u64).collect(),
            rounds: 0,
        }
    }
    fn done(&mut self) {
        self.rounds += 1;
        for i in [
            0,
            1,
            4095,
            4096,
            PFOR_ADD_N / 3,
            PFOR_ADD_N / 2,
            PFOR_ADD_N - 1,
        ] {
            let mut x = i as u64;
            for _ in 0..self.rounds {
                x = x.wrapping_mul(3).wrapping_add(i as u64);
            }
            assert_eq!(
                self.a[i], x,
                "pfor_add: a[{i}] is wrong after {} loops",
                self.rounds
            );
        }
    }
}

fn env_usize(name: &str) -> Option<usize> {
    let v = std::env::var(name).ok()?;
    match v.trim().parse::<usize>() {
        Ok(n) if n > 0 => Some(n),
        _ => {
            eprintln!("rayon-bench: ignoring {name}={v:?} (want a positive integer)");
            None
        }
    }
}

fn run(cfg: &Config, pool: &ThreadPool) {
    let n = cfg.fib_n;
    let expected = fib_value(n);
    measure(cfg, "fib_join2", fib_calls(n), 1.0, "calls", || {
        assert_eq!(pool.install(|| fib_join2(n)), expected);
    });
    measure(cfg, "fib_scope", fib_calls(n), 1.0, "calls", || {
        assert_eq!(pool.install(|| fib_scope(n)), expected);
    });

    if cfg.only.is_empty() || cfg.only.iter().any(|w| w == "pfor_add") {
        let mut st = PforAdd::new();
        measure(cfg, "pfor_add", PFOR_ADD_N as u64, 1.0, "elements", || {
            pool.install(|| {
                st.a.par_iter_mut()
                    .enumerate()
                    .for_each(|(i, x)| *x = x.wrapping_mul(3).wrapping_add(i as u64));
            });
            st.done();
        });
    }

    let mut out = vec![0u64; PFOR_SMALL_LEN];
    measure(cfg, "pfor_small", PFOR_SMALL_LOOPS, 1000.0, "loops", || {
        pool.install(|| {
            for l in 0..PFOR_SMALL_LOOPS {
                let base = l * PFOR_SMALL_LEN as u64;
                out.par_iter_mut()
                    .enumerate()
                    .for_each(|(i, o)| *o = pfor_small_work(base + i as u64));
            }
        });
        let base = (PFOR_SMALL_LOOPS - 1) * PFOR_SMALL_LEN as u64;
        for (i, o) in out.iter_mut().enumerate() {
            assert_eq!(
                *o,
                pfor_small_work(base + i as u64),
                "pfor_small: out[{i}] is wrong"
            );
            *o = 0;
        }
    });
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let workers = match args.peek().map(|a| a.parse::<usize>()) {
        Some(Ok(n)) if n > 0 => {
            args.next();
            n
        }
        Some(Ok(_)) => {
            eprintln!("rayon-bench: WORKERS must be >= 1");
            std::process::exit(2);
        }
        _ => env_usize("BENCH_WORKERS")
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
    };
    let cfg = Config {
        workers,
        iters: env_usize("BENCH_ITERS"),
        target: Duration::from_millis(env_usize("BENCH_TIME_MS").unwrap_or(1000) as u64),
        fib_n: env_usize("BENCH_FIB_N").map_or(FIB_N_DEFAULT, |n| n.min(40) as u32),
        only: args.collect(),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.workers)
        .build()
        .expect("building the rayon pool");
    eprintln!(
        "# rayon: {} threads (pool.install from the main thread)",
        cfg.workers
    );
    run(&cfg, &pool);
}

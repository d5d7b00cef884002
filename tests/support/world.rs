//! What the harness threads share: runtime slots, executors open to cross-thread spawns, join
//! and abort handles passed between threads, and the switch that leaves operation kinds out.
//!
//! Slots are `RwLock`s taken with `try_*` only: an operation that would wait for another
//! harness thread is skipped instead, so the harness itself can never deadlock; every hang the
//! watchdog sees is the library's.

use std::ffi::c_void;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{Mutex, RwLock};

use tasks::ffi::builder::*;
use tasks::ffi::executor::tasks_executor;
use tasks::ffi::runtime::tasks_metrics;
use tasks::ffi::runtime::{
    tasks_runtime, tasks_runtime_free, tasks_runtime_metrics, tasks_runtime_shutdown,
};
use tasks::ffi::status::TASKS_FOREVER;
use tasks::ffi::tasks_status::*;

use super::draw::Draw;
use super::ledger::{Tally, ledger};

/// Operation and body kinds left out (env STRESS_SKIP, comma-separated names).
pub struct Skip(Vec<String>);

impl Skip {
    pub fn parse(s: &str) -> Skip {
        Skip(
            s.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect(),
        )
    }
    pub fn allows(&self, name: &str) -> bool {
        !self.0.iter().any(|x| x == name)
    }
}

/// Thread start/stop hook counts of one runtime: every thread it started must have stopped
/// when `tasks_runtime_free` returns, and no hook may run after that.
#[derive(Default)]
pub struct Hooks {
    starts: AtomicU64,
    stops: AtomicU64,
    freed: AtomicBool,
}

unsafe extern "C" fn on_start(data: *mut c_void) {
    // SAFETY: the Hooks box outlives the runtime (freed after the free check).
    let h = unsafe { &*(data as *const Hooks) };
    h.starts.fetch_add(1, SeqCst);
    if h.freed.load(SeqCst) {
        ledger().fail("on_thread_start hook ran after tasks_runtime_free returned".into());
    }
}

unsafe extern "C" fn on_stop(data: *mut c_void) {
    // SAFETY: as above.
    let h = unsafe { &*(data as *const Hooks) };
    h.stops.fetch_add(1, SeqCst);
    if h.freed.load(SeqCst) {
        ledger().fail("on_thread_stop hook ran after tasks_runtime_free returned".into());
    }
}

/// A non-default runtime the harness created.
pub struct Rt {
    pub ptr: usize,
    pub inst: u16,
    pub workers: usize,
    /// Set once a shutdown returned: spawns must then fail with TASKS_ERR_SHUTDOWN.
    pub shut: AtomicBool,
    hooks: Box<Hooks>,
}

impl Rt {
    pub fn rt(&self) -> *mut tasks_runtime {
        self.ptr as *mut tasks_runtime
    }

    /// A runtime with drawn settings (1-3 workers, tiny blocking pool, short keep-alive,
    /// sometimes 256 KiB stacks unless `small_stacks` is false: STRESS_SKIP=small_stacks).
    pub fn create(d: &mut impl Draw, small_stacks: bool) -> Option<Rt> {
        let inst = ledger().new_inst()?;
        let workers = 1 + d.below(3) as usize;
        let hooks = Box::<Hooks>::default();
        let data = &*hooks as *const Hooks as *mut c_void;
        // SAFETY: a builder we own, freed once; valid callbacks and data.
        let rt = unsafe {
            let b = tasks_builder_new();
            let mut ok = tasks_builder_worker_threads(b, workers) == TASKS_OK;
            ok &= tasks_builder_max_blocking_threads(b, 1 + d.below(4) as usize) == TASKS_OK;
            ok &=
                tasks_builder_blocking_keep_alive(b, [1, 10, 100][d.below(3) as usize] * 1_000_000)
                    == TASKS_OK;
            if d.chance(1, 4) && small_stacks {
                ok &= tasks_builder_thread_stack_size(b, 256 << 10) == TASKS_OK;
            }
            ok &= tasks_builder_thread_name(b, c"stress-rt".as_ptr()) == TASKS_OK;
            ok &= tasks_builder_on_thread_start(b, Some(on_start), data) == TASKS_OK;
            ok &= tasks_builder_on_thread_stop(b, Some(on_stop), data) == TASKS_OK;
            let mut rt = std::ptr::null_mut();
            let st = tasks_builder_build(b, &mut rt);
            tasks_builder_free(b);
            if !ok || st != TASKS_OK {
                ledger().fail(format!(
                    "building a runtime failed ({st:?}, settings ok: {ok})"
                ));
                return None;
            }
            rt
        };
        ledger().set_ptr(inst, rt.cast());
        Some(Rt {
            ptr: rt as usize,
            inst,
            workers,
            shut: AtomicBool::new(false),
            hooks,
        })
    }

    /// Shuts down (no limit), checks the metrics against the ledger, frees, and checks that
    /// every task of the runtime was released and every thread it started has exited.
    pub fn free(self) {
        let l = ledger();
        // SAFETY: the slot's write lock: nobody else uses this runtime pointer.
        unsafe {
            let st = tasks_runtime_shutdown(self.rt(), TASKS_FOREVER);
            if st != TASKS_OK {
                l.fail(format!(
                    "instance {}: shutdown(FOREVER) returned {st:?}",
                    self.inst
                ));
            }
            let mut m = tasks_metrics::default();
            tasks_runtime_metrics(self.rt(), &mut m);
            check_metrics(&m, self.workers, Some(l.tally(self.inst)), self.inst);
            let st = tasks_runtime_free(self.rt());
            if st != TASKS_OK {
                l.fail(format!(
                    "instance {}: tasks_runtime_free returned {st:?}",
                    self.inst
                ));
            }
        }
        l.mark_freed(self.inst);
        self.hooks.freed.store(true, SeqCst);
        let (starts, stops) = (
            self.hooks.starts.load(SeqCst),
            self.hooks.stops.load(SeqCst),
        );
        if starts != stops || starts < self.workers as u64 {
            l.fail(format!(
                "instance {}: {starts} threads started, {stops} stopped when tasks_runtime_free returned",
                self.inst
            ));
        }
        if let Some(u) = l.first_undropped(self.inst) {
            l.fail(format!("after tasks_runtime_free: {u}"));
        }
        if starts != stops {
            // A thread still running may call a hook later: keep the counts alive for it (its
            // late call is reported through `freed`) rather than let it touch freed memory.
            std::mem::forget(self.hooks);
        }
    }
}

/// `spawned = completed + failed + cancelled + alive`; with a tally (after a shutdown that
/// returned OK): the counts equal the ledger's and nothing is alive.
pub fn check_metrics(m: &tasks_metrics, workers: usize, tally: Option<Tally>, inst: u16) {
    let l = ledger();
    if m.spawned != m.completed + m.failed + m.cancelled + m.alive {
        // Outcome counters read after `spawned` can include tasks spawned after it was read:
        // the sum exceeds `spawned` and `alive` saturates at 0 (new defect 18).
        let tag = if m.completed + m.failed + m.cancelled > m.spawned {
            " (defect 18)"
        } else {
            ""
        };
        l.fail(format!("instance {inst}: metrics unbalanced: {m:?}{tag}"));
    }
    if workers != 0 && m.workers != workers {
        l.fail(format!(
            "instance {inst}: metrics.workers {} != {workers}",
            m.workers
        ));
    }
    let Some(t) = tally else { return };
    let plain = (t.spawned, t.ok, t.failed, t.cancelled);
    let with_block_on = (
        t.spawned + t.block_on,
        t.ok + t.block_on_ok,
        t.failed + t.block_on_failed,
        t.cancelled + t.block_on_cancelled,
    );
    let got = (m.spawned, m.completed, m.failed, m.cancelled);
    if m.alive != 0 || (got != plain && got != with_block_on) {
        // More tasks counted (spawned, and as many more ended) than the harness had accepted:
        // seen on runtimes shut down while spawns race with it (new defect 17).
        let extra = m.spawned.wrapping_sub(t.spawned);
        let ended =
            (m.completed + m.failed + m.cancelled).wrapping_sub(t.ok + t.failed + t.cancelled);
        let tag = if m.alive == 0 && extra > 0 && extra < 8 && ended == extra {
            " (defect 17)"
        } else {
            ""
        };
        l.fail(format!(
            "instance {inst}: metrics (spawned, completed, failed, cancelled) = {got:?}, alive {}; the ledger says {plain:?} (+ block_on: {with_block_on:?}); per kind [accepted, ok, failed, cancelled]: {}",
            m.alive,
            l.breakdown(inst)
        ) + tag);
    }
}

/// A local executor, open to spawns from every harness thread while its owner keeps it.
pub struct Exec {
    pub ptr: usize,
    pub inst: u16,
    pub notify: &'static Notify,
}

impl Exec {
    pub fn ex(&self) -> *mut tasks_executor {
        self.ptr as *mut tasks_executor
    }
}

/// The executor's notify hook state: it may not be called after `tasks_executor_free`.
#[derive(Default)]
pub struct Notify {
    pub calls: AtomicU64,
    pub freed: AtomicBool,
}

pub unsafe extern "C" fn notify(data: *mut c_void) {
    // SAFETY: Notify states are leaked (a straggler call must not touch freed memory).
    let n = unsafe { &*(data as *const Notify) };
    n.calls.fetch_add(1, SeqCst);
    if n.freed.load(SeqCst) {
        ledger().fail("executor notify hook called after tasks_executor_free returned".into());
    }
}

/// A join handle and what the harness knows about it.
#[derive(Clone, Copy, Debug)]
pub struct Held {
    pub h: usize,
    pub serial: usize,
    /// Harness thread owning the executor the task runs on (None: a runtime task).
    pub exec_owner: Option<usize>,
    /// The final status a join already returned (as i32).
    pub done: Option<i32>,
}

// SAFETY: join handles may be used from any thread (one at a time: a Held has one owner).
unsafe impl Send for Held {}

pub struct World {
    pub slots: Vec<RwLock<Option<Rt>>>,
    pub execs: Vec<RwLock<Option<Exec>>>,
    pub shared: Mutex<Vec<Held>>,
    /// Abort handles (pointer, serial) any thread may use.
    pub aborts: Mutex<Vec<(usize, usize)>>,
    pub skip: Skip,
    pub threads: usize,
    /// Operations left in this round (all threads together).
    pub budget: AtomicUsize,
    /// Each thread's executor notify state (reused, never freed: a late call stays harmless).
    pub notifies: Vec<Notify>,
}

impl World {
    pub fn new(threads: usize, slots: usize, skip: Skip) -> World {
        World {
            slots: (0..slots).map(|_| RwLock::new(None)).collect(),
            execs: (0..threads).map(|_| RwLock::new(None)).collect(),
            shared: Mutex::new(Vec::new()),
            aborts: Mutex::new(Vec::new()),
            skip,
            threads,
            budget: AtomicUsize::new(0),
            notifies: (0..threads).map(|_| Notify::default()).collect(),
        }
    }

    /// Claims one operation of the round's budget.
    pub fn claim(&self) -> bool {
        self.budget
            .fetch_update(SeqCst, SeqCst, |b| b.checked_sub(1))
            .is_ok()
    }
}

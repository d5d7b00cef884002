//! The ledger: what the harness gave the library and what the library gave back, per task.
//!
//! Every task argument is a tagged integer, not a heap pointer: `round | serial | program`. A
//! callback therefore names its task exactly, a second `drop_arg` for the same task is counted
//! (not a use-after-free that might go unnoticed), and a callback that arrives after its round
//! ended (a task the library forgot, then ran or dropped late) carries a stale round tag.
//! Outputs and task-local values are tagged the same way.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU16, AtomicU32, AtomicU64, AtomicUsize};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use std::sync::atomic::Ordering::{Relaxed, SeqCst};

use tasks::ffi::current::tasks_current_id;

/// Spawn states of a serial.
pub const SPAWNING: u8 = 1;
pub const ACCEPTED: u8 = 2;
pub const REJECTED: u8 = 3;

/// Where a task went; decides which runtime's metrics count it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    Worker = 1,
    Blocking = 2,
    After = 3,
    JoinSet = 4,
    Executor = 5,
    BlockOn = 6,
}

const KINDS: [&str; 7] = [
    "?", "worker", "blocking", "after", "join_set", "executor", "block_on",
];

/// Runtime instance 0 is the default runtime; executors get instances with this bit set.
pub const EXEC_INST: u16 = 0x8000;
const MAX_INST: usize = 1 << 16;

/// One task's record. All fields are written by the harness or by the library's callbacks.
#[derive(Default)]
pub struct Slot {
    pub state: AtomicU8,
    pub kind: AtomicU8,
    pub drops: AtomicU8,
    /// The body's own verdict, written just before it returns: 1 OK, 2 FAILED.
    pub result: AtomicU8,
    /// A non-NULL output was handed to the library.
    pub made: AtomicU8,
    pub taken: AtomicU8,
    pub out_dropped: AtomicU8,
    pub inst: AtomicU16,
    pub locals_set: AtomicU16,
    pub locals_destroyed: AtomicU16,
    pub prog: AtomicU32,
    /// Poll-task state machine step.
    pub step: AtomicU32,
    /// A poll task's child handle / join set, released by drop_arg if it is cancelled.
    pub child: AtomicUsize,
    pub child_serial: AtomicUsize,
    pub id: AtomicU64,
    /// `spawn_after`: the earliest start, in ns since `epoch()`.
    pub not_before: AtomicU64,
}

pub struct Ledger {
    slots: Box<[Slot]>,
    next: AtomicUsize,
    round: AtomicU8,
    freed: Box<[AtomicBool]>,
    /// The live runtime behind each instance, for tasks that spawn children on their own.
    rt_ptrs: Box<[AtomicUsize]>,
    /// Serials allocated per instance (before the spawn: an upper bound of accepted tasks).
    allocs: Box<[AtomicU64]>,
    next_inst: AtomicU32,
    next_exec: AtomicU32,
    /// (shape, count, first example)
    violations: Mutex<Vec<(String, usize, String)>>,
    violation_count: AtomicUsize,
}

/// Process-wide start of the harness clock.
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

pub fn now_ns() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

static LEDGER: OnceLock<Ledger> = OnceLock::new();

/// The ledger; `capacity` serials per round (only the first call's value counts).
pub fn init(capacity: usize) -> &'static Ledger {
    LEDGER.get_or_init(|| Ledger {
        slots: (0..capacity).map(|_| Slot::default()).collect(),
        next: AtomicUsize::new(0),
        round: AtomicU8::new(1),
        freed: (0..MAX_INST).map(|_| AtomicBool::new(false)).collect(),
        rt_ptrs: (0..MAX_INST).map(|_| AtomicUsize::new(0)).collect(),
        allocs: (0..MAX_INST).map(|_| AtomicU64::new(0)).collect(),
        next_inst: AtomicU32::new(1),
        next_exec: AtomicU32::new(0),
        violations: Mutex::new(Vec::new()),
        violation_count: AtomicUsize::new(0),
    })
}

pub fn ledger() -> &'static Ledger {
    LEDGER.get().expect("ledger::init first")
}

const SERIAL_SHIFT: u32 = 24;
const ROUND_SHIFT: u32 = 56;
const OUTPUT_TAG: u64 = 0xA5_A5A5;
const LOCAL_TAG: u64 = 0x3C;

fn pack(round: u8, serial: usize, low: u64) -> *mut c_void {
    (((round as u64) << ROUND_SHIFT) | ((serial as u64) << SERIAL_SHIFT) | low) as *mut c_void
}

fn unpack(p: *mut c_void) -> (u8, usize, u32) {
    let v = p as u64;
    (
        (v >> ROUND_SHIFT) as u8,
        ((v >> SERIAL_SHIFT) & 0xFFFF_FFFF) as usize,
        (v & 0xFF_FFFF) as u32,
    )
}

/// Per-runtime-instance sums over the serials it accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub spawned: u64,
    pub ok: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// The same three for `tasks_block_on` tasks (the contract leaves open whether they count).
    pub block_on: u64,
    pub block_on_ok: u64,
    pub block_on_failed: u64,
    pub block_on_cancelled: u64,
    /// Spawns of this instance that returned an error (never counted as tasks).
    pub refused: u64,
}

impl Ledger {
    pub fn round(&self) -> u8 {
        self.round.load(SeqCst)
    }

    /// Records a violation. Violations of one shape (the message without its numbers) are
    /// counted and only the first example is kept, so that one frequent defect does not hide
    /// the others in the report.
    pub fn fail(&self, what: String) {
        self.violation_count.fetch_add(1, SeqCst);
        let shape = shape(&what);
        let mut v = self.violations.lock().unwrap();
        if let Some(e) = v.iter_mut().find(|e| e.0 == shape) {
            e.1 += 1;
        } else if v.len() < 64 {
            v.push((shape, 1, what));
        }
    }

    pub fn violation_count(&self) -> usize {
        self.violation_count.load(SeqCst)
    }

    /// The violations recorded so far (the first 64, then a count), cleared.
    /// Splits `take_violations` into (failures, known): a violation tagged "(defect N)" with N
    /// in `allowed` is known (STRESS_ALLOW_DEFECTS, for working on a core that still has them).
    pub fn take_split(&self, allowed: &[u32]) -> (Vec<String>, Vec<String>) {
        self.take_violations().into_iter().partition(|v| {
            !allowed.iter().any(|n| {
                v.contains(&format!("(defect {n})")) || v.contains(&format!("(defect {n}:"))
            })
        })
    }

    pub fn take_violations(&self) -> Vec<String> {
        let v = std::mem::take(&mut *self.violations.lock().unwrap());
        self.violation_count.store(0, SeqCst);
        v.into_iter()
            .map(|(_, count, first)| format!("[{count}x] {first}"))
            .collect()
    }

    pub fn slot(&self, serial: usize) -> &Slot {
        &self.slots[serial]
    }

    pub fn serials(&self) -> usize {
        self.next.load(SeqCst).min(self.slots.len())
    }

    /// A new runtime instance (None when this round has used them all).
    pub fn new_inst(&self) -> Option<u16> {
        let i = self.next_inst.fetch_add(1, SeqCst);
        (i < EXEC_INST as u32).then_some(i as u16)
    }

    pub fn new_exec_inst(&self) -> Option<u16> {
        let i = self.next_exec.fetch_add(1, SeqCst);
        (i < EXEC_INST as u32).then_some(EXEC_INST | i as u16)
    }

    pub fn mark_freed(&self, inst: u16) {
        self.freed[inst as usize].store(true, SeqCst);
        self.rt_ptrs[inst as usize].store(0, SeqCst);
    }

    /// Tasks ever offered to instance `inst` (spawn attempts, counted before the call).
    pub fn allocs(&self, inst: u16) -> u64 {
        self.allocs[inst as usize].load(SeqCst)
    }

    /// Records the runtime (or executor) behind an instance.
    pub fn set_ptr(&self, inst: u16, p: *mut c_void) {
        self.rt_ptrs[inst as usize].store(p as usize, SeqCst);
    }

    /// The runtime (or executor) behind an instance; instance 0 is the default runtime.
    pub fn ptr(&self, inst: u16) -> *mut c_void {
        if inst == 0 {
            return tasks::ffi::runtime::tasks_runtime_default().cast();
        }
        self.rt_ptrs[inst as usize].load(SeqCst) as *mut c_void
    }

    pub fn is_freed(&self, inst: u16) -> bool {
        self.freed[inst as usize].load(SeqCst)
    }

    /// A serial for a task about to be spawned; None when the round's table is full (the
    /// caller then skips the spawn).
    pub fn alloc(&self, kind: Kind, inst: u16, prog: u32) -> Option<(usize, *mut c_void)> {
        let serial = self.next.fetch_add(1, SeqCst);
        if serial >= self.slots.len() {
            return None;
        }
        self.allocs[inst as usize].fetch_add(1, SeqCst);
        let s = &self.slots[serial];
        s.kind.store(kind as u8, SeqCst);
        s.inst.store(inst, SeqCst);
        s.prog.store(prog, SeqCst);
        s.state.store(SPAWNING, SeqCst);
        Some((serial, pack(self.round(), serial, prog as u64)))
    }

    /// The spawn call returned `ok`; `id` when the caller learnt the task's id.
    pub fn spawned(&self, serial: usize, ok: bool, id: u64) {
        let s = &self.slots[serial];
        if id != 0 {
            s.id.store(id, SeqCst);
        }
        if ok {
            s.state.store(ACCEPTED, SeqCst);
            return;
        }
        s.state.store(REJECTED, SeqCst);
        if s.drops.load(SeqCst) != 0 {
            let kind = s.kind.load(SeqCst);
            // tasks_block_on dropping the state of a call it refused: defect 9.
            let tag = if kind == Kind::BlockOn as u8 {
                " (defect 9)"
            } else {
                ""
            };
            self.fail(format!(
                "serial {serial}: drop_arg called although the spawn ({}) failed{tag}",
                KINDS[kind as usize % KINDS.len()]
            ));
        }
        if s.step.load(SeqCst) != 0 || s.result.load(SeqCst) != 0 {
            self.fail(format!(
                "serial {serial}: the body ran although the spawn failed"
            ));
        }
    }

    /// Decodes a tagged pointer of the current round; a stale or foreign one is a violation.
    pub fn decode(&self, p: *mut c_void, what: &str) -> Option<(usize, u32)> {
        let (round, serial, low) = unpack(p);
        if round != self.round() || serial >= self.serials() {
            self.fail(format!(
                "{what}({p:?}): not a value of this round (round {round}, serial {serial}): a callback arrived late or for something never handed out"
            ));
            return None;
        }
        Some((serial, low))
    }

    /// As `decode`, without reporting (the caller already did).
    pub fn decode_quiet(&self, p: *mut c_void) -> Option<(usize, u32)> {
        let (round, serial, low) = unpack(p);
        (round == self.round() && serial < self.serials()).then_some((serial, low))
    }

    pub fn output_of(&self, serial: usize) -> *mut c_void {
        pack(self.round(), serial, OUTPUT_TAG)
    }

    pub fn local_value(&self, serial: usize, seq: u16) -> *mut c_void {
        pack(self.round(), serial, ((seq as u64) << 8) | LOCAL_TAG)
    }

    /// Callbacks may not run for a task with another task current (contract: drop functions
    /// and local destructors see the dropped task's id or 0).
    pub fn check_current(&self, serial: usize, what: &str) {
        let cur = tasks_current_id();
        let id = self.slots[serial].id.load(SeqCst);
        if cur != 0 && id != 0 && cur != id {
            self.fail(format!(
                "serial {serial}: {what} ran with task {cur} current, not its own task {id} or none (defect 14)"
            ));
        }
    }

    fn check_alive_inst(&self, serial: usize, what: &str) {
        let inst = self.slots[serial].inst.load(SeqCst);
        if self.is_freed(inst) {
            self.fail(format!(
                "serial {serial}: {what} after its runtime/executor (instance {inst:#x}) was freed"
            ));
        }
    }

    /// A body starts running (a poll or the run); returns the slot.
    pub fn enter(&self, serial: usize) -> &Slot {
        let s = &self.slots[serial];
        if s.drops.load(SeqCst) != 0 {
            self.fail(format!("serial {serial}: body ran after its drop_arg"));
        }
        if s.result.load(SeqCst) != 0 {
            self.fail(format!(
                "serial {serial}: body ran again after it returned a result"
            ));
        }
        self.check_alive_inst(serial, "body ran");
        if s.state.load(SeqCst) == REJECTED {
            self.fail(format!(
                "serial {serial}: body ran although its spawn failed"
            ));
        }
        let kind = s.kind.load(SeqCst);
        if kind != Kind::Executor as u8 && kind != Kind::BlockOn as u8 {
            let inst = s.inst.load(SeqCst);
            let on = tasks::ffi::current::tasks_current_runtime();
            if on.cast() != self.ptr(inst) {
                self.fail(format!(
                    "serial {serial}: a task of instance {inst} (kind {kind}) runs with tasks_current_runtime() {on:?}, not its runtime {:?}",
                    self.ptr(inst)
                ));
            }
        }
        let cur = tasks_current_id();
        if cur == 0 {
            self.fail(format!(
                "serial {serial}: tasks_current_id() is 0 inside the task"
            ));
        } else {
            let prev = s.id.swap(cur, SeqCst);
            if prev != 0 && prev != cur {
                self.fail(format!(
                    "serial {serial}: task id changed from {prev} to {cur}"
                ));
            }
        }
        let nb = s.not_before.load(SeqCst);
        if nb != 0 && now_ns() < nb {
            self.fail(format!(
                "serial {serial}: spawn_after task started {} us before its delay (defect 3)",
                (nb - now_ns()) / 1000
            ));
        }
        s
    }

    /// The body returns its verdict with a NULL or tagged output.
    pub fn finish(&self, serial: usize, ok: bool, output: *mut c_void) {
        let s = &self.slots[serial];
        if !output.is_null() {
            s.made.store(1, SeqCst);
        }
        s.result.store(if ok { 1 } else { 2 }, SeqCst);
    }

    pub fn on_drop_arg(&self, arg: *mut c_void) {
        let Some((serial, _)) = self.decode(arg, "drop_arg") else {
            return;
        };
        let s = &self.slots[serial];
        if s.drops.fetch_add(1, SeqCst) != 0 {
            self.fail(format!("serial {serial}: drop_arg called twice"));
        }
        if s.state.load(SeqCst) == REJECTED {
            self.fail(format!(
                "serial {serial}: drop_arg called for a spawn that failed"
            ));
        }
        self.check_alive_inst(serial, "drop_arg");
        self.check_current(serial, "drop_arg");
    }

    pub fn on_drop_output(&self, out: *mut c_void) {
        if out.is_null() {
            self.fail("drop_output called with NULL".into());
            return;
        }
        let Some((serial, low)) = self.decode(out, "drop_output") else {
            return;
        };
        let s = &self.slots[serial];
        if low as u64 != OUTPUT_TAG || s.made.load(SeqCst) == 0 {
            self.fail(format!(
                "serial {serial}: drop_output on {out:?}, not an output it made"
            ));
        }
        if s.out_dropped.fetch_add(1, SeqCst) != 0 {
            self.fail(format!("serial {serial}: output dropped twice"));
        }
        if s.taken.load(SeqCst) != 0 {
            self.fail(format!(
                "serial {serial}: output dropped after a join took it"
            ));
        }
    }

    pub fn on_local_dtor(&self, v: *mut c_void) {
        let Some((serial, low)) = self.decode(v, "local destructor") else {
            return;
        };
        let s = &self.slots[serial];
        if low as u64 & 0xFF != LOCAL_TAG {
            self.fail(format!(
                "serial {serial}: local destructor on {v:?}, not a local value"
            ));
        }
        let d = s.locals_destroyed.fetch_add(1, SeqCst) + 1;
        if d > s.locals_set.load(SeqCst) {
            self.fail(format!(
                "serial {serial}: more local values destroyed ({d}) than set"
            ));
        }
        self.check_alive_inst(serial, "local destructor");
        self.check_current(serial, "local destructor");
    }

    /// A join of `serial` returned `status` (a tasks_status as i32) with `out` written (or the
    /// sentinel if nothing was written). `out_null`: the caller passed NULL for the output.
    pub fn on_join(
        &self,
        serial: usize,
        status: i32,
        out: *mut c_void,
        out_null: bool,
        first: bool,
    ) {
        use tasks::ffi::tasks_status::*;
        let s = &self.slots[serial];
        let result = s.result.load(SeqCst);
        let want = match status {
            x if x == TASKS_OK as i32 => 1,
            x if x == TASKS_FAILED as i32 => 2,
            x if x == TASKS_CANCELLED as i32 => 0,
            _ => return,
        };
        if result != want {
            self.fail(format!(
                "serial {serial}: join returned status {status} but the body's verdict is {result} (0 none, 1 OK, 2 FAILED)"
            ));
        }
        if want == 0 || out_null {
            if want == 0 && !out_null && out != SENTINEL {
                self.fail(format!(
                    "serial {serial}: CANCELLED join wrote the output ({out:?})"
                ));
            }
            return;
        }
        let expect = if first && s.made.load(SeqCst) != 0 {
            self.output_of(serial)
        } else {
            std::ptr::null_mut()
        };
        if out != expect {
            self.fail(format!(
                "serial {serial}: join wrote output {out:?}, expected {expect:?} (first join: {first})"
            ));
        }
        if !out.is_null() && s.taken.fetch_add(1, SeqCst) != 0 {
            self.fail(format!("serial {serial}: output handed out twice"));
        }
        if !out.is_null() && s.out_dropped.load(SeqCst) != 0 {
            self.fail(format!(
                "serial {serial}: output handed out after drop_output ran on it"
            ));
        }
    }

    /// What remains unsettled for `serial` (None when it is fully accounted for). `settled`
    /// means the task must have ended; otherwise only consistency is checked.
    pub fn unsettled(&self, serial: usize) -> Option<String> {
        let s = &self.slots[serial];
        match s.state.load(SeqCst) {
            ACCEPTED => {}
            REJECTED => return None,
            st => {
                return Some(format!(
                    "serial {serial}: spawn state {st} (spawn never returned)"
                ));
            }
        }
        let drops = s.drops.load(SeqCst);
        let made = s.made.load(SeqCst);
        let outs = s.taken.load(SeqCst) + s.out_dropped.load(SeqCst);
        let (set, destroyed) = (s.locals_set.load(SeqCst), s.locals_destroyed.load(SeqCst));
        if drops != 1 || outs != made || set != destroyed {
            return Some(format!(
                "serial {serial} (kind {}, instance {:#x}, program {:#x}, id {}): drop_arg ran {drops}x, output made {made} taken+dropped {outs}, locals set {set} destroyed {destroyed}",
                s.kind.load(SeqCst),
                s.inst.load(SeqCst),
                s.prog.load(SeqCst),
                s.id.load(SeqCst),
            ));
        }
        None
    }

    /// The first unsettled serial of instance `inst` (all instances if None).
    pub fn first_unsettled(&self, inst: Option<u16>) -> Option<String> {
        (0..self.serials())
            .filter(|&i| inst.is_none_or(|x| self.slots[i].inst.load(Relaxed) == x))
            .find_map(|i| self.unsettled(i))
    }

    /// The first serial of `inst` whose drop_arg or task-local destructors have not all run
    /// (outputs are not looked at: a handle may still hold one).
    pub fn first_undropped(&self, inst: u16) -> Option<String> {
        (0..self.serials()).find_map(|i| {
            let s = &self.slots[i];
            let bad = s.inst.load(SeqCst) == inst
                && s.state.load(SeqCst) == ACCEPTED
                && (s.drops.load(SeqCst) != 1
                    || s.locals_set.load(SeqCst) != s.locals_destroyed.load(SeqCst));
            bad.then(|| self.unsettled(i).unwrap_or_default())
        })
    }

    /// Per kind (Worker..BlockOn): [accepted, ok, failed, cancelled] of instance `inst`, for
    /// diagnosing a metrics mismatch.
    pub fn breakdown(&self, inst: u16) -> String {
        let mut k = [[0u64; 4]; 7];
        let mut rejected = [0u64; 7];
        for s in self.slots[..self.serials()].iter() {
            if s.inst.load(SeqCst) != inst {
                continue;
            }
            if s.state.load(SeqCst) == REJECTED {
                rejected[s.kind.load(SeqCst) as usize % 7] += 1;
            }
            if s.state.load(SeqCst) != ACCEPTED {
                continue;
            }
            let e = &mut k[s.kind.load(SeqCst) as usize % 7];
            e[0] += 1;
            e[match s.result.load(SeqCst) {
                1 => 1,
                2 => 2,
                _ => 3,
            }] += 1;
        }
        let names = [
            "?", "worker", "blocking", "after", "join_set", "executor", "block_on",
        ];
        (1..7)
            .filter(|&i| k[i][0] + rejected[i] > 0)
            .map(|i| format!("{} {:?} (+{} refused)", names[i], k[i], rejected[i]))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn tally(&self, inst: u16) -> Tally {
        let mut t = Tally::default();
        for s in self.slots[..self.serials()].iter() {
            if s.inst.load(SeqCst) != inst {
                continue;
            }
            if s.state.load(SeqCst) == REJECTED {
                t.refused += 1;
            }
            if s.state.load(SeqCst) != ACCEPTED {
                continue;
            }
            let r = s.result.load(SeqCst);
            if s.kind.load(SeqCst) == Kind::BlockOn as u8 {
                t.block_on += 1;
                match r {
                    1 => t.block_on_ok += 1,
                    2 => t.block_on_failed += 1,
                    _ => t.block_on_cancelled += 1,
                }
                continue;
            }
            t.spawned += 1;
            match r {
                1 => t.ok += 1,
                2 => t.failed += 1,
                _ => t.cancelled += 1,
            }
        }
        t
    }

    /// Starts a new round: every serial and instance of the last one must be settled (the
    /// caller checked); the table is cleared and the round tag moves on, so late callbacks
    /// from the old round are recognised.
    pub fn next_round(&self) {
        let n = self.serials();
        for s in self.slots[..n].iter() {
            s.state.store(0, SeqCst);
            s.kind.store(0, SeqCst);
            s.drops.store(0, SeqCst);
            s.result.store(0, SeqCst);
            s.made.store(0, SeqCst);
            s.taken.store(0, SeqCst);
            s.out_dropped.store(0, SeqCst);
            s.inst.store(0, SeqCst);
            s.locals_set.store(0, SeqCst);
            s.locals_destroyed.store(0, SeqCst);
            s.prog.store(0, SeqCst);
            s.step.store(0, SeqCst);
            s.child.store(0, SeqCst);
            s.child_serial.store(0, SeqCst);
            s.id.store(0, SeqCst);
            s.not_before.store(0, SeqCst);
        }
        for f in self.freed.iter() {
            f.store(false, Relaxed);
        }
        for p in self.rt_ptrs.iter() {
            p.store(0, Relaxed);
        }
        for a in self.allocs.iter() {
            a.store(0, Relaxed);
        }
        self.next_inst.store(1, SeqCst);
        self.next_exec.store(0, SeqCst);
        self.next.store(0, SeqCst);
        let r = self.round().wrapping_add(1).max(1);
        self.round.store(r, SeqCst);
    }
}

/// A message without its numbers (a word starting with a digit: 123, 0x7f00, 20us).
fn shape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_number = false;
    let mut prev_word = false;
    for c in s.chars() {
        if c.is_ascii_digit() && !prev_word {
            in_number = true;
        }
        prev_word = c.is_ascii_alphanumeric() || c == '_';
        if in_number && prev_word {
            continue;
        }
        in_number = false;
        out.push(c);
    }
    out
}

/// What out-pointers hold before a call, to see whether the call wrote them.
pub const SENTINEL: *mut c_void = 0x5e47_1e1e_usize as *mut c_void;

pub unsafe extern "C" fn drop_arg(arg: *mut c_void) {
    ledger().on_drop_arg(arg);
    crate::support::program::release_child(arg);
}

pub unsafe extern "C" fn drop_output(out: *mut c_void) {
    ledger().on_drop_output(out);
}

pub unsafe extern "C" fn local_dtor(v: *mut c_void) {
    ledger().on_local_dtor(v);
}

//! Task bodies drawn from a small language. A program is 24 bits, carried in the task's
//! argument (see ledger), so the same two C functions (`run_body`, `poll_body`) serve every
//! task and each callback knows what its task was asked to do.

use std::ffi::c_void;
use std::sync::OnceLock;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use tasks::ffi::abort_handle::tasks_current_is_cancelled;
use tasks::ffi::body::{tasks_context, tasks_poll, tasks_spawn_opts};
use tasks::ffi::bridge::{tasks_block_in_place, tasks_block_on};
use tasks::ffi::context::{tasks_context_id, tasks_context_sleep, tasks_context_waker};
use tasks::ffi::current::{tasks_current_id, tasks_current_runtime};
use tasks::ffi::join_handle::{
    tasks_join_handle, tasks_join_handle_abort, tasks_join_handle_free, tasks_join_handle_id,
    tasks_join_handle_join, tasks_join_handle_poll,
};
use tasks::ffi::local_key::{
    tasks_local_key, tasks_local_key_get, tasks_local_key_new, tasks_local_key_set,
};
use tasks::ffi::runtime::{
    tasks_runtime, tasks_runtime_default, tasks_runtime_free, tasks_runtime_shutdown,
};
use tasks::ffi::spawn::{tasks_spawn, tasks_spawn_after, tasks_spawn_poll};
use tasks::ffi::status::TASKS_FOREVER;
use tasks::ffi::tasks_status::{self, *};
use tasks::ffi::waker::{
    tasks_waker_clone, tasks_waker_free, tasks_waker_wake, tasks_waker_wake_by_ref,
    tasks_waker_will_wake,
};

use super::children::{self, ChildSet};
use super::draw::Draw;
use super::ledger::{self, Kind, SENTINEL, ledger, now_ns};
use super::pool;

/// What a body does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    Return,
    Yield,
    Sleep,
    CheckCancel,
    /// Leaves a waker in the pool and returns PENDING, n times.
    PoolPark,
    /// Wakes itself during the poll, then returns PENDING, n times: must be polled again.
    SelfWake,
    /// Spawns a child and joins it (poll-joins in a poll task).
    Child,
    /// Spawns children into a join set and joins them in completion order.
    JoinSetChild,
    BlockInPlace,
    /// Frees / shuts down / block_on's its own runtime: each must be refused.
    Guard,
    /// Frees its own local executor: must be refused.
    ExecGuard,
    /// A task of a non-default runtime A blocks on the default runtime.
    BlockOnOther,
    /// Inside such a block_on: frees / shuts down A, which must be refused (defect 10).
    GuardParent,
}

const BODIES: [Body; 13] = [
    Body::Return,
    Body::Yield,
    Body::Sleep,
    Body::CheckCancel,
    Body::PoolPark,
    Body::SelfWake,
    Body::Child,
    Body::JoinSetChild,
    Body::BlockInPlace,
    Body::Guard,
    Body::ExecGuard,
    Body::BlockOnOther,
    Body::GuardParent,
];
const LEAVES: [Body; 8] = [
    Body::Return,
    Body::Yield,
    Body::Sleep,
    Body::CheckCancel,
    Body::PoolPark,
    Body::SelfWake,
    Body::Return,
    Body::Sleep,
];

/// Body kinds left out (bit per `Body as u32`): also those a body would start on its own.
static SKIPPED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

pub fn set_skipped(allowed: &dyn Fn(Body) -> bool) {
    let mask = BODIES
        .iter()
        .filter(|&&b| !allowed(b))
        .fold(0, |m, &b| m | 1 << b as u32);
    SKIPPED.store(mask, SeqCst);
}

fn skipped(b: Body) -> bool {
    SKIPPED.load(SeqCst) & 1 << b as u32 != 0
}

/// Bit layout: kind 0-3, n 4-6, fail 7, NULL output 8, task-locals 9, delay 10-11, join
/// timeout 12-13, child poll-style 14, child leaf 15-17, child fails 18, abort/free early 19,
/// spawn with a NULL runtime / into the sibling executor 20, child via spawn_after 21.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Prog(pub u32);

impl std::fmt::Debug for Prog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}(n={}, {:#08x})", self.body(), self.n(), self.0)
    }
}

impl Prog {
    fn bit(self, b: u32) -> bool {
        self.0 >> b & 1 != 0
    }
    pub fn body(self) -> Body {
        BODIES
            .get((self.0 & 15) as usize)
            .copied()
            .unwrap_or(Body::Return)
    }
    pub fn n(self) -> u32 {
        self.0 >> 4 & 7
    }
    pub fn fails(self) -> bool {
        self.bit(7)
    }
    pub fn null_output(self) -> bool {
        self.bit(8)
    }
    pub fn locals(self) -> bool {
        self.bit(9)
    }
    pub fn delay_ns(self) -> u64 {
        [0, 20_000, 200_000, 1_000_000][(self.0 >> 10 & 3) as usize]
    }
    pub fn join_timeout(self) -> u64 {
        [TASKS_FOREVER, 0, 50_000, 1_000_000][(self.0 >> 12 & 3) as usize]
    }
    pub fn child_poll(self) -> bool {
        self.bit(14)
    }
    pub fn early(self) -> bool {
        self.bit(19)
    }
    pub fn null_rt(self) -> bool {
        self.bit(20)
    }
    pub fn child_after(self) -> bool {
        self.bit(21)
    }

    /// The child's program: a leaf (no children of its own), so nesting depth stays at 2.
    pub fn leaf(self) -> Prog {
        let leaf = LEAVES[(self.0 >> 15 & 7) as usize] as u32;
        let leaf_index = BODIES.iter().position(|&b| b as u32 == leaf).unwrap() as u32;
        Prog(
            leaf_index
                | (self.0 & (7 << 4 | 3 << 10))
                | (self.0 >> 18 & 1) << 7
                | (self.0 & 1 << 9),
        )
    }

    /// A random program; `allowed` filters the body kinds (the harness's STRESS_SKIP).
    pub fn draw(d: &mut impl Draw, allowed: &dyn Fn(Body) -> bool) -> Prog {
        let mut p = d.next_u32() & 0xFF_FFF0;
        // Keep counts small: bodies end quickly and the watchdog budget is for hangs only.
        p &= !(4 << 4);
        for _ in 0..4 {
            let k = d.below(BODIES.len() as u32);
            if allowed(BODIES[k as usize]) {
                return Prog(p | k);
            }
        }
        Prog(p)
    }
}

/// Options every harness task is spawned with: both drop functions, sometimes a name.
pub fn opts(named: bool) -> tasks_spawn_opts {
    tasks_spawn_opts {
        name: if named {
            c"stress-task".as_ptr()
        } else {
            std::ptr::null()
        },
        drop_arg: Some(ledger::drop_arg),
        drop_output: Some(ledger::drop_output),
    }
}

fn keys() -> (*const tasks_local_key, *const tasks_local_key) {
    static KEYS: OnceLock<(usize, usize)> = OnceLock::new();
    let (a, b) = *KEYS.get_or_init(|| {
        let a = tasks_local_key_new(Some(ledger::local_dtor));
        let b = tasks_local_key_new(Some(ledger::local_dtor));
        (a as usize, b as usize)
    });
    (a as *const tasks_local_key, b as *const tasks_local_key)
}

/// Task-local checks on the first run of a task: a task sees only its own values; setting a
/// value destroys the one it replaces at once.
fn locals_begin(serial: usize, p: Prog) {
    let l = ledger();
    let s = l.slot(serial);
    let (a, b) = keys();
    // SAFETY: keys are process-lifetime; we are inside a task.
    unsafe {
        let (ga, gb) = (tasks_local_key_get(a), tasks_local_key_get(b));
        if !ga.is_null() || !gb.is_null() {
            l.fail(format!(
                "serial {serial}: a new task sees task-local values {ga:?} / {gb:?} it never set"
            ));
        }
        if !p.locals() {
            return;
        }
        for seq in 0..(1 + p.n().min(2) as u16) {
            let key = if seq == 1 { b } else { a };
            let v = l.local_value(serial, seq);
            let before = s.locals_destroyed.load(SeqCst);
            s.locals_set.fetch_add(1, SeqCst);
            let st = tasks_local_key_set(key, v);
            if st != TASKS_OK {
                l.fail(format!(
                    "serial {serial}: tasks_local_key_set returned {st:?}"
                ));
            }
            if tasks_local_key_get(key) != v {
                l.fail(format!(
                    "serial {serial}: tasks_local_key_get does not return the value just set"
                ));
            }
            if seq == 2 && s.locals_destroyed.load(SeqCst) != before + 1 {
                l.fail(format!(
                    "serial {serial}: replacing a task-local value did not destroy the old one"
                ));
            }
        }
    }
}

/// The body's end: records the verdict, writes the output.
fn finish(serial: usize, p: Prog, output: *mut *mut c_void) -> bool {
    let l = ledger();
    let out = if p.null_output() {
        std::ptr::null_mut()
    } else {
        l.output_of(serial)
    };
    l.finish(serial, !p.fails(), out);
    // SAFETY: the library's out-pointer for this call.
    unsafe { *output = out };
    !p.fails()
}

thread_local! {
    /// The local executor whose `run` is on this thread's stack (set by its owner around runs).
    pub static CURRENT_EXEC: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Where a child of `parent` goes: the parent's runtime (its instance), the default runtime for
/// executor tasks, or the sibling executor.
fn child_place(parent: usize, p: Prog) -> (Kind, u16, *mut c_void, bool) {
    let s = ledger().slot(parent);
    let inst = s.inst.load(SeqCst);
    if s.kind.load(SeqCst) == Kind::Executor as u8 {
        if p.null_rt() {
            return (
                Kind::Executor,
                inst,
                CURRENT_EXEC.with(|c| c.get()) as *mut c_void,
                false,
            );
        }
        return (Kind::Worker, 0, tasks_runtime_default().cast(), false);
    }
    let kind = if p.child_after() && !p.child_poll() {
        Kind::After
    } else {
        Kind::Worker
    };
    // A NULL runtime means "the caller's": the parent's own runtime.
    (kind, inst, ledger().ptr(inst), p.null_rt())
}

/// Spawns the child of `parent`; returns its serial and handle (None if it was not spawned).
fn spawn_child(parent: usize, p: Prog) -> Option<(usize, *mut tasks_join_handle, Kind)> {
    let l = ledger();
    let (kind, inst, target, use_null) = child_place(parent, p);
    if target.is_null() {
        return None; // the runtime is being freed; nothing to spawn on
    }
    let cp = p.leaf();
    let (serial, arg) = l.alloc(kind, inst, cp.0)?;
    let o = opts(false);
    let mut h: *mut tasks_join_handle = std::ptr::null_mut();
    let rt: *mut tasks_runtime = if use_null {
        std::ptr::null_mut()
    } else {
        target.cast()
    };
    // SAFETY: valid function pointers and options; the runtime is alive while a task of it runs.
    let st = unsafe {
        match kind {
            Kind::Executor => {
                let f = if p.child_poll() {
                    children::exec_spawn_poll
                } else {
                    children::exec_spawn
                };
                f(target.cast(), arg, &o, &mut h)
            }
            Kind::After => {
                l.slot(serial)
                    .not_before
                    .store(now_ns() + p.delay_ns(), SeqCst);
                tasks_spawn_after(rt, p.delay_ns(), Some(run_body), arg, &o, &mut h)
            }
            _ if p.child_poll() => tasks_spawn_poll(rt, Some(poll_body), arg, &o, &mut h),
            _ => tasks_spawn(rt, Some(run_body), arg, &o, &mut h),
        }
    };
    let ok = st == TASKS_OK;
    if !ok && st != TASKS_ERR_SHUTDOWN {
        l.fail(format!("serial {parent}: spawning a child returned {st:?}"));
    }
    // SAFETY: a handle we own.
    let id = if ok {
        unsafe { tasks_join_handle_id(h) }
    } else {
        0
    };
    l.spawned(serial, ok, id);
    ok.then_some((serial, h, kind))
}

/// A joined child's status, checked against its ledger entry.
pub fn check_join(serial: usize, st: tasks_status, out: *mut c_void, first: bool) {
    ledger().on_join(serial, st as i32, out, false, first);
}

/// Run-to-completion child join: a join with the program's timeout from inside a task.
fn run_child(parent: usize, p: Prog) {
    let l = ledger();
    let Some((cs, h, kind)) = spawn_child(parent, p) else {
        return;
    };
    let mut timeout = p.join_timeout();
    if kind == Kind::Executor && timeout == TASKS_FOREVER {
        // A sibling only the owner can run: must be refused at once; don't hang if it is not.
        timeout = 1_000_000;
    }
    let mut out = SENTINEL;
    // SAFETY: our handle.
    let st = unsafe { tasks_join_handle_join(h, timeout, &mut out) };
    match st {
        TASKS_OK | TASKS_FAILED | TASKS_CANCELLED => check_join(cs, st, out, true),
        TASKS_ERR_WOULD_DEADLOCK if kind == Kind::Executor => {}
        TASKS_TIMED_OUT if timeout != 0 && kind != Kind::Executor => {}
        TASKS_PENDING if timeout == 0 => {}
        _ => l.fail(format!(
            "serial {parent}: joining child {cs} ({kind:?}, timeout {timeout}) returned {st:?}{}",
            if kind == Kind::Executor {
                ", want WOULD_DEADLOCK for a sibling on the same executor (defect 10)"
            } else {
                ""
            }
        )),
    }
    // SAFETY: our handle, freed once (detaching the child if it still runs).
    unsafe {
        if p.early() {
            tasks_join_handle_abort(h);
        }
        tasks_join_handle_free(h);
    }
}

/// Child slot tags (low two bits of `Slot::child`).
const TAG_HANDLE: usize = 1;
const TAG_SET: usize = 2;
const TAG_RT: usize = 3;

/// drop_arg's clean-up: a cancelled poll task's child handle or join set is released.
pub fn release_child(arg: *mut c_void) {
    let Some((serial, _)) = ledger().decode_quiet(arg) else {
        return;
    };
    let v = ledger().slot(serial).child.load(SeqCst);
    if v & 3 == TAG_RT || v == 0 {
        return;
    }
    ledger().slot(serial).child.store(0, SeqCst);
    // SAFETY: the task owned these; it is done with them.
    unsafe {
        match v & 3 {
            TAG_HANDLE => tasks_join_handle_free((v & !3) as *mut tasks_join_handle),
            _ => drop(Box::from_raw((v & !3) as *mut ChildSet)),
        }
    }
}

unsafe extern "C" fn block_in_place_fn(arg: *mut c_void) {
    let (flag, delay) = unsafe { &*(arg as *const (std::sync::atomic::AtomicBool, u64)) };
    std::thread::sleep(Duration::from_nanos(*delay));
    flag.store(true, SeqCst);
}

fn block_in_place(serial: usize, p: Prog) {
    let cell = (
        std::sync::atomic::AtomicBool::new(false),
        p.delay_ns().min(200_000),
    );
    // SAFETY: the function and its argument outlive the call.
    let st =
        unsafe { tasks_block_in_place(Some(block_in_place_fn), &cell as *const _ as *mut c_void) };
    if st != TASKS_OK || !cell.0.load(SeqCst) {
        ledger().fail(format!(
            "serial {serial}: tasks_block_in_place returned {st:?} / did not call fn"
        ));
    }
}

/// Freeing, shutting down or blocking on one's own runtime from inside it must be refused.
fn guard(serial: usize) {
    let l = ledger();
    let s = l.slot(serial);
    let kind = s.kind.load(SeqCst);
    let rt = tasks_current_runtime();
    if rt.is_null() || kind == Kind::Executor as u8 {
        return;
    }
    let want = if rt == tasks_runtime_default() {
        TASKS_ERR_INVALID
    } else {
        TASKS_ERR_WOULD_DEADLOCK
    };
    // SAFETY: the runtime we run on; the calls must refuse.
    unsafe {
        let st = tasks_runtime_shutdown(rt, 0);
        if st != want {
            l.fail(format!("serial {serial}: tasks_runtime_shutdown(own runtime) from a task returned {st:?}, want {want:?}"));
        }
        let st = tasks_runtime_free(rt);
        if st != want {
            l.fail(format!("serial {serial}: tasks_runtime_free(own runtime) from a task returned {st:?}, want {want:?}"));
        }
    }
    if kind == Kind::Blocking as u8 || kind == Kind::BlockOn as u8 {
        return; // block_on is refused on workers; other threads of the runtime may block
    }
    let inst = s.inst.load(SeqCst);
    let Some((bs, arg)) = l.alloc(Kind::BlockOn, inst, Prog(0).0) else {
        return;
    };
    let o = opts(false);
    let mut out = SENTINEL;
    // SAFETY: as above.
    let st = unsafe { tasks_block_on(rt, Some(poll_body), arg, &o, &mut out) };
    l.spawned(bs, false, 0);
    if st != TASKS_ERR_WOULD_DEADLOCK || out != SENTINEL {
        l.fail(format!(
            "serial {serial}: tasks_block_on(own runtime) from a worker returned {st:?}"
        ));
    }
}

/// A task of a non-default runtime drives a task on the default runtime with tasks_block_on.
fn block_on_other(serial: usize, p: Prog) {
    let l = ledger();
    let s = l.slot(serial);
    let inst = s.inst.load(SeqCst);
    if inst == 0 || inst & ledger::EXEC_INST != 0 || s.kind.load(SeqCst) == Kind::BlockOn as u8 {
        return;
    }
    let inner = if p.early() && !skipped(Body::GuardParent) {
        Prog(BODIES.iter().position(|&b| b == Body::GuardParent).unwrap() as u32)
    } else {
        p.leaf()
    };
    let Some((bs, arg)) = l.alloc(Kind::BlockOn, 0, inner.0) else {
        return;
    };
    l.slot(bs)
        .child
        .store(l.ptr(inst) as usize | TAG_RT, SeqCst);
    let o = opts(false);
    let mut out = SENTINEL;
    // SAFETY: the default runtime lives forever.
    let st = unsafe { tasks_block_on(tasks_runtime_default(), Some(poll_body), arg, &o, &mut out) };
    l.spawned(
        bs,
        matches!(st, TASKS_OK | TASKS_FAILED | TASKS_CANCELLED),
        0,
    );
    match st {
        TASKS_OK | TASKS_FAILED | TASKS_CANCELLED => l.on_join(bs, st as i32, out, false, true),
        _ => l.fail(format!(
            "serial {serial}: tasks_block_on(default) from a task returned {st:?}"
        )),
    }
}

/// Inside a block_on (on a worker of A): freeing or shutting down A must be refused.
fn guard_parent(serial: usize) {
    let l = ledger();
    let v = l.slot(serial).child.load(SeqCst);
    if v & 3 != TAG_RT {
        return;
    }
    let a = (v & !3) as *mut tasks_runtime;
    // SAFETY: A is alive: one of its tasks is blocked in this block_on.
    unsafe {
        let st = tasks_runtime_shutdown(a, 0);
        if st != TASKS_ERR_WOULD_DEADLOCK {
            l.fail(format!("serial {serial}: tasks_runtime_shutdown(A, 0) from block_on(B) run by a task of A returned {st:?} (defect 10)"));
        }
        let st = tasks_runtime_free(a);
        if st != TASKS_ERR_WOULD_DEADLOCK {
            l.fail(format!("serial {serial}: tasks_runtime_free(A) from block_on(B) run by a task of A returned {st:?} (defect 10)"));
        }
    }
}

/// A run-to-completion task.
pub unsafe extern "C" fn run_body(arg: *mut c_void, output: *mut *mut c_void) -> i32 {
    let l = ledger();
    let Some((serial, prog)) = l.decode(arg, "run body") else {
        return 0;
    };
    let p = Prog(prog);
    let s = l.enter(serial);
    s.step.store(1, SeqCst);
    locals_begin(serial, p);
    match p.body() {
        Body::Yield | Body::CheckCancel => {
            for _ in 0..p.n() * 64 {
                if tasks_current_is_cancelled() {
                    break;
                }
                std::hint::spin_loop();
            }
        }
        Body::Sleep => std::thread::sleep(Duration::from_nanos(p.delay_ns())),
        Body::Child => run_child(serial, p),
        Body::JoinSetChild => children::run_join_set(serial, p),
        Body::BlockInPlace => block_in_place(serial, p),
        Body::Guard => guard(serial),
        Body::ExecGuard => children::exec_guard(serial),
        Body::BlockOnOther => block_on_other(serial, p),
        Body::GuardParent => guard_parent(serial),
        Body::Return | Body::PoolPark | Body::SelfWake => {}
    }
    if finish(serial, p, output) { 0 } else { 1 }
}

fn done(serial: usize, p: Prog, output: *mut *mut c_void) -> tasks_poll {
    if finish(serial, p, output) {
        tasks_poll::TASKS_POLL_READY
    } else {
        tasks_poll::TASKS_POLL_FAILED
    }
}

/// A poll-style task: a state machine over `Slot::step`.
pub unsafe extern "C" fn poll_body(
    state: *mut c_void,
    cx: *mut tasks_context,
    output: *mut *mut c_void,
) -> tasks_poll {
    use tasks_poll::*;
    let l = ledger();
    let Some((serial, prog)) = l.decode(state, "poll body") else {
        return TASKS_POLL_READY;
    };
    let p = Prog(prog);
    let s = l.enter(serial);
    // SAFETY: the context of this poll.
    let cid = unsafe { tasks_context_id(cx) };
    if cid != tasks_current_id() {
        l.fail(format!(
            "serial {serial}: tasks_context_id {cid} != tasks_current_id {}",
            tasks_current_id()
        ));
    }
    let step = s.step.fetch_add(1, SeqCst);
    if step == 0 {
        locals_begin(serial, p);
    }
    let more = step < p.n();
    // SAFETY (all arms): the context is valid during this poll; wakers are ours to consume.
    unsafe {
        match p.body() {
            Body::Yield if more => return TASKS_POLL_YIELD,
            Body::CheckCancel if more && !tasks_current_is_cancelled() => return TASKS_POLL_YIELD,
            Body::Sleep if more => {
                let st = tasks_context_sleep(cx, p.delay_ns());
                if st != TASKS_OK {
                    l.fail(format!(
                        "serial {serial}: tasks_context_sleep returned {st:?}"
                    ));
                }
                return TASKS_POLL_PENDING;
            }
            Body::PoolPark if more => {
                pool::push(tasks_context_waker(cx));
                return TASKS_POLL_PENDING;
            }
            Body::SelfWake if more => {
                let w = tasks_context_waker(cx);
                let c = tasks_waker_clone(w);
                if !tasks_waker_will_wake(w, c) {
                    l.fail(format!(
                        "serial {serial}: a clone of a task waker does not will_wake it"
                    ));
                }
                if step % 2 == 0 {
                    tasks_waker_wake(w);
                    tasks_waker_free(c);
                } else {
                    tasks_waker_wake_by_ref(c);
                    tasks_waker_free(c);
                    tasks_waker_free(w);
                }
                return TASKS_POLL_PENDING;
            }
            Body::Child => {
                if step == 0 {
                    match spawn_child(serial, p) {
                        Some((cs, h, _)) => {
                            s.child.store(h as usize | TAG_HANDLE, SeqCst);
                            s.child_serial.store(cs, SeqCst);
                        }
                        None => return done(serial, p, output),
                    }
                }
                let v = s.child.load(SeqCst);
                let h = (v & !3) as *mut tasks_join_handle;
                let cs = s.child_serial.load(SeqCst);
                let mut out = SENTINEL;
                let st = tasks_join_handle_poll(h, cx, &mut out);
                match st {
                    TASKS_PENDING => return TASKS_POLL_PENDING,
                    TASKS_OK | TASKS_FAILED | TASKS_CANCELLED => check_join(cs, st, out, true),
                    _ => l.fail(format!(
                        "serial {serial}: tasks_join_handle_poll returned {st:?}"
                    )),
                }
                s.child.store(0, SeqCst);
                tasks_join_handle_free(h);
            }
            Body::JoinSetChild => {
                if let Some(r) = children::poll_join_set(serial, p, cx) {
                    return r;
                }
            }
            Body::BlockInPlace => block_in_place(serial, p),
            Body::Guard => guard(serial),
            Body::ExecGuard => children::exec_guard(serial),
            Body::GuardParent => guard_parent(serial),
            _ => {}
        }
    }
    done(serial, p, output)
}

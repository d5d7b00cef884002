//! One harness thread's objects (join handles, join sets, custom wakers, its executor) and
//! the execution of each operation on them, with the checks on the library's answers.

use std::ffi::c_void;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};

use tasks::ffi::abort_handle::*;
use tasks::ffi::bridge::{tasks_block_in_place, tasks_block_on};
use tasks::ffi::current::tasks_current_id;
use tasks::ffi::executor::*;
use tasks::ffi::join_handle::*;
use tasks::ffi::join_set::*;
use tasks::ffi::runtime::tasks_metrics;
use tasks::ffi::runtime::{
    tasks_runtime, tasks_runtime_default, tasks_runtime_metrics, tasks_runtime_shutdown,
};
use tasks::ffi::spawn::*;
use tasks::ffi::status::TASKS_FOREVER;
use tasks::ffi::tasks_status::{self, *};
use tasks::ffi::waker::*;

use super::api_ops::{How, Op, Target};
use super::children::{ChildSet, MaybeStatus, exec_spawn, exec_spawn_poll};
use super::draw::Draw;
use super::ledger::{Kind, SENTINEL, ledger, now_ns};
use super::pool;
use super::program::{CURRENT_EXEC, opts, poll_body, run_body};
use super::world::{Exec, Held, Notify, Rt, World, check_metrics, notify};

/// One custom waker family (tasks_waker_new and its clones).
struct Custom {
    state: Box<CustomState>,
    clones: Vec<usize>,
}

#[derive(Default)]
struct CustomState {
    wakes: AtomicU64,
    drops: AtomicU32,
}

unsafe extern "C" fn custom_wake(data: *mut c_void) {
    // SAFETY: the state box lives until its drop has been seen.
    unsafe { &*(data as *const CustomState) }
        .wakes
        .fetch_add(1, SeqCst);
}

unsafe extern "C" fn custom_drop(data: *mut c_void) {
    // SAFETY: as above.
    unsafe { &*(data as *const CustomState) }
        .drops
        .fetch_add(1, SeqCst);
}

pub struct Actor {
    pub idx: usize,
    pub world: &'static World,
    handles: Vec<Held>,
    sets: Vec<(ChildSet, u16)>,
    customs: Vec<Custom>,
}

fn pick<T>(v: &[T], p: u32) -> Option<usize> {
    (!v.is_empty()).then(|| p as usize % v.len())
}

impl Actor {
    pub fn new(idx: usize, world: &'static World) -> Actor {
        Actor {
            idx,
            world,
            handles: Vec::new(),
            sets: Vec::new(),
            customs: Vec::new(),
        }
    }

    pub fn exec(&mut self, op: Op, d: &mut impl Draw) {
        match op {
            Op::Spawn {
                how,
                target,
                prog,
                keep,
                named,
            } => self.spawn(how, target, prog.0, keep, named),
            Op::Join {
                pick: p,
                timeout,
                out_null,
            } => self.join(p, timeout, out_null),
            Op::IsFinished { pick: p } => self.is_finished(p),
            Op::Abort {
                pick: p,
                via_abort_handle,
            } => self.abort(p, via_abort_handle),
            Op::FreeHandle { pick: p } => {
                if let Some(i) = pick(&self.handles, p) {
                    let h = self.handles.swap_remove(i);
                    // SAFETY: our handle, freed once.
                    unsafe { tasks_join_handle_free(h.h as *mut _) };
                }
            }
            Op::Share { pick: p } => {
                if let Some(i) = pick(&self.handles, p) {
                    let h = self.handles.swap_remove(i);
                    self.world.shared.lock().unwrap().push(h);
                }
            }
            Op::TakeShared { pick: p } => {
                let mut s = self.world.shared.lock().unwrap();
                if let Some(i) = pick(&s, p) {
                    let h = s.swap_remove(i);
                    drop(s);
                    self.handles.push(h);
                }
            }
            Op::AbortPool { pick: p, what } => self.abort_pool(p, what),
            Op::SetNew { target } => self.set_new(target),
            Op::SetSpawn {
                pick: p,
                poll,
                prog,
            } => self.set_spawn(p, poll, prog.0),
            Op::SetNext {
                pick: p,
                timeout,
                out_null,
            } => self.set_next(p, timeout, out_null),
            Op::SetAbortAll { pick: p } => {
                if let Some(i) = pick(&self.sets, p) {
                    // SAFETY: our set.
                    unsafe { tasks_join_set_abort_all(self.sets[i].0.set) };
                }
            }
            Op::SetFree { pick: p } => {
                if let Some(i) = pick(&self.sets, p) {
                    drop(self.sets.swap_remove(i));
                }
            }
            Op::ExecNew => self.exec_new(),
            Op::ExecSpawn {
                owner,
                poll,
                prog,
                keep,
            } => self.exec_spawn(owner, poll, prog.0, keep),
            Op::ExecRun { max } => self.exec_run(max as usize),
            Op::ExecLen { owner } => self.exec_len(owner),
            Op::ExecFree => self.exec_free(),
            Op::BlockOn {
                target,
                prog,
                out_null,
            } => self.block_on(target, prog.0, out_null),
            Op::BlockInPlace => {
                static RAN: AtomicBool = AtomicBool::new(false);
                unsafe extern "C" fn f(_: *mut c_void) {
                    RAN.store(true, SeqCst);
                }
                RAN.store(false, SeqCst);
                // SAFETY: a valid function.
                let st = unsafe { tasks_block_in_place(Some(f), std::ptr::null_mut()) };
                // Other harness threads may reset RAN meanwhile; only a failed status counts.
                if st != TASKS_OK {
                    ledger().fail(format!("tasks_block_in_place off a worker returned {st:?}"));
                }
            }
            Op::Pool { op, pick: p } => pool::apply(op, p),
            Op::Custom { what, pick: p } => self.custom(what, p),
            Op::Shutdown { slot, timeout } => self.shutdown(slot, timeout),
            Op::Replace { slot } => self.replace(slot, d),
            Op::Metrics { target } => self.metrics(target),
        }
        if tasks_current_id() != 0 {
            ledger().fail(format!(
                "tasks_current_id() is {} on a harness thread",
                tasks_current_id()
            ));
        }
    }

    /// Resolves a target to (instance, runtime pointer, shut), calling `f` under the slot's
    /// read lock; skipped if the slot is busy or empty.
    fn with_target(&self, t: Target, f: impl FnOnce(u16, *mut tasks_runtime, bool)) {
        match t {
            Target::Default => f(0, tasks_runtime_default(), false),
            Target::Null => f(0, std::ptr::null_mut(), false),
            Target::Slot(i) => {
                let Some(slot) = self.world.slots.get(i as usize) else {
                    return;
                };
                let Ok(g) = slot.try_read() else { return };
                if let Some(rt) = g.as_ref() {
                    f(rt.inst, rt.rt(), rt.shut.load(SeqCst));
                }
            }
        }
    }

    fn spawn(&mut self, how: How, target: Target, prog: u32, keep: bool, named: bool) {
        let world = self.world;
        let mut held = None;
        self.with_target(target, |inst, rt, shut| {
            let l = ledger();
            let kind = match how {
                How::Blocking => Kind::Blocking,
                How::After(_) => Kind::After,
                _ => Kind::Worker,
            };
            let Some((serial, arg)) = l.alloc(kind, inst, prog) else { return };
            let o = opts(named);
            let mut h: *mut tasks_join_handle = std::ptr::null_mut();
            let out = if keep { &mut h as *mut _ } else { std::ptr::null_mut() };
            // SAFETY: valid functions, options and out-pointer; the runtime is alive (read lock).
            let st = unsafe {
                match how {
                    How::Run => tasks_spawn(rt, Some(run_body), arg, &o, out),
                    How::Poll => tasks_spawn_poll(rt, Some(poll_body), arg, &o, out),
                    How::Blocking => tasks_spawn_blocking(rt, Some(run_body), arg, &o, out),
                    How::After(ns) => {
                        l.slot(serial).not_before.store(now_ns() + ns, SeqCst);
                        tasks_spawn_after(rt, ns, Some(run_body), arg, &o, out)
                    }
                }
            };
            let ok = st == TASKS_OK;
            if ok && shut {
                l.fail(format!(
                    "serial {serial}: spawn accepted ({how:?}) after a tasks_runtime_shutdown returned (defect 16)"
                ));
            }
            if !ok && (st != TASKS_ERR_SHUTDOWN || inst == 0) {
                l.fail(format!("serial {serial}: spawn ({how:?}) on instance {inst} returned {st:?}"));
            }
            // SAFETY: a handle we own.
            let id = if ok && keep { unsafe { tasks_join_handle_id(h) } } else { 0 };
            l.spawned(serial, ok, id);
            if ok && keep {
                held = Some(Held { h: h as usize, serial, exec_owner: None, done: None });
            }
        });
        let _ = world;
        self.handles.extend(held);
    }

    /// A join with `timeout`, checked against the ledger. Executor tasks are never waited on
    /// without limit: only their owner thread runs them.
    fn join(&mut self, p: u32, timeout: u64, out_null: bool) {
        let Some(i) = pick(&self.handles, p) else {
            return;
        };
        let me = self.idx;
        let held = &mut self.handles[i];
        let timeout = match held.exec_owner {
            Some(o) if o == me => 0,
            Some(_) => timeout.min(1_000_000),
            None => timeout,
        };
        let mut out = SENTINEL;
        let outp = if out_null {
            std::ptr::null_mut()
        } else {
            &mut out as *mut _
        };
        // SAFETY: our handle.
        let st = unsafe { tasks_join_handle_join(held.h as *mut _, timeout, outp) };
        check_join_status(held, st, out, out_null, timeout);
    }

    fn is_finished(&mut self, p: u32) {
        let Some(i) = pick(&self.handles, p) else {
            return;
        };
        let held = self.handles[i];
        let l = ledger();
        // SAFETY: our handle.
        let (fin, id) = unsafe {
            (
                tasks_join_handle_is_finished(held.h as *mut _),
                tasks_join_handle_id(held.h as *mut _),
            )
        };
        let s = l.slot(held.serial);
        if fin
            && (s.drops.load(SeqCst) != 1
                || s.locals_set.load(SeqCst) != s.locals_destroyed.load(SeqCst))
        {
            l.fail(format!(
                "serial {}: is_finished before drop_arg / local destructors ran",
                held.serial
            ));
        }
        let known = s.id.load(SeqCst);
        if id == 0 || (known != 0 && id != known) {
            l.fail(format!(
                "serial {}: handle id {id}, task id {known}",
                held.serial
            ));
        }
    }

    fn abort(&mut self, p: u32, via_abort_handle: bool) {
        let Some(i) = pick(&self.handles, p) else {
            return;
        };
        let h = self.handles[i].h as *mut tasks_join_handle;
        // SAFETY: our handle; the abort handle is freed once.
        unsafe {
            if via_abort_handle {
                let a = tasks_join_handle_abort_handle(h);
                if tasks_abort_handle_id(a) != tasks_join_handle_id(h) {
                    ledger().fail("abort handle id differs from its join handle's".into());
                }
                tasks_abort_handle_abort(a);
                tasks_abort_handle_abort(a); // a second abort does nothing
                tasks_abort_handle_free(a);
            } else {
                tasks_join_handle_abort(h);
            }
        }
    }

    fn abort_pool(&mut self, p: u32, what: u8) {
        let l = ledger();
        let mut pool = self.world.aborts.lock().unwrap();
        // SAFETY: pooled abort handles are live and owned by the pool.
        unsafe {
            match what {
                0 => {
                    if let Some(i) = pick(&self.handles, p) {
                        let a = tasks_join_handle_abort_handle(self.handles[i].h as *mut _);
                        pool.push((a as usize, self.handles[i].serial));
                    }
                }
                1 | 2 => {
                    let Some(i) = pick(&pool, p) else { return };
                    let (a, serial) = pool[i];
                    let a = a as *mut tasks_abort_handle;
                    if what == 1 {
                        tasks_abort_handle_abort(a);
                    } else {
                        let c = tasks_abort_handle_clone(a);
                        pool.push((c as usize, serial));
                    }
                    let s = l.slot(serial);
                    if tasks_abort_handle_is_finished(a) && s.drops.load(SeqCst) != 1 {
                        l.fail(format!(
                            "serial {serial}: abort handle is_finished before drop_arg ran"
                        ));
                    }
                    let known = s.id.load(SeqCst);
                    if known != 0 && tasks_abort_handle_id(a) != known {
                        l.fail(format!(
                            "serial {serial}: abort handle id differs from the task's"
                        ));
                    }
                }
                _ => {
                    let Some(i) = pick(&pool, p) else { return };
                    tasks_abort_handle_free(pool.swap_remove(i).0 as *mut _);
                }
            }
        }
    }

    fn set_new(&mut self, target: Target) {
        let mut made = None;
        self.with_target(target, |inst, rt, _| {
            let mut set = std::ptr::null_mut();
            // SAFETY: a live runtime (read lock) or NULL.
            let st = unsafe { tasks_join_set_new(rt, &mut set) };
            if st != TASKS_OK {
                ledger().fail(format!(
                    "tasks_join_set_new on instance {inst} returned {st:?}"
                ));
                return;
            }
            made = Some((ChildSet::wrap(set, usize::MAX), inst));
        });
        self.sets.extend(made);
    }

    fn set_spawn(&mut self, p: u32, poll: bool, prog: u32) {
        let Some(i) = pick(&self.sets, p) else { return };
        let l = ledger();
        let world = self.world;
        let (cs, inst) = &mut self.sets[i];
        // Hold the set's runtime slot (read) across the spawn and its ledger entry, as every
        // other spawn does: a free of that runtime (write lock) then checks its metrics either
        // before the spawn or after the ledger knows about it, never in between (a harness race
        // once reported as core "defect 17"). A set whose runtime is gone needs no guard: the
        // spawn is refused.
        let _slot = world.slots.iter().find_map(|s| {
            let g = s.read().ok()?;
            (g.as_ref()?.inst == *inst).then_some(g)
        });
        let Some((serial, arg)) = l.alloc(Kind::JoinSet, *inst, prog) else {
            return;
        };
        let o = opts(false);
        let mut id = 0;
        // SAFETY: our set, valid functions and options.
        let st = unsafe {
            if poll {
                tasks_join_set_spawn_poll(cs.set, Some(poll_body), arg, &o, &mut id)
            } else {
                tasks_join_set_spawn(cs.set, Some(run_body), arg, &o, &mut id)
            }
        };
        let ok = st == TASKS_OK;
        if !ok && (st != TASKS_ERR_SHUTDOWN || *inst == 0) {
            l.fail(format!(
                "serial {serial}: tasks_join_set_spawn returned {st:?}"
            ));
        }
        l.spawned(serial, ok, id);
        if ok {
            cs.kids.push((id, serial));
        }
    }

    fn set_next(&mut self, p: u32, timeout: u64, out_null: bool) {
        let Some(i) = pick(&self.sets, p) else { return };
        let cs = &mut self.sets[i].0;
        let (mut out, mut id) = (SENTINEL, 0);
        let outp = if out_null {
            std::ptr::null_mut()
        } else {
            &mut out as *mut _
        };
        // SAFETY: our set.
        let st = unsafe { tasks_join_set_join_next(cs.set, timeout, outp, &mut id) };
        if st == TASKS_TIMED_OUT && (timeout == 0 || timeout == TASKS_FOREVER) {
            ledger().fail(format!(
                "join_next with timeout {timeout} returned TIMED_OUT"
            ));
        }
        if st == TASKS_PENDING && timeout != 0 {
            ledger().fail(format!("join_next with timeout {timeout} returned PENDING"));
        }
        cs.take(st, out, out_null, id);
    }

    fn exec_new(&mut self) {
        let Ok(mut g) = self.world.execs[self.idx].try_write() else {
            return;
        };
        if g.is_some() {
            return;
        }
        let Some(inst) = ledger().new_exec_inst() else {
            return;
        };
        let mut ex = std::ptr::null_mut();
        // SAFETY: a valid out-pointer.
        let st = unsafe { tasks_executor_new(&mut ex) };
        if st != TASKS_OK {
            ledger().fail(format!("tasks_executor_new returned {st:?}"));
            return;
        }
        let n: &'static Notify = &self.world.notifies[self.idx];
        n.freed.store(false, SeqCst);
        // SAFETY: our executor; the notify state is never freed.
        unsafe { tasks_executor_set_notify(ex, Some(notify), n as *const Notify as *mut c_void) };
        ledger().set_ptr(inst, ex.cast());
        *g = Some(Exec {
            ptr: ex as usize,
            inst,
            notify: n,
        });
    }

    fn exec_spawn(&mut self, owner: u32, poll: bool, prog: u32, keep: bool) {
        let owner = owner as usize % self.world.threads;
        let Ok(g) = self.world.execs[owner].try_read() else {
            return;
        };
        let Some(ex) = g.as_ref() else { return };
        let l = ledger();
        let Some((serial, arg)) = l.alloc(Kind::Executor, ex.inst, prog) else {
            return;
        };
        let o = opts(false);
        let mut h: *mut tasks_join_handle = std::ptr::null_mut();
        let out = if keep {
            &mut h as *mut _
        } else {
            std::ptr::null_mut()
        };
        // SAFETY: a live executor (read lock); valid functions and options.
        let st = unsafe {
            if poll {
                exec_spawn_poll(ex.ex(), arg, &o, out)
            } else {
                exec_spawn(ex.ex(), arg, &o, out)
            }
        };
        let ok = st == TASKS_OK;
        if !ok {
            l.fail(format!(
                "serial {serial}: tasks_executor_spawn returned {st:?}"
            ));
        }
        // SAFETY: a handle we own.
        let id = if ok && keep {
            unsafe { tasks_join_handle_id(h) }
        } else {
            0
        };
        l.spawned(serial, ok, id);
        if ok && keep {
            self.handles.push(Held {
                h: h as usize,
                serial,
                exec_owner: Some(owner),
                done: None,
            });
        }
    }

    fn exec_run(&mut self, max: usize) {
        let Ok(g) = self.world.execs[self.idx].try_read() else {
            return;
        };
        let Some(ex) = g.as_ref() else { return };
        CURRENT_EXEC.with(|c| c.set(ex.ptr));
        // SAFETY: our executor, on its owner thread.
        let n = unsafe { tasks_executor_run(ex.ex(), max) };
        CURRENT_EXEC.with(|c| c.set(0));
        if n > max {
            ledger().fail(format!("tasks_executor_run({max}) polled {n}"));
        }
    }

    fn exec_len(&mut self, owner: u32) {
        let owner = owner as usize % self.world.threads;
        let Ok(g) = self.world.execs[owner].try_read() else {
            return;
        };
        let Some(ex) = g.as_ref() else { return };
        // SAFETY: a live executor.
        let len = unsafe { tasks_executor_len(ex.ex()) } as u64;
        let spawned = ledger().allocs(ex.inst);
        if len > spawned {
            ledger().fail(format!(
                "tasks_executor_len {len} > tasks ever spawned {spawned} (defect 11)"
            ));
        }
    }

    /// Frees this thread's executor (waiting for other threads' brief read locks when `wait`).
    // unit_arg: today's tasks_executor_free returns (); see MaybeStatus.
    #[allow(clippy::unit_arg)]
    pub fn exec_free_inner(&mut self, wait: bool) {
        let lock = &self.world.execs[self.idx];
        let mut g = loop {
            match lock.try_write() {
                Ok(g) => break g,
                Err(_) if wait => std::thread::yield_now(),
                Err(_) => return,
            }
        };
        let Some(ex) = g.take() else { return };
        drop(g);
        let l = ledger();
        // SAFETY: our executor, on its owner thread, nobody else holds it.
        if let Some(st) = unsafe { tasks_executor_free(ex.ex()) }.status()
            && st != TASKS_OK
        {
            l.fail(format!("tasks_executor_free returned {st:?}"));
        }
        ex.notify.freed.store(true, SeqCst);
        l.mark_freed(ex.inst);
        if let Some(u) = l.first_undropped(ex.inst) {
            l.fail(format!("after tasks_executor_free: {u}"));
        }
    }

    fn exec_free(&mut self) {
        self.exec_free_inner(false);
    }

    fn block_on(&mut self, target: Target, prog: u32, out_null: bool) {
        self.with_target(target, |inst, rt, shut| {
            let l = ledger();
            let Some((serial, arg)) = l.alloc(Kind::BlockOn, inst, prog) else { return };
            let o = opts(false);
            let mut out = SENTINEL;
            let outp = if out_null { std::ptr::null_mut() } else { &mut out as *mut _ };
            // SAFETY: a live runtime (read lock) or NULL; valid function and options.
            let st = unsafe { tasks_block_on(rt, Some(poll_body), arg, &o, outp) };
            let ended = matches!(st, TASKS_OK | TASKS_FAILED | TASKS_CANCELLED);
            l.spawned(serial, ended, 0);
            if ended {
                l.on_join(serial, st as i32, out, out_null, true);
            } else if !(st == TASKS_ERR_SHUTDOWN && inst != 0) || out != SENTINEL {
                let tag = if st == TASKS_ERR_INTERNAL { " (defect 9)" } else { "" };
                l.fail(format!("serial {serial}: tasks_block_on on instance {inst} (shut: {shut}) returned {st:?}{tag}"));
            }
            if ended && shut && st != TASKS_CANCELLED {
                // Accepted after shutdown returned: the contract says SHUTDOWN, nothing taken.
                l.fail(format!(
                    "serial {serial}: tasks_block_on accepted after a tasks_runtime_shutdown returned (defect 16)"
                ));
            }
        });
    }

    fn custom(&mut self, what: u8, p: u32) {
        let l = ledger();
        if what == 0 || self.customs.is_empty() {
            let state = Box::<CustomState>::default();
            let data = &*state as *const CustomState as *mut c_void;
            let w = tasks_waker_new(Some(custom_wake), data, Some(custom_drop));
            if w.is_null() {
                l.fail("tasks_waker_new returned NULL".into());
                return;
            }
            self.customs.push(Custom {
                state,
                clones: vec![w as usize],
            });
            return;
        }
        let n = self.customs.len();
        let i = p as usize % n;
        let c = &mut self.customs[i];
        let j = (p as usize / n) % c.clones.len();
        let w = c.clones[j] as *mut tasks_waker;
        let before = c.state.wakes.load(SeqCst);
        // SAFETY: our wakers; each consumed or freed once.
        unsafe {
            match what {
                1 => {
                    let n = tasks_waker_clone(w);
                    if !tasks_waker_will_wake(w, n) {
                        l.fail("a clone of a custom waker does not will_wake it".into());
                    }
                    c.clones.push(n as usize);
                }
                2 => {
                    tasks_waker_wake_by_ref(w);
                    if c.state.wakes.load(SeqCst) != before + 1 {
                        l.fail("tasks_waker_wake_by_ref did not call wake exactly once".into());
                    }
                }
                _ => {
                    c.clones.swap_remove(j);
                    if what == 3 {
                        tasks_waker_wake(w);
                        if c.state.wakes.load(SeqCst) != before + 1 {
                            l.fail("tasks_waker_wake did not call wake exactly once".into());
                        }
                    } else {
                        tasks_waker_free(w);
                    }
                }
            }
        }
        let want = u32::from(c.clones.is_empty());
        if c.state.drops.load(SeqCst) != want {
            l.fail(format!(
                "custom waker: drop ran {} times with {} clones left",
                c.state.drops.load(SeqCst),
                c.clones.len()
            ));
        }
        if c.clones.is_empty() {
            self.customs.swap_remove(i);
        }
    }

    fn shutdown(&mut self, slot: u8, timeout: u64) {
        let Some(s) = self.world.slots.get(slot as usize) else {
            return;
        };
        let Ok(g) = s.try_read() else { return };
        let Some(rt) = g.as_ref() else { return };
        // SAFETY: a live runtime (read lock).
        let st = unsafe { tasks_runtime_shutdown(rt.rt(), timeout) };
        if st != TASKS_OK && !(st == TASKS_TIMED_OUT && timeout != TASKS_FOREVER) {
            ledger().fail(format!(
                "instance {}: shutdown({timeout}) returned {st:?}",
                rt.inst
            ));
        }
        rt.shut.store(true, SeqCst);
    }

    /// Frees the runtime in `slot` (with the full accounting check) and puts a new one there.
    pub fn replace(&mut self, slot: u8, d: &mut impl Draw) {
        let Some(s) = self.world.slots.get(slot as usize) else {
            return;
        };
        let Ok(mut g) = s.try_write() else { return };
        if let Some(rt) = g.take() {
            rt.free();
        }
        *g = Rt::create(d, self.world.skip.allows("small_stacks"));
    }

    fn metrics(&mut self, target: Target) {
        self.with_target(target, |inst, rt, _| {
            let mut m = tasks_metrics::default();
            let rt = if rt.is_null() {
                tasks_runtime_default()
            } else {
                rt
            };
            // SAFETY: a live runtime.
            unsafe { tasks_runtime_metrics(rt, &mut m) };
            check_metrics(&m, 0, None, inst);
        });
    }

    /// The end of a round for this thread: everything it holds is released.
    pub fn cleanup(&mut self) {
        for _ in 0..4 {
            self.exec_run(1000);
        }
        self.exec_free_inner(true);
        for held in std::mem::take(&mut self.handles) {
            let mut out = SENTINEL;
            let timeout = if held.exec_owner.is_some() {
                0
            } else {
                TASKS_FOREVER
            };
            let mut held = held;
            // SAFETY: our handle, joined then freed once.
            unsafe {
                let st = tasks_join_handle_join(held.h as *mut _, timeout, &mut out);
                check_join_status(&mut held, st, out, false, timeout);
                tasks_join_handle_free(held.h as *mut _);
            }
        }
        self.sets.clear();
        for c in std::mem::take(&mut self.customs) {
            for w in c.clones {
                // SAFETY: our wakers.
                unsafe { tasks_waker_free(w as *mut tasks_waker) };
            }
            if c.state.drops.load(SeqCst) != 1 {
                ledger().fail(
                    "custom waker: drop did not run once after its last clone was freed".into(),
                );
            }
        }
    }
}

/// Checks a join's answer against the ledger and what earlier joins of the handle said.
fn check_join_status(
    held: &mut Held,
    st: tasks_status,
    out: *mut c_void,
    out_null: bool,
    timeout: u64,
) {
    let l = ledger();
    match st {
        TASKS_OK | TASKS_FAILED | TASKS_CANCELLED => {
            if let Some(prev) = held.done
                && prev != st as i32
            {
                l.fail(format!(
                    "serial {}: join returned {st:?} after {prev}",
                    held.serial
                ));
            }
            l.on_join(held.serial, st as i32, out, out_null, held.done.is_none());
            held.done = Some(st as i32);
        }
        TASKS_PENDING | TASKS_TIMED_OUT => {
            let allowed = if st == TASKS_PENDING {
                timeout == 0
            } else {
                timeout != 0 && timeout != TASKS_FOREVER
            };
            if !allowed || held.done.is_some() || out != SENTINEL {
                l.fail(format!(
                    "serial {}: join (timeout {timeout}) returned {st:?} (already ended: {:?}, output written: {})",
                    held.serial,
                    held.done,
                    out != SENTINEL
                ));
            }
        }
        _ => l.fail(format!("serial {}: join returned {st:?}", held.serial)),
    }
}

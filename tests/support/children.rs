//! Bodies that own other tasks: join sets inside tasks, and the local-executor helpers.

use std::ffi::c_void;
use std::sync::atomic::Ordering::SeqCst;

use tasks::ffi::body::{tasks_context, tasks_poll, tasks_spawn_opts};
use tasks::ffi::executor::{
    tasks_executor, tasks_executor_free, tasks_executor_len, tasks_executor_spawn,
    tasks_executor_spawn_poll,
};
use tasks::ffi::join_handle::tasks_join_handle;
use tasks::ffi::join_set::{
    tasks_join_set, tasks_join_set_free, tasks_join_set_join_next, tasks_join_set_len,
    tasks_join_set_new, tasks_join_set_poll_join_next, tasks_join_set_spawn,
    tasks_join_set_spawn_poll,
};
use tasks::ffi::runtime::{tasks_runtime, tasks_runtime_default};
use tasks::ffi::status::TASKS_FOREVER;
use tasks::ffi::tasks_status::{self, *};

use super::ledger::{Kind, SENTINEL, ledger};
use super::program::{CURRENT_EXEC, Prog, opts, poll_body, run_body};

/// `tasks_executor_free` returns nothing today and a status once defect 10 is fixed; the
/// harness compiles against both and checks the status when there is one.
pub trait MaybeStatus {
    fn status(self) -> Option<tasks_status>;
}
impl MaybeStatus for () {
    fn status(self) -> Option<tasks_status> {
        None
    }
}
impl MaybeStatus for tasks_status {
    fn status(self) -> Option<tasks_status> {
        Some(self)
    }
}

pub unsafe fn exec_spawn(
    ex: *mut tasks_executor,
    arg: *mut c_void,
    o: &tasks_spawn_opts,
    out: *mut *mut tasks_join_handle,
) -> tasks_status {
    // SAFETY: forwarded.
    unsafe { tasks_executor_spawn(ex, Some(run_body), arg, o, out) }
}

pub unsafe fn exec_spawn_poll(
    ex: *mut tasks_executor,
    arg: *mut c_void,
    o: &tasks_spawn_opts,
    out: *mut *mut tasks_join_handle,
) -> tasks_status {
    // SAFETY: forwarded.
    unsafe { tasks_executor_spawn_poll(ex, Some(poll_body), arg, o, out) }
}

/// A local-executor task frees its own executor: must be refused, the executor stays usable.
// unit_arg: today's tasks_executor_free returns (); see MaybeStatus.
#[allow(clippy::unit_arg)]
pub fn exec_guard(serial: usize) {
    let l = ledger();
    if l.slot(serial).kind.load(SeqCst) != Kind::Executor as u8 {
        return;
    }
    let ex = CURRENT_EXEC.with(|c| c.get()) as *mut tasks_executor;
    if ex.is_null() {
        return;
    }
    // SAFETY: the executor running this task; the call must refuse (defect 10).
    unsafe {
        if let Some(st) = tasks_executor_free(ex).status()
            && st != TASKS_ERR_WOULD_DEADLOCK
        {
            l.fail(format!(
                "serial {serial}: tasks_executor_free from its own task returned {st:?} (defect 10)"
            ));
        }
        if tasks_executor_len(ex) == 0 {
            l.fail(format!(
                "serial {serial}: executor empty/freed after tasks_executor_free from its own task"
            ));
        }
    }
}

/// A join set owned by a task, with the ids and serials of the children not yet joined.
pub struct ChildSet {
    pub set: *mut tasks_join_set,
    /// The owning task's serial, for messages (usize::MAX: a harness thread).
    parent: usize,
    pub kids: Vec<(u64, usize)>,
}

// SAFETY: a join set is used from one thread at a time; the harness moves it, never shares it.
unsafe impl Send for ChildSet {}

impl Drop for ChildSet {
    fn drop(&mut self) {
        // SAFETY: our set, freed once (aborting what is left).
        unsafe { tasks_join_set_free(self.set) };
    }
}

impl ChildSet {
    pub fn wrap(set: *mut tasks_join_set, parent: usize) -> ChildSet {
        ChildSet {
            set,
            parent,
            kids: Vec::new(),
        }
    }

    fn new(parent: usize, p: Prog) -> Option<ChildSet> {
        let l = ledger();
        let s = l.slot(parent);
        let (mut inst, mut rt) = (s.inst.load(SeqCst), std::ptr::null_mut::<tasks_runtime>());
        if s.kind.load(SeqCst) == Kind::Executor as u8 {
            (inst, rt) = (0, tasks_runtime_default());
        } else if !p.null_rt() {
            rt = l.ptr(inst).cast();
        }
        let mut set = std::ptr::null_mut();
        // SAFETY: the runtime is alive while its task runs.
        let st = unsafe { tasks_join_set_new(rt, &mut set) };
        if st != TASKS_OK {
            l.fail(format!(
                "serial {parent}: tasks_join_set_new returned {st:?}"
            ));
            return None;
        }
        let mut cs = ChildSet::wrap(set, parent);
        for i in 0..1 + p.n().min(3) {
            let cp = Prog(p.0 ^ (i << 15) ^ (i << 18)).leaf();
            let Some((serial, arg)) = l.alloc(Kind::JoinSet, inst, cp.0) else {
                break;
            };
            let o = opts(i == 0);
            let mut id = 0;
            // SAFETY: our set; valid functions and options.
            let st = unsafe {
                if p.child_poll() {
                    tasks_join_set_spawn_poll(set, Some(poll_body), arg, &o, &mut id)
                } else {
                    tasks_join_set_spawn(set, Some(run_body), arg, &o, &mut id)
                }
            };
            let ok = st == TASKS_OK;
            if !ok && st != TASKS_ERR_SHUTDOWN {
                l.fail(format!(
                    "serial {parent}: tasks_join_set_spawn returned {st:?}"
                ));
            }
            l.spawned(serial, ok, id);
            if ok {
                cs.kids.push((id, serial));
            }
        }
        Some(cs)
    }

    /// One join_next result; returns false once the set is empty.
    pub fn take(&mut self, st: tasks_status, out: *mut c_void, out_null: bool, id: u64) -> bool {
        let l = ledger();
        match st {
            TASKS_OK | TASKS_FAILED | TASKS_CANCELLED => {
                match self.kids.iter().position(|k| k.0 == id) {
                    Some(i) => {
                        let (_, serial) = self.kids.swap_remove(i);
                        l.on_join(serial, st as i32, out, out_null, true);
                    }
                    None => l.fail(format!(
                        "serial {}: join_next returned id {id}, not a task of the set",
                        self.parent
                    )),
                }
            }
            TASKS_EMPTY => {
                if !self.kids.is_empty() {
                    l.fail(format!(
                        "serial {}: join_next says EMPTY with {} tasks not returned",
                        self.parent,
                        self.kids.len()
                    ));
                }
                return false;
            }
            TASKS_PENDING | TASKS_TIMED_OUT => {}
            _ => l.fail(format!("serial {}: join_next returned {st:?}", self.parent)),
        }
        // SAFETY: our set.
        let len = unsafe { tasks_join_set_len(self.set) };
        if len != self.kids.len() {
            l.fail(format!(
                "serial {}: tasks_join_set_len {len}, expected {}",
                self.parent,
                self.kids.len()
            ));
        }
        true
    }
}

/// Run-to-completion: join every child in completion order (or free the set early).
pub fn run_join_set(parent: usize, p: Prog) {
    let Some(mut cs) = ChildSet::new(parent, p) else {
        return;
    };
    if p.early() {
        return; // dropped: the set is freed with its tasks aborted
    }
    let mut timeout = p.join_timeout();
    loop {
        let (mut out, mut id) = (SENTINEL, 0);
        // SAFETY: our set.
        let st = unsafe { tasks_join_set_join_next(cs.set, timeout, &mut out, &mut id) };
        if matches!(st, TASKS_PENDING | TASKS_TIMED_OUT) {
            timeout = TASKS_FOREVER;
        }
        if !cs.take(st, out, false, id) {
            break;
        }
    }
}

/// Poll-style: poll_join_next across polls; the set lives in the task's slot.
pub fn poll_join_set(parent: usize, p: Prog, cx: *mut tasks_context) -> Option<tasks_poll> {
    let s = ledger().slot(parent);
    if s.child.load(SeqCst) == 0 {
        let cs = Box::new(ChildSet::new(parent, p)?);
        s.child.store(Box::into_raw(cs) as usize | 2, SeqCst);
    }
    let ptr = (s.child.load(SeqCst) & !3) as *mut ChildSet;
    // SAFETY: the box stored above; only this task's polls touch it.
    let cs = unsafe { &mut *ptr };
    loop {
        let (mut out, mut id) = (SENTINEL, 0);
        // SAFETY: our set, polled with this poll's context.
        let st = unsafe { tasks_join_set_poll_join_next(cs.set, cx, &mut out, &mut id) };
        if st == TASKS_PENDING {
            return Some(tasks_poll::TASKS_POLL_PENDING);
        }
        if !cs.take(st, out, false, id) {
            break;
        }
    }
    s.child.store(0, SeqCst);
    // SAFETY: taken back out of the slot once.
    drop(unsafe { Box::from_raw(ptr) });
    None
}

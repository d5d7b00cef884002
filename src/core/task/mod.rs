//! Tasks: one allocation per task, a state word, and the rules every thread follows.
//!
//! # Layout
//! A task is one heap block, a [`Cell<B>`]: a type-erased [`Header`] (64 bytes: owner-list
//! links, state word, id, scheduler, vtable, join-waker slot, output slot), then the body `B`
//! (what the user passed: function, argument, drop functions, name). Everything generic goes
//! through the header's [`Vtable`], so queues, wakers and handles all hold a plain
//! `NonNull<Header>`.
//!
//! # References
//! The reference count lives in the state word (see [`state`]). References are held by: the
//! owner's task list (from spawn until release, see below), each queue entry (a [`Notified`],
//! one per SCHEDULED), the join handle, each abort handle, each waker, and any thread that
//! temporarily holds a [`TaskRef`]. The block is freed when the count reaches zero.
//!
//! # States and transitions
//! Flags: RUNNING, COMPLETE, SCHEDULED, NOTIFIED, CANCEL_REQUESTED, JOIN_INTEREST, JOIN_WAKER,
//! JOIN_PARKED, REGISTERING; outcome bits; kind bits. Every transition is one atomic RMW.
//!
//! 1. **spawn**: the state starts as SCHEDULED (+JOIN_INTEREST with a handle) with refs = list +
//!    queue entry (+ handle). The task is inserted in the owner's list (refused if the owner is
//!    closed: nothing ran, nothing is dropped but the block) and its entry submitted.
//! 2. **pop/run**: a worker pops an entry: SCHEDULED is cleared. If RUNNING or COMPLETE is set
//!    the entry was stale (someone claimed the task inline or by abort): its reference is
//!    dropped; if the task is COMPLETE this pop is the one that releases it. Otherwise the
//!    worker sets RUNNING and runs it.
//! 3. **inline claim** (join on a worker of the same runtime): a task neither RUNNING nor
//!    COMPLETE nor DELAYED may be claimed (RUNNING set) and run by the joiner; its queue entry
//!    goes stale. DELAYED (a `spawn_after` task whose start timer has not fired) is set before
//!    the task is published and cleared by the timer's firing, so a join never starts a task
//!    early.
//! 4. **poll returns PENDING/YIELD**: if CANCEL_REQUESTED → cancel (rule 7). If YIELD or
//!    NOTIFIED → clear RUNNING|NOTIFIED and, unless a (stale) entry still exists, set SCHEDULED
//!    with a new entry (to the back of the queue). Else clear RUNNING: the task is idle.
//! 5. **wake**: COMPLETE → nothing. RUNNING → set NOTIFIED (rule 4 reschedules once, however
//!    many wakes came). SCHEDULED → nothing (still a release RMW, so the waker's writes are seen
//!    by the coming poll). Idle → set SCHEDULED and submit an entry. Wakes therefore coalesce,
//!    and none is lost: a wake either finds the task idle (and queues it) or finds it running or
//!    queued (and that run/entry polls it after the wake).
//! 6. **abort**: COMPLETE → nothing. RUNNING → set CANCEL_REQUESTED (a poll task is cancelled
//!    when its poll returns PENDING/YIELD; a READY/FAILED from that poll stands; a
//!    run-to-completion task may check it and its result stands). Otherwise the aborter claims
//!    RUNNING and cancels the task itself, before abort returns: the body is dropped (drop_arg),
//!    the task completes as CANCELLED and its joiners are woken, even if every worker is busy.
//!    A queue entry that still exists goes stale.
//! 7. **complete** (only by the holder of RUNNING): output written, body dropped, outcome
//!    counted in the metrics, then one RMW sets COMPLETE + outcome and clears
//!    RUNNING|NOTIFIED. `is_finished` therefore turns true only after drop_arg ran, and a
//!    joiner reading the metrics sees its task counted. The completer then, using the state
//!    before that RMW: if SCHEDULED was clear, releases the task from its owner's list
//!    (if an entry still exists, the pop that discards it releases it: rule 2); if
//!    JOIN_INTEREST was clear, drops the output; if JOIN_WAKER was set, wakes it (rule 9);
//!    if JOIN_PARKED was set, unparks the waiter table's threads for this task.
//! 8. **release**: a task leaves its owner's list exactly once, when it is COMPLETE and no
//!    queue entry exists. So while a task is in the list its scheduler is alive (a runtime is
//!    only freed once all its lists are empty), which is what lets a queue entry be submitted
//!    safely by any waker that set SCHEDULED.
//!
//! # Join-waker rules (poll-style joins)
//! 9. The slot (`join_waker`) is owned by the join side while JOIN_WAKER is clear and by the
//!    completer (read-only: it wakes by reference) while JOIN_WAKER is set.
//!    - To store a waker the join side takes REGISTERING and clears JOIN_WAKER in one CAS
//!      (fails once COMPLETE: read the output instead), writes the slot, then sets JOIN_WAKER and
//!      clears REGISTERING in one CAS (if COMPLETE arrived in between, JOIN_WAKER stays clear
//!      and the join side reads the output). REGISTERING only serialises registrants.
//!    - The completer, seeing JOIN_WAKER in the state before COMPLETE, wakes the waker, then
//!      clears JOIN_WAKER. If JOIN_INTEREST was gone by then, it drops the waker itself.
//!    - Dropping the handle clears JOIN_INTEREST (and JOIN_WAKER if not COMPLETE); if
//!      JOIN_WAKER ends up clear, the handle drops the slot's waker.
//!    - The output slot is an atomic pointer taken by swap, so "exactly once" holds for the
//!      output whoever (join, handle drop, completer without handle) takes it.
//! 10. **blocking joins** (threads that park) do not use the slot: a joiner adds itself to the
//!     global waiter table under the bucket lock, then sets JOIN_PARKED; if COMPLETE was already
//!     set it does not park. The completer, seeing JOIN_PARKED before COMPLETE, unparks every
//!     waiter of the task under the same lock. Any number of threads may wait on one task.
//!
//! # Handles and shutdown
//! 11. **handle drop**: rule 9 above, then the handle's reference is dropped.
//! 12. **shutdown**: the owner's list is closed (spawns refused under the same shard lock the
//!     insert takes, so a spawn either lands in the list before the close or is refused), every
//!     listed task is aborted (rule 6), and the shutdown waits for the lists to empty.
//!
//! # Where each rule is checked
//! Loom models (`core::tests::loom_models`, `--cfg loom`, scripts/loom.sh) explore every
//! interleaving of: wake during poll (rules 4–5), wakes from several threads (5), abort vs
//! completion (6–7), abort of an idle task vs wake (6), join-waker registration vs completion
//! (9), handle drop vs completion (9, 11), shutdown vs spawn (1, 12), timer cancel vs fire and
//! abort of a sleeping task vs its timer, abort vs wake of a thread-bound task (6, owner
//! side), and a local executor's wake vs run (5 with the executor's queue and ready hook).
//! `core::tests::loom_worker` models the worker's wait protocol on the real `Idle` and
//! `Parker` (a join woken as a searcher restores its role; a spawn followed by a block wakes
//! an idle worker; a burst of two tasks and two sleepers), a `spawn_after` start entry vs shutdown's
//! timer drain (1, 12), and a `block_on` spawn vs shutdown (1, 12).
//! The unit tests in `core::tests::task_unit` walk each rule sequentially (spawn, pop/run,
//! inline claim, yield, each abort case, completion with and without a handle, release,
//! shutdown); they also run under Miri (scripts/miri.sh).

pub(crate) mod ext;
pub(crate) mod harness;
pub(crate) mod join;
pub(crate) mod locals;
pub(crate) mod owned;
pub(crate) mod recycle;
pub(crate) mod sleep;
pub(crate) mod state;
pub(crate) mod waiters;
pub(crate) mod waker;

use std::alloc::Layout;
use std::ffi::CStr;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

use crate::core::sync::{AtomicPtr, UnsafeCell};
use state::{Outcome, State};

/// Where a task runs, fixed at creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    /// On the runtime's workers.
    Worker,
    /// On the runtime's blocking pool.
    Blocking,
    /// On one thread only (local executor, block_on).
    Local,
}

/// What a body's poll returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyPoll {
    /// Finished successfully, output written.
    Ready,
    /// Finished with failure, output (the failure payload) written.
    Failed,
    /// Cannot progress until woken.
    Pending,
    /// Can progress, but lets other tasks run first.
    Yield,
}

/// The user's part of a task. Dropping it releases the user's argument (drop_arg).
pub(crate) trait Body: Send + 'static {
    /// A copyable way to drop an output after the body itself is gone.
    type OutputDropper: Copy + Send + Sync + 'static;

    /// Poll-style (may return Pending/Yield) or run-to-completion.
    fn is_poll_style(&self) -> bool;
    fn output_dropper(&self) -> Self::OutputDropper;
    /// Drops an output nobody took. Never called with a null output.
    fn drop_output(dropper: Self::OutputDropper, output: *mut ());
    fn poll(&mut self, cx: &mut Context<'_>, output: &mut *mut ()) -> BodyPoll;
    fn name(&self) -> Option<&CStr>;
}

/// Per-body-type operations, reached from the type-erased header.
pub(crate) struct Vtable {
    poll: unsafe fn(NonNull<Header>, &mut Context<'_>, &mut *mut ()) -> BodyPoll,
    drop_body: unsafe fn(NonNull<Header>),
    drop_output: unsafe fn(NonNull<Header>, *mut ()),
    dealloc: unsafe fn(NonNull<Header>),
    name: unsafe fn(NonNull<Header>) -> Option<NonNull<CStr>>,
}

/// The scheduler a task belongs to, as a type-erased pointer to a struct whose first field is
/// this one (a runtime, an executor, a test scheduler).
#[repr(C)]
pub(crate) struct Scheduler {
    pub(crate) vtable: &'static SchedulerVtable,
}

pub(crate) struct SchedulerVtable {
    /// Queue an entry (wake of an idle task, reschedule after a yield or a wake during poll).
    pub(crate) schedule: unsafe fn(NonNull<Scheduler>, Notified, ScheduleKind),
    /// A task of this scheduler is completing with this outcome (for the metrics). Called
    /// before COMPLETE is published, so whoever sees the task complete sees it counted.
    pub(crate) completed: unsafe fn(NonNull<Scheduler>, &Header, Outcome),
    /// The task leaves the owner list (rule 8): after completion when no queue entry is
    /// pending, or from a stale queue entry of a completed task (rule 2). After this returns
    /// the scheduler may be gone: callers touch it no more.
    pub(crate) release: unsafe fn(NonNull<Scheduler>, &Header),
    /// Registers a timer with the timer driver the scheduler's tasks use.
    pub(crate) add_timer: unsafe fn(
        NonNull<Scheduler>,
        crate::core::timer::TimerKey,
        crate::core::timer::TimerTarget,
    ),
    /// Removes a pending timer (returns its target, for the caller to drop).
    pub(crate) cancel_timer: unsafe fn(
        NonNull<Scheduler>,
        crate::core::timer::TimerKey,
    ) -> Option<crate::core::timer::TimerTarget>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScheduleKind {
    /// Woken: may run next on the waking worker (LIFO slot).
    Wake,
    /// Newly spawned: stealable at once, and an idle worker is woken for it (the spawner may
    /// block without the library knowing).
    Spawn,
    /// Yielded or woken during its own poll: to the back of the queue.
    Yield,
}

/// Owner-list links; only touched under the owner's shard lock.
pub(crate) struct Links {
    pub(crate) prev: Option<NonNull<Header>>,
    pub(crate) next: Option<NonNull<Header>>,
}

/// The type-erased first part of every task.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) links: UnsafeCell<Links>,
    pub(crate) state: State,
    pub(crate) id: u64,
    pub(crate) scheduler: NonNull<Scheduler>,
    vtable: &'static Vtable,
    /// Join-waker slot, task-locals, timer key: allocated on first use (see `ext`).
    ext: AtomicPtr<ext::Extension>,
    output: AtomicPtr<()>,
}

// SAFETY: all shared mutable parts of the header are atomics or cells whose access is governed
// by the state word's rules (module docs); the body is Send.
unsafe impl Send for Header {}
unsafe impl Sync for Header {}

#[repr(C)]
struct Cell<B: Body> {
    header: Header,
    dropper: B::OutputDropper,
    /// Initialised until the task completes; touched only by the holder of RUNNING.
    body: UnsafeCell<ManuallyDrop<B>>,
}

impl<B: Body> Cell<B> {
    const VTABLE: Vtable = Vtable {
        poll: Self::poll,
        drop_body: Self::drop_body,
        drop_output: Self::drop_output,
        dealloc: Self::dealloc,
        name: Self::name,
    };

    unsafe fn from_header<'a>(h: NonNull<Header>) -> &'a Self {
        // SAFETY: the header is the first field of a repr(C) Cell<B> of the type this vtable
        // was built for.
        unsafe { h.cast::<Self>().as_ref() }
    }

    unsafe fn poll(h: NonNull<Header>, cx: &mut Context<'_>, out: &mut *mut ()) -> BodyPoll {
        // SAFETY: caller holds RUNNING, so it has exclusive access to the live body.
        unsafe { Self::from_header(h).body.with_mut(|b| (*b).poll(cx, out)) }
    }

    unsafe fn drop_body(h: NonNull<Header>) {
        // SAFETY: caller holds RUNNING and this is the completion: the body is dropped once.
        unsafe {
            Self::from_header(h)
                .body
                .with_mut(|b| ManuallyDrop::drop(&mut *b))
        }
    }

    unsafe fn drop_output(h: NonNull<Header>, out: *mut ()) {
        // SAFETY: the dropper is immutable after creation.
        let d = unsafe { Self::from_header(h).dropper };
        B::drop_output(d, out);
    }

    unsafe fn dealloc(h: NonNull<Header>) {
        // SAFETY: last reference; the body was dropped at completion (every task completes
        // before its last reference can go, since the owner list holds one until release).
        unsafe { Self::free(h.cast()) }
    }

    /// Drops the cell (not its body: that is ManuallyDrop) and gives its block back.
    ///
    /// # Safety
    /// The caller owns the block, which `Header::allocate::<B>` returned.
    unsafe fn free(cell: NonNull<Self>) {
        // SAFETY: see above.
        unsafe {
            std::ptr::drop_in_place(cell.as_ptr());
            recycle::dealloc(cell.cast(), Layout::new::<Self>());
        }
    }

    unsafe fn name(h: NonNull<Header>) -> Option<NonNull<CStr>> {
        // SAFETY: only called by the thread running the task, while the body is alive.
        unsafe {
            Self::from_header(h)
                .body
                .with(|b| (*b).name().map(NonNull::from))
        }
    }
}

impl Header {
    /// Allocates a task. It starts SCHEDULED with `refs` references (the caller distributes
    /// them: owner list, first queue entry, join handle). Not yet in any list or queue.
    pub(crate) fn allocate<B: Body>(
        body: B,
        id: u64,
        scheduler: NonNull<Scheduler>,
        placement: Placement,
        join_interest: bool,
    ) -> NonNull<Header> {
        let mut kind = match placement {
            Placement::Worker => 0,
            Placement::Blocking => state::KIND_BLOCKING,
            Placement::Local => state::KIND_LOCAL,
        };
        if body.is_poll_style() {
            kind |= state::KIND_POLL;
        }
        let refs = 2 + u64::from(join_interest);
        let cell = Cell::<B> {
            header: Header {
                links: UnsafeCell::new(Links {
                    prev: None,
                    next: None,
                }),
                state: State::new(kind, join_interest, refs),
                id,
                scheduler,
                vtable: &Cell::<B>::VTABLE,
                ext: AtomicPtr::new(std::ptr::null_mut()),
                output: AtomicPtr::new(std::ptr::null_mut()),
            },
            dropper: body.output_dropper(),
            body: UnsafeCell::new(ManuallyDrop::new(body)),
        };
        let block = recycle::alloc(Layout::new::<Cell<B>>()).cast::<Cell<B>>();
        // SAFETY: a fresh block with the layout of a Cell<B>.
        unsafe { block.as_ptr().write(cell) };
        block.cast()
    }

    /// Frees a task that was never linked, queued or handed out, giving the body back
    /// unchanged (a spawn that failed takes nothing).
    pub(crate) unsafe fn unallocate<B: Body>(h: NonNull<Header>) -> B {
        let cell = h.cast::<Cell<B>>().as_ptr();
        // SAFETY: the caller is the only owner; the body is initialised and moved out once,
        // and the Box drop below does not drop the ManuallyDrop it was in.
        unsafe {
            let body = (*cell).body.with_mut(|b| std::ptr::read(b));
            let ext = (*cell)
                .header
                .ext
                .load(crate::core::sync::Ordering::Acquire);
            if !ext.is_null() {
                drop(Box::from_raw(ext));
            }
            Cell::<B>::free(NonNull::new_unchecked(cell));
            ManuallyDrop::into_inner(body)
        }
    }

    /// The extension, allocated on first use.
    pub(crate) fn ext(&self) -> &ext::Extension {
        use crate::core::sync::Ordering::{AcqRel, Acquire};
        let cur = self.ext.load(Acquire);
        if !cur.is_null() {
            // SAFETY: published once, freed only with the task.
            return unsafe { &*cur };
        }
        let fresh = Box::into_raw(Box::default());
        match self
            .ext
            .compare_exchange(std::ptr::null_mut(), fresh, AcqRel, Acquire)
        {
            // SAFETY: we just published it.
            Ok(_) => unsafe { &*fresh },
            Err(winner) => {
                // SAFETY: ours was never shared.
                drop(unsafe { Box::from_raw(fresh) });
                unsafe { &*winner }
            }
        }
    }

    /// The extension if some thread allocated it.
    pub(crate) fn ext_if_present(&self) -> Option<&ext::Extension> {
        // SAFETY: as in `ext`.
        unsafe { self.ext.load(crate::core::sync::Ordering::Acquire).as_ref() }
    }

    pub(crate) fn is_poll_style(&self) -> bool {
        self.state.load().has(state::KIND_POLL)
    }

    /// Bound to one thread (a local executor's or `block_on`'s task).
    pub(crate) fn is_thread_bound(&self) -> bool {
        self.state.load().has(state::KIND_LOCAL)
    }

    pub(crate) fn is_blocking(&self) -> bool {
        self.state.load().has(state::KIND_BLOCKING)
    }

    /// The task's name. Only valid while the calling thread runs the task.
    pub(crate) unsafe fn name(this: NonNull<Header>) -> Option<NonNull<CStr>> {
        // SAFETY: forwarded contract; `this` has the whole block's provenance.
        unsafe { (this.as_ref().vtable.name)(this) }
    }

    /// Drops one reference, freeing the block if it was the last.
    pub(crate) unsafe fn drop_ref(this: NonNull<Header>) {
        // SAFETY: caller owns one reference.
        unsafe {
            if this.as_ref().state.ref_dec() {
                Self::dealloc(this);
            }
        }
    }

    /// Frees the block. The count has reached zero.
    pub(crate) unsafe fn dealloc(this: NonNull<Header>) {
        // SAFETY: no reference is left, so nobody else can see the block.
        unsafe {
            let h = this.as_ref();
            let ext = h.ext.load(crate::core::sync::Ordering::Acquire);
            if !ext.is_null() {
                drop(Box::from_raw(ext));
            }
            (h.vtable.dealloc)(this);
        }
    }

    /// Takes the output (once) and drops it with the body's drop_output.
    pub(crate) fn drop_output(this: NonNull<Header>) {
        // SAFETY: callers hold a reference to the task.
        let header = unsafe { this.as_ref() };
        let out = header
            .output
            .swap(std::ptr::null_mut(), crate::core::sync::Ordering::AcqRel);
        if !out.is_null() {
            // An output belongs to no running task: the user's drop_output sees none.
            let _current = crate::core::context::enter_no_task();
            // SAFETY: the dropper lives as long as the block.
            unsafe { (header.vtable.drop_output)(this, out) }
        }
    }

    /// Takes the output (once); null if already taken or none.
    pub(crate) fn take_output(&self) -> *mut () {
        self.output
            .swap(std::ptr::null_mut(), crate::core::sync::Ordering::AcqRel)
    }
}

/// An owned reference to a task.
pub(crate) struct TaskRef(NonNull<Header>);

// SAFETY: a reference may be dropped or used from any thread (the header is Sync).
unsafe impl Send for TaskRef {}
unsafe impl Sync for TaskRef {}

impl TaskRef {
    /// Takes over one reference the caller owns.
    pub(crate) unsafe fn from_raw(h: NonNull<Header>) -> TaskRef {
        TaskRef(h)
    }

    /// Clones a reference to a live task. `h` must carry the whole block's provenance (come
    /// from the allocation, a handle or another reference, never from a `&Header`).
    pub(crate) fn clone_from(h: NonNull<Header>) -> TaskRef {
        // SAFETY: the task is alive (the caller holds a reference to it).
        unsafe { h.as_ref() }.state.ref_inc();
        TaskRef(h)
    }

    pub(crate) fn ptr(&self) -> NonNull<Header> {
        self.0
    }

    pub(crate) fn into_raw(self) -> NonNull<Header> {
        ManuallyDrop::new(self).0
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: we own a reference.
        unsafe { self.0.as_ref() }
    }
}

impl Clone for TaskRef {
    fn clone(&self) -> Self {
        TaskRef::clone_from(self.0)
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { Header::drop_ref(self.0) }
    }
}

/// A queue entry: owns one reference and the task's SCHEDULED flag. Must be consumed by
/// [`Notified::run`] or [`Notified::discard`] (dropping it discards).
pub(crate) struct Notified(NonNull<Header>);

// SAFETY: as TaskRef.
unsafe impl Send for Notified {}

impl Notified {
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: the entry owns a reference.
        unsafe { self.0.as_ref() }
    }

    pub(crate) unsafe fn from_raw(h: NonNull<Header>) -> Notified {
        Notified(h)
    }

    pub(crate) fn into_raw(self) -> NonNull<Header> {
        ManuallyDrop::new(self).0
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        // An entry nobody will run (queues drained at teardown): treat as a pop, and cancel the
        // task if the pop claimed it.
        let h = self.0;
        harness::discard_entry(h);
    }
}

/// What a poll-style body gets while it is polled: access to its own task.
pub(crate) struct Context<'a> {
    pub(crate) task: NonNull<Header>,
    pub(crate) _running: std::marker::PhantomData<&'a Header>,
}

impl Context<'_> {
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: the task is alive while it is being polled.
        unsafe { self.task.as_ref() }
    }

    pub(crate) fn id(&self) -> u64 {
        self.header().id
    }

    /// A new waker for the running task.
    pub(crate) fn waker(&self) -> std::task::Waker {
        waker::task_waker(TaskRef::clone_from(self.task))
    }
}

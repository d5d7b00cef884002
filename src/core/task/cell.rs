//! The task block: a type-erased [`Header`] followed by the body, and the vtable that reaches
//! the body's type `B` and the scheduler's type `S` from the header. Allocation and freeing
//! of blocks happen here and nowhere else, with the global allocator (mimalloc, or the system
//! allocator under `TASKS_NO_RECYCLE`: `crate::allocator`).

use std::alloc::Layout;
use std::any::Any;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::Arc;

use super::ext;
use super::handle::{JoinHandle, Notified, TaskRef};
use super::raw::RawTask;
use super::state::{self, Outcome, State};
use super::{Body, BodyPoll, Context, Joining, Placement, Schedule, ScheduleKind, Spawned};
use crate::core::sync::{AtomicPtr, Ordering, UnsafeCell};
use crate::core::timer::{TimerKey, TimerTarget};

/// Owner-list links; only touched under the owner's shard lock.
pub(super) struct Links {
    pub(super) prev: Option<NonNull<Header>>,
    pub(super) next: Option<NonNull<Header>>,
}

/// The type-erased first part of every task. Its fields are private to `task`.
#[repr(C)]
pub(crate) struct Header {
    pub(super) links: UnsafeCell<Links>,
    pub(super) state: State,
    pub(super) id: u64,
    /// The task's scheduler, from `Arc::as_ptr` (see [`Schedule`]); typed by the vtable.
    pub(super) scheduler: NonNull<()>,
    pub(super) vtable: &'static Vtable,
    /// Join-waker slot, task-locals, timer key: allocated on first use (see `ext`).
    pub(super) ext: AtomicPtr<ext::Extension>,
    pub(super) output: AtomicPtr<()>,
}

// SAFETY: all shared mutable parts of the header are atomics or cells whose access is governed
// by the state word's rules (module docs); the body is Send, and so is the scheduler.
unsafe impl Send for Header {}
unsafe impl Sync for Header {}

/// Per-(body, scheduler) operations, reached from the type-erased header. Every function takes
/// the task; the caller holds a reference, and the scheduler functions are only called while
/// the task is listed (rule 8), so the scheduler is alive.
pub(super) struct Vtable {
    /// Polls the body (the caller holds RUNNING).
    pub(super) poll: unsafe fn(RawTask, &mut Context<'_>, &mut *mut ()) -> BodyPoll,
    /// Drops the body (the caller holds RUNNING and completes the task: once).
    pub(super) drop_body: unsafe fn(RawTask),
    /// Drops an output with the body's output dropper.
    pub(super) drop_output: unsafe fn(RawTask, *mut ()),
    /// The body, for its owner to downcast (the caller holds RUNNING, body alive).
    pub(super) body: unsafe fn(RawTask) -> NonNull<dyn Any>,
    /// Frees the block (the last reference is gone).
    pub(super) dealloc: unsafe fn(NonNull<Header>),
    pub(super) schedule: unsafe fn(RawTask, Notified, ScheduleKind),
    /// Counts the outcome in the owner's counters (before COMPLETE is published).
    pub(super) completed: unsafe fn(RawTask, Outcome),
    /// Unlinks the task from the owner's list (rule 8). The scheduler may be gone afterwards.
    pub(super) release: unsafe fn(RawTask),
    pub(super) add_timer: unsafe fn(RawTask, TimerKey, TimerTarget),
    pub(super) cancel_timer: unsafe fn(RawTask, TimerKey) -> Option<TimerTarget>,
}

#[repr(C)]
struct Cell<B: Body, S: Schedule> {
    header: Header,
    dropper: B::OutputDropper,
    /// Initialised until the task completes; touched only by the holder of RUNNING.
    body: UnsafeCell<ManuallyDrop<B>>,
    _scheduler: std::marker::PhantomData<fn() -> S>,
}

impl<B: Body, S: Schedule> Cell<B, S> {
    const VTABLE: Vtable = Vtable {
        poll: Self::poll,
        drop_body: Self::drop_body,
        drop_output: Self::drop_output,
        body: Self::body,
        dealloc: Self::dealloc,
        schedule: Self::schedule,
        completed: Self::completed,
        release: Self::release,
        add_timer: Self::add_timer,
        cancel_timer: Self::cancel_timer,
    };

    /// # Safety
    /// `task` is a block allocated as a `Cell<B, S>` (its vtable is this one).
    unsafe fn of<'a>(task: RawTask) -> &'a Self {
        // SAFETY: the header is the first field of a repr(C) Cell<B, S>, and the pointer has
        // the whole block's provenance (see `RawTask`).
        unsafe { task.ptr().cast::<Self>().as_ref() }
    }

    /// # Safety
    /// As `of`, and the task is listed (its scheduler is alive).
    unsafe fn scheduler<'a>(task: RawTask) -> &'a S {
        // SAFETY: from `Arc::as_ptr` of a live `Arc<S>`.
        unsafe { task.header().scheduler.cast::<S>().as_ref() }
    }

    unsafe fn poll(task: RawTask, cx: &mut Context<'_>, out: &mut *mut ()) -> BodyPoll {
        // SAFETY: caller holds RUNNING, so it has exclusive access to the live body.
        unsafe { Self::of(task).body.with_mut(|b| (*b).poll(cx, out)) }
    }

    unsafe fn drop_body(task: RawTask) {
        // SAFETY: caller holds RUNNING and this is the completion: the body is dropped once.
        unsafe {
            Self::of(task)
                .body
                .with_mut(|b| ManuallyDrop::drop(&mut *b))
        }
    }

    unsafe fn drop_output(task: RawTask, out: *mut ()) {
        // SAFETY: the dropper is immutable after creation.
        let d = unsafe { Self::of(task).dropper };
        B::drop_output(d, out);
    }

    unsafe fn body(task: RawTask) -> NonNull<dyn Any> {
        // SAFETY: the caller holds RUNNING with the body alive.
        unsafe {
            Self::of(task)
                .body
                .with(|b| NonNull::from(&**b as &dyn Any))
        }
    }

    unsafe fn dealloc(h: NonNull<Header>) {
        // SAFETY: last reference; the body was dropped at completion (every task completes
        // before its last reference can go, since the owner list holds one until release).
        unsafe { Self::free(h.cast()) }
    }

    unsafe fn schedule(task: RawTask, entry: Notified, kind: ScheduleKind) {
        let ptr = task.header().scheduler.cast::<S>().as_ptr().cast_const();
        // SAFETY: the pointer came from `Arc::as_ptr` of an `Arc<S>` that is alive (the task is
        // listed). ManuallyDrop: we borrow the Arc, its count is not ours.
        let this = ManuallyDrop::new(unsafe { Arc::from_raw(ptr) });
        S::schedule(&this, entry, kind);
    }

    unsafe fn completed(task: RawTask, outcome: Outcome) {
        // SAFETY: the task is listed.
        unsafe { Self::scheduler(task) }
            .task_list()
            .count(task.header(), outcome);
    }

    unsafe fn release(task: RawTask) {
        // SAFETY: the task is listed until this returns.
        unsafe { Self::scheduler(task) }
            .task_list()
            .remove(task.header());
    }

    unsafe fn add_timer(task: RawTask, key: TimerKey, target: TimerTarget) {
        // SAFETY: the task is listed.
        unsafe { Self::scheduler(task) }.add_timer(key, target);
    }

    unsafe fn cancel_timer(task: RawTask, key: TimerKey) -> Option<TimerTarget> {
        // SAFETY: the task is listed.
        unsafe { Self::scheduler(task) }.cancel_timer(key)
    }

    /// Drops the cell (not its body: that is ManuallyDrop) and the extension, and gives the
    /// block back to the global allocator.
    ///
    /// # Safety
    /// The caller owns the block, which `allocate::<B, S>` returned.
    unsafe fn free(cell: NonNull<Self>) {
        // SAFETY: see above.
        unsafe {
            let ext = (*cell.as_ptr()).header.ext.load(Ordering::Acquire);
            if !ext.is_null() {
                drop(Box::from_raw(ext));
            }
            std::ptr::drop_in_place(cell.as_ptr());
            std::alloc::dealloc(cell.as_ptr().cast(), Layout::new::<Self>());
        }
    }
}

/// A task just allocated: no other thread can see it yet.
pub(super) struct NewTask {
    raw: RawTask,
    joining: Joining,
}

/// Allocates a task. It starts SCHEDULED with references for the owner list, the first queue
/// entry and (with [`Joining::Handle`]) the join handle; a delayed task also starts DELAYED
/// with its timer key in place (an abort reads it). Not yet in any list or queue.
#[inline]
pub(super) fn allocate<B: Body, S: Schedule>(
    body: B,
    scheduler: &Arc<S>,
    placement: Placement,
    joining: Joining,
) -> NewTask {
    let mut kind = match placement {
        Placement::Worker | Placement::Delayed(_) | Placement::WorkFirst => 0,
        Placement::Blocking => state::KIND_BLOCKING,
    };
    if S::THREAD_BOUND {
        kind |= state::KIND_LOCAL;
    }
    if body.is_poll_style() {
        kind |= state::KIND_POLL;
    }
    let handle = joining == Joining::Handle;
    let cell = Cell::<B, S> {
        header: Header {
            links: UnsafeCell::new(Links {
                prev: None,
                next: None,
            }),
            state: State::new(kind, handle, 2 + u64::from(handle)),
            id: crate::core::id::next_id(),
            // From `Arc::as_ptr`, not a reference: the pointer must reach the Arc's counts
            // (see `Cell::schedule`).
            scheduler: NonNull::new(Arc::as_ptr(scheduler).cast_mut())
                .expect("Arc::as_ptr is never null")
                .cast(),
            vtable: &Cell::<B, S>::VTABLE,
            ext: AtomicPtr::new(std::ptr::null_mut()),
            output: AtomicPtr::new(std::ptr::null_mut()),
        },
        dropper: body.output_dropper(),
        body: UnsafeCell::new(ManuallyDrop::new(body)),
        _scheduler: std::marker::PhantomData,
    };
    let layout = Layout::new::<Cell<B, S>>();
    // SAFETY: not zero-sized (a Cell starts with its header).
    let block = NonNull::new(unsafe { std::alloc::alloc(layout) }.cast::<Cell<B, S>>())
        .unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
    // SAFETY: a fresh block with the layout of a Cell<B, S>.
    unsafe { block.as_ptr().write(cell) };
    // SAFETY: a live block, whose references (all of them) we own.
    let raw = unsafe { RawTask::from_raw(block.cast()) };
    if let Placement::Delayed(key) = placement {
        raw.header().state.set_delayed();
        // SAFETY: nobody else has seen the task: the timer slot is ours.
        raw.header()
            .ext()
            .timer
            .with_mut(|t| unsafe { *t = Some(key) });
    }
    NewTask { raw, joining }
}

impl NewTask {
    pub(super) fn raw(&self) -> RawTask {
        self.raw
    }

    /// Frees a task that was never linked, queued or handed out, giving the body back
    /// unchanged (a spawn that failed takes nothing).
    ///
    /// # Safety
    /// `B` and `S` are the types the task was allocated with.
    pub(super) unsafe fn unallocate<B: Body, S: Schedule>(self) -> B {
        let cell = self.raw.ptr().cast::<Cell<B, S>>();
        // SAFETY: we are the only owner; the body is initialised and moved out once, and
        // `free` does not drop the ManuallyDrop it was in.
        unsafe {
            let body = (*cell.as_ptr()).body.with_mut(|b| std::ptr::read(b));
            Cell::<B, S>::free(cell);
            ManuallyDrop::into_inner(body)
        }
    }

    /// The task is listed (the list owns one reference): the rest become the first queue
    /// entry and the join handle.
    pub(super) fn into_spawned(self) -> Spawned {
        // SAFETY: `allocate` gave us a reference for the entry (SCHEDULED is set) and one for
        // the handle when it was asked for.
        unsafe {
            Spawned {
                entry: Notified::from_raw(self.raw.ptr()),
                handle: (self.joining == Joining::Handle)
                    .then(|| JoinHandle::from_task_ref(TaskRef::from_raw(self.raw.ptr()))),
            }
        }
    }
}

impl Header {
    /// The extension, allocated on first use.
    pub(super) fn ext(&self) -> &ext::Extension {
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
    pub(super) fn ext_if_present(&self) -> Option<&ext::Extension> {
        // SAFETY: as in `ext`.
        unsafe { self.ext.load(Ordering::Acquire).as_ref() }
    }

    /// Takes the output (once); null if already taken or none.
    pub(super) fn take_output(&self) -> *mut () {
        self.output.swap(std::ptr::null_mut(), Ordering::AcqRel)
    }
}

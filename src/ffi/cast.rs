//! The one way between a C pointer and the Rust object behind it (the idea of rustls-ffi's
//! `Castable`). Each opaque C type names the Rust type it stands for and how C holds it:
//! - [`OwnedBox`]: a `Box<T>` given to C, used through `&T` / `&mut T`, taken back once.
//! - [`OwnedArc`]: an `Arc<T>` given to C (one count), borrowed as a cloneable `Arc`.
//! - [`OwnedTask`]: a task handle (`JoinHandle`, `TaskRef`), a pointer that owns a task
//!   reference, borrowed without touching the count.
//! - [`Borrowed`]: something C only ever borrows for the length of a call.
//!
//! Every function here returns None for NULL, so each export's NULL check is the `let ... else`
//! around the cast. The `unsafe` contract of each is the C contract: the pointer is NULL or one
//! this library handed out for that type and that has not been released.

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::core::task::{Header, JoinHandle, TaskRef};

/// Ownership kinds (see the module docs).
pub(crate) struct OwnedBox;
pub(crate) struct OwnedArc;
pub(crate) struct OwnedTask;
pub(crate) struct Borrowed;

/// Ties an opaque C type to the Rust type behind its pointers.
///
/// # Safety
/// Pointers of type `*C` handed to C are only ever made by the functions of this module for
/// `Self::Rust` with `Self::Ownership`.
pub(crate) unsafe trait Castable {
    type Rust;
    type Ownership;
}

/// Declares the Rust type behind an opaque C type and how C holds it:
/// `castable!(tasks_x => RustType, OwnedBox)`. The C type's pointers must only be made by this
/// module's functions for that ownership (the trait's safety contract).
macro_rules! castable {
    ($c:ty => $rust:ty, $ownership:ident) => {
        // SAFETY: pointers of this type are only made by `ffi::cast` for this ownership.
        unsafe impl $crate::ffi::cast::Castable for $c {
            type Rust = $rust;
            type Ownership = $crate::ffi::cast::$ownership;
        }
    };
}
pub(crate) use castable;

/// A shared borrow of the object behind a pointer (valid for the duration of the call).
pub(crate) unsafe fn try_ref<'a, C>(p: *const C) -> Option<&'a C::Rust>
where
    C: Castable,
    C::Ownership: RefAccess,
{
    // SAFETY: the caller's contract; boxes, Arc data and borrowed objects all live at the
    // pointer itself.
    unsafe { p.cast::<C::Rust>().as_ref() }
}

/// Kinds whose pointer points at the object itself.
pub(crate) trait RefAccess {}
impl RefAccess for OwnedBox {}
impl RefAccess for OwnedArc {}
impl RefAccess for Borrowed {}

/// An exclusive borrow of a boxed object (C promises one thread at a time for these types).
pub(crate) unsafe fn try_mut<'a, C: Castable<Ownership = OwnedBox>>(
    p: *mut C,
) -> Option<&'a mut C::Rust> {
    // SAFETY: the caller's contract.
    unsafe { p.cast::<C::Rust>().as_mut() }
}

/// Gives a new object to C.
pub(crate) fn give_box<C: Castable<Ownership = OwnedBox>>(value: C::Rust) -> *mut C {
    Box::into_raw(Box::new(value)).cast()
}

/// Takes back a boxed object (C's release function).
pub(crate) unsafe fn take_box<C: Castable<Ownership = OwnedBox>>(
    p: *mut C,
) -> Option<Box<C::Rust>> {
    // SAFETY: the caller's contract: a pointer from `give_box`, released once.
    NonNull::new(p).map(|p| unsafe { Box::from_raw(p.as_ptr().cast::<C::Rust>()) })
}

/// Gives one count of an `Arc` to C.
pub(crate) fn give_arc<C: Castable<Ownership = OwnedArc>>(value: Arc<C::Rust>) -> *mut C {
    Arc::into_raw(value).cast_mut().cast()
}

/// Lends a pointer to an object kept alive elsewhere (C must not release it).
pub(crate) fn lend_arc<C: Castable<Ownership = OwnedArc>>(value: &Arc<C::Rust>) -> *mut C {
    Arc::as_ptr(value).cast_mut().cast()
}

/// The `Arc` behind a pointer, borrowed for the length of a call without touching the count
/// (C keeps its own).
pub(crate) struct BorrowedArc<'a, T>(ManuallyDrop<Arc<T>>, PhantomData<&'a T>);

impl<T> Deref for BorrowedArc<'_, T> {
    type Target = Arc<T>;
    fn deref(&self) -> &Arc<T> {
        &self.0
    }
}

pub(crate) unsafe fn try_borrow_arc<'a, C: Castable<Ownership = OwnedArc>>(
    p: *const C,
) -> Option<BorrowedArc<'a, C::Rust>> {
    let p = NonNull::new(p.cast_mut())?;
    // SAFETY: the caller's contract: from `give_arc`/`lend_arc`, alive for the call;
    // ManuallyDrop leaves the count alone.
    let arc = unsafe { Arc::from_raw(p.as_ptr().cast_const().cast::<C::Rust>()) };
    Some(BorrowedArc(ManuallyDrop::new(arc), PhantomData))
}

/// Takes back C's count (C's release function).
pub(crate) unsafe fn take_arc<C: Castable<Ownership = OwnedArc>>(
    p: *mut C,
) -> Option<Arc<C::Rust>> {
    // SAFETY: the caller's contract: from `give_arc`, released once.
    NonNull::new(p).map(|p| unsafe { Arc::from_raw(p.as_ptr().cast_const().cast::<C::Rust>()) })
}

/// Task handles: types that are one owned task pointer, and through it a [`TaskRef`].
pub(crate) trait TaskPointer: Sized {
    fn into_raw(self) -> NonNull<Header>;
    /// # Safety
    /// `p` came from `into_raw` of the same type, and the caller takes over that handle.
    unsafe fn from_raw(p: NonNull<Header>) -> Self;
    fn task(&self) -> &TaskRef;
}

/// Both handle types wrap the same conversions of their own type.
macro_rules! task_pointer {
    ($($handle:ident),*) => {$(
        impl TaskPointer for $handle {
            fn into_raw(self) -> NonNull<Header> {
                $handle::into_raw(self)
            }
            unsafe fn from_raw(p: NonNull<Header>) -> Self {
                // SAFETY: forwarded.
                unsafe { $handle::from_raw(p) }
            }
            fn task(&self) -> &TaskRef {
                self
            }
        }
    )*};
}
task_pointer!(JoinHandle, TaskRef);

/// A task handle borrowed from C for the length of a call: used like the handle, never
/// released (the count belongs to C).
pub(crate) struct BorrowedTask<'a, T: TaskPointer>(ManuallyDrop<T>, PhantomData<&'a T>);

impl<T: TaskPointer> Deref for BorrowedTask<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

pub(crate) fn give_task<C>(handle: C::Rust) -> *mut C
where
    C: Castable<Ownership = OwnedTask>,
    C::Rust: TaskPointer,
{
    handle.into_raw().as_ptr().cast()
}

pub(crate) unsafe fn try_borrow_task<'a, C>(p: *const C) -> Option<BorrowedTask<'a, C::Rust>>
where
    C: Castable<Ownership = OwnedTask>,
    C::Rust: TaskPointer,
{
    let p = NonNull::new(p.cast_mut())?;
    // SAFETY: the caller's contract: a live handle of this type; ManuallyDrop leaves its
    // reference with C.
    Some(BorrowedTask(
        ManuallyDrop::new(unsafe { C::Rust::from_raw(p.cast()) }),
        PhantomData,
    ))
}

/// `f` on the task behind a handle of either kind (what join and abort handles share: abort,
/// is_finished, id, a new abort handle), for the length of the call.
pub(crate) unsafe fn with_task<C, R>(p: *const C, f: impl FnOnce(&TaskRef) -> R) -> Option<R>
where
    C: Castable<Ownership = OwnedTask>,
    C::Rust: TaskPointer,
{
    // SAFETY: forwarded.
    unsafe { try_borrow_task(p) }.map(|handle| f(handle.task()))
}

pub(crate) unsafe fn take_task<C>(p: *mut C) -> Option<C::Rust>
where
    C: Castable<Ownership = OwnedTask>,
    C::Rust: TaskPointer,
{
    // SAFETY: the caller's contract: a live handle, released once.
    NonNull::new(p).map(|p| unsafe { C::Rust::from_raw(p.cast()) })
}

/// Writes `value` through an optional out-pointer; does nothing when it is NULL.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) {
    if let Some(out) = NonNull::new(out) {
        // SAFETY: the caller's contract: NULL or a writable T.
        unsafe { out.as_ptr().write(value) }
    }
}

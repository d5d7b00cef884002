//! `RawTask`: the one place where a pointer becomes a task. Its constructor is `unsafe` and
//! states the contract once (a live block, a reference held by the caller for as long as the
//! value, or any copy of it, is used); every method after it is safe. Private to `task`: the
//! rest of the crate holds owning types (`TaskRef`, `JoinHandle`, `Notified`).

use std::ptr::NonNull;

use super::cell::Header;

/// A task the holder has a reference to (see the module docs).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct RawTask(NonNull<Header>);

impl RawTask {
    /// # Safety
    /// `ptr` points at the header of a live task block and carries the whole block's
    /// provenance (it came from the allocation, a handle or another reference, never from a
    /// `&Header`), and the caller holds a reference to the task for as long as it uses the
    /// returned value or any copy of it.
    #[inline]
    pub(super) unsafe fn from_raw(ptr: NonNull<Header>) -> RawTask {
        RawTask(ptr)
    }

    #[inline]
    pub(super) fn ptr(self) -> NonNull<Header> {
        self.0
    }

    #[inline]
    pub(super) fn header(&self) -> &Header {
        // SAFETY: the constructor's contract: the block is alive while the value is used.
        unsafe { self.0.as_ref() }
    }

    /// Takes one more reference.
    #[inline]
    pub(super) fn ref_inc(self) {
        self.header().state.ref_inc();
    }

    /// Drops one reference, freeing the block if it was the last.
    ///
    /// # Safety
    /// The caller gives up one reference it owns and does not use the task afterwards
    /// (unless it holds another reference).
    #[inline]
    pub(super) unsafe fn drop_ref(self) {
        if self.header().state.ref_dec() {
            // SAFETY: that was the last reference.
            unsafe { self.dealloc() }
        }
    }

    /// Frees the block.
    ///
    /// # Safety
    /// The count has reached zero: nobody else can see the block.
    pub(super) unsafe fn dealloc(self) {
        // SAFETY: forwarded; the vtable frees the block it was built for.
        unsafe { (self.header().vtable.dealloc)(self.0) }
    }
}

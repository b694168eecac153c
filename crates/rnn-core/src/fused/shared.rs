//! Host buffers that the threads of a fused run share: a read view and a write view, kept
//! apart so that no `&mut` is ever made from a shared borrow.
//!
//! The threads of a run split each buffer by rows or by units (see [`super::split`]): a lane
//! writes only its own units of its own examples' rows, and reads values other lanes wrote
//! only after the round that wrote them has ended ([`super::threads::in_lockstep`] puts a
//! barrier between rounds). Borrow checking cannot see that split, so the views hand out
//! slices through `unsafe` methods whose callers argue it; the bounds are checked here, and
//! the views borrow their buffers, so the compiler checks that the buffers outlive them.

use std::marker::PhantomData;

/// A buffer that the threads of a run read, borrowed for `'b`.
#[derive(Clone, Copy)]
pub(super) struct Reads<'b> {
    at: *const f32,
    len: usize,
    buffer: PhantomData<&'b [f32]>,
}

// SAFETY: a `Reads` only hands out values to read, through `slice`, whose callers guarantee
// that no thread writes them meanwhile; the buffer lives for `'b` (borrowed). Reading from
// several threads at once is sound.
unsafe impl Send for Reads<'_> {}
// SAFETY: as for `Send`.
unsafe impl Sync for Reads<'_> {}

impl<'b> Reads<'b> {
    pub fn of(values: &'b [f32]) -> Self {
        Self {
            at: values.as_ptr(),
            len: values.len(),
            buffer: PhantomData,
        }
    }

    /// `len` values from `offset`; empty when `len` is 0.
    ///
    /// # Safety
    /// No thread writes the range during `'a`, which ends before `'b`.
    ///
    /// # Panics
    /// If the range is not inside the buffer.
    pub unsafe fn slice<'a>(self, offset: usize, len: usize) -> &'a [f32] {
        if len == 0 {
            return &[];
        }
        assert!(
            offset.checked_add(len).is_some_and(|end| end <= self.len),
            "read past a shared buffer"
        );
        // SAFETY: in bounds (checked above) of a buffer borrowed for `'b`; nothing writes the
        // range (the caller).
        unsafe { std::slice::from_raw_parts(self.at.add(offset), len) }
    }

    /// The address of the value at `offset`, for the multiply kernels' strided reads.
    ///
    /// # Panics
    /// If `offset` is past the buffer.
    pub fn at(self, offset: usize) -> *const f32 {
        assert!(offset <= self.len, "pointer past a shared buffer");
        self.at.wrapping_add(offset)
    }
}

/// A buffer that the threads of a run write, each its own rows or units, borrowed mutably for
/// `'b` (so only the run's threads touch it).
#[derive(Clone, Copy)]
pub(super) struct Writes<'b> {
    at: *mut f32,
    len: usize,
    buffer: PhantomData<&'b mut [f32]>,
}

// SAFETY: the buffer is borrowed mutably for `'b`, so only the run's threads touch it;
// `slice_mut`'s callers guarantee that they write disjoint ranges and that no range is read
// while another thread writes it.
unsafe impl Send for Writes<'_> {}
// SAFETY: as for `Send`.
unsafe impl Sync for Writes<'_> {}

impl<'b> Writes<'b> {
    pub fn of(values: &'b mut [f32]) -> Self {
        Self {
            at: values.as_mut_ptr(),
            len: values.len(),
            buffer: PhantomData,
        }
    }

    /// The same buffer, to read (ranges no thread writes meanwhile, see [`Reads::slice`]).
    pub fn reads(self) -> Reads<'b> {
        Reads {
            at: self.at,
            len: self.len,
            buffer: PhantomData,
        }
    }

    /// `len` values from `offset` to write; empty when `len` is 0.
    ///
    /// # Safety
    /// `'a` ends before `'b`, and no other thread reads or writes the range during `'a`, nor
    /// does the caller through another slice.
    ///
    /// # Panics
    /// If the range is not inside the buffer.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn slice_mut<'a>(self, offset: usize, len: usize) -> &'a mut [f32] {
        if len == 0 {
            return &mut [];
        }
        assert!(
            offset.checked_add(len).is_some_and(|end| end <= self.len),
            "write past a shared buffer"
        );
        // SAFETY: in bounds (checked above) of a buffer borrowed mutably for `'b`; the range
        // is this caller's alone (the caller).
        unsafe { std::slice::from_raw_parts_mut(self.at.add(offset), len) }
    }

    /// The address of the value at `offset`, for the multiply kernels' strided reads and
    /// writes.
    ///
    /// # Panics
    /// If `offset` is past the buffer.
    pub fn at(self, offset: usize) -> *mut f32 {
        assert!(offset <= self.len, "pointer past a shared buffer");
        self.at.wrapping_add(offset)
    }
}

/// A view that can hand out values to read: [`Reads`] or [`Writes`].
pub(super) trait ReadView: Copy {
    /// `len` values from `offset`; empty when `len` is 0.
    ///
    /// # Safety
    /// As [`Reads::slice`]: no thread writes the range during `'a`, which ends before the
    /// buffer's borrow.
    ///
    /// # Panics
    /// If the range is not inside the buffer.
    unsafe fn slice<'a>(self, offset: usize, len: usize) -> &'a [f32];
}

impl ReadView for Reads<'_> {
    unsafe fn slice<'a>(self, offset: usize, len: usize) -> &'a [f32] {
        // SAFETY: the caller's.
        unsafe { Reads::slice(self, offset, len) }
    }
}

impl ReadView for Writes<'_> {
    unsafe fn slice<'a>(self, offset: usize, len: usize) -> &'a [f32] {
        // SAFETY: the caller's.
        unsafe { self.reads().slice(offset, len) }
    }
}

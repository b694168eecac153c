//! Host buffers that the threads of a fused run share: a read view and a write view, kept
//! apart so that no `&mut` is ever made from a shared borrow.
//!
//! The threads of a run split each buffer by rows or by units (see [`super::split`]): a lane
//! writes only its own units of its own examples' rows, and reads values other lanes wrote
//! only after the round that wrote them has ended ([`super::threads::in_lockstep`] puts a
//! barrier between rounds). Borrow checking cannot see that split, so the views hand out
//! slices through `unsafe` methods whose callers argue it; the bounds are checked here.

/// A buffer that the threads of a run only read while they share it.
#[derive(Clone, Copy)]
pub(super) struct Reads {
    at: *const f32,
    len: usize,
}

// SAFETY: the buffer is only read while it is shared (the constructor borrows it shared for
// the whole run, so nothing writes it); reading from several threads at once is sound.
unsafe impl Send for Reads {}
// SAFETY: as for `Send`.
unsafe impl Sync for Reads {}

impl Reads {
    pub fn of(values: &[f32]) -> Self {
        Self {
            at: values.as_ptr(),
            len: values.len(),
        }
    }

    /// `len` values from `offset`; empty when `len` is 0.
    ///
    /// # Safety
    /// The buffer outlives `'a` and is not written during `'a`.
    ///
    /// # Panics
    /// If the range is not inside the buffer.
    pub unsafe fn slice<'a>(self, offset: usize, len: usize) -> &'a [f32] {
        if len == 0 {
            return &[];
        }
        assert!(offset + len <= self.len, "read past a shared buffer");
        // SAFETY: in bounds (checked above) of a live buffer that nothing writes (the caller).
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

/// A buffer that the threads of a run write, each its own rows or units.
#[derive(Clone, Copy)]
pub(super) struct Writes {
    at: *mut f32,
    len: usize,
}

// SAFETY: the constructor borrows the buffer mutably for the whole run, so only the run's
// threads touch it; `slice_mut`'s callers guarantee that they write disjoint ranges and that
// no range is read while another thread writes it.
unsafe impl Send for Writes {}
// SAFETY: as for `Send`.
unsafe impl Sync for Writes {}

impl Writes {
    pub fn of(values: &mut [f32]) -> Self {
        Self {
            at: values.as_mut_ptr(),
            len: values.len(),
        }
    }

    /// The same buffer, to read.
    pub fn reads(self) -> Reads {
        Reads {
            at: self.at,
            len: self.len,
        }
    }

    /// `len` values from `offset` to write; empty when `len` is 0.
    ///
    /// # Safety
    /// The buffer outlives `'a`, and no other thread reads or writes the range during `'a`,
    /// nor does the caller through another slice.
    ///
    /// # Panics
    /// If the range is not inside the buffer.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn slice_mut<'a>(self, offset: usize, len: usize) -> &'a mut [f32] {
        if len == 0 {
            return &mut [];
        }
        assert!(offset + len <= self.len, "write past a shared buffer");
        // SAFETY: in bounds (checked above) of a live buffer borrowed mutably by the run; the
        // range is this caller's alone (the caller).
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
    /// The buffer outlives `'a` and no thread writes the range during `'a`.
    ///
    /// # Panics
    /// If the range is not inside the buffer.
    unsafe fn slice<'a>(self, offset: usize, len: usize) -> &'a [f32];
}

impl ReadView for Reads {
    unsafe fn slice<'a>(self, offset: usize, len: usize) -> &'a [f32] {
        // SAFETY: the caller's.
        unsafe { Reads::slice(self, offset, len) }
    }
}

impl ReadView for Writes {
    unsafe fn slice<'a>(self, offset: usize, len: usize) -> &'a [f32] {
        // SAFETY: the caller's.
        unsafe { self.reads().slice(offset, len) }
    }
}

//! Threads of a fused run: lanes run in lockstep, meeting at a spinning barrier, and a raw
//! pointer through which they share buffers.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::split::{Lane, Split};

/// Runs `f(round, lane, scratch)` for `rounds` rounds on every lane of `split`, one thread per
/// lane (the calling one among them), each with its own scratch buffer. When the lanes meet
/// after every step, all finish a round before any starts the next.
///
/// The threads live for the whole sequence and meet at a spinning barrier after each round: a
/// round is one step, a fraction of a millisecond, too short to hand jobs to a thread pool and
/// wake its threads every time.
pub(super) fn in_lockstep<F>(split: &Split, scratch: &mut [Vec<f32>], rounds: usize, f: F)
where
    F: Fn(usize, &Lane, &mut [f32]) + Sync,
{
    let barrier = SpinBarrier::new(split.lanes.len());
    let run = |lane: &Lane, scratch: &mut [f32]| {
        for round in 0..rounds {
            f(round, lane, scratch);
            if split.meet {
                barrier.wait();
            }
        }
    };
    std::thread::scope(|s| {
        let mut work = split.lanes.iter().zip(scratch.iter_mut());
        let (first, first_scratch) = work.next().expect("a lane");
        for (lane, scratch) in work {
            let run = &run;
            s.spawn(move || run(lane, scratch));
        }
        run(first, first_scratch);
    });
}

/// Runs `f(share)` for each share `0..threads`, on as many threads (the calling one among
/// them).
pub(super) fn on_threads(threads: usize, f: impl Fn(usize) + Sync) {
    std::thread::scope(|s| {
        for share in 1..threads {
            let f = &f;
            s.spawn(move || f(share));
        }
        f(0);
    });
}

/// A barrier for a few threads that each own a core: waiters spin briefly, then yield.
struct SpinBarrier {
    threads: usize,
    arrived: AtomicUsize,
    generation: AtomicUsize,
}

impl SpinBarrier {
    fn new(threads: usize) -> Self {
        Self {
            threads,
            arrived: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
        }
    }

    fn wait(&self) {
        let generation = self.generation.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.threads {
            self.arrived.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
            return;
        }
        let mut spins = 0u32;
        while self.generation.load(Ordering::Acquire) == generation {
            if spins < 1 << 10 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// A raw pointer to a host buffer shared by the parts, which write disjoint rows.
#[derive(Clone, Copy)]
pub(super) struct Ptr(*mut f32);

// SAFETY: parts only write their own units' values, and read values others wrote only after
// the round that wrote them has ended.
unsafe impl Send for Ptr {}
unsafe impl Sync for Ptr {}

impl Ptr {
    pub fn of(v: &[f32]) -> Self {
        Self(v.as_ptr() as *mut f32)
    }

    pub fn of_mut(v: &mut [f32]) -> Self {
        Self(v.as_mut_ptr())
    }

    /// The element at `offset`.
    ///
    /// # Safety
    /// `offset` is inside the buffer.
    pub unsafe fn add(self, offset: usize) -> *mut f32 {
        unsafe { self.0.add(offset) }
    }

    /// `len` elements from `offset`; empty when `len` is 0.
    ///
    /// # Safety
    /// The range is inside the buffer and no other live slice overlaps it mutably.
    pub unsafe fn row<'a>(self, offset: usize, len: usize) -> &'a mut [f32] {
        if len == 0 {
            return &mut [];
        }
        unsafe { std::slice::from_raw_parts_mut(self.0.add(offset), len) }
    }
}

//! How a fused run is shared among threads: by examples or by hidden units (see
//! [`split_among`]), and the permutation of the gate columns that makes each part's gates
//! contiguous.

use std::ops::Range;

use super::pool;

/// Fewest examples per thread for splitting a run by examples: a full tile of the packed
/// multiply's rows.
const EXAMPLES_PER_THREAD: usize = 6;

/// Gate columns × examples per thread of a run of one step: at a hidden size of 256, an LSTM
/// or GRU step of a batch of 32 on two threads, an Elman step (a quarter of an LSTM's work)
/// from a batch of 96. Handing work to another thread and waiting for it costs tens of
/// microseconds, and much more when the cores are busy, while a step of a batch of 32 takes a
/// few hundred.
const SINGLE_STEP_SHARE: usize = 12_288;

/// A thread's share of a run: a part of the hidden units, for some of the examples.
#[derive(Debug, Clone)]
pub(super) struct Lane {
    /// Index into [`Split::parts`].
    pub part: usize,
    pub examples: Range<usize>,
}

/// How a run is shared among threads, one [`Lane`] each.
#[derive(Debug)]
pub(super) struct Split {
    /// Contiguous parts of the hidden units; the gate columns are permuted part by part.
    pub parts: Vec<Range<usize>>,
    pub lanes: Vec<Lane>,
    /// Whether the lanes meet after every step: when they split the hidden units (the next
    /// step needs the whole state), not when they split the examples.
    pub meet: bool,
}

/// Shares a run of `steps` steps out among the kernels' threads
/// ([`kernel_threads`](super::threads::kernel_threads), see [`split_among`]).
pub(super) fn split(
    gates: usize,
    hidden: usize,
    batch: usize,
    steps: usize,
    whole_units: bool,
) -> Split {
    split_among(
        super::threads::kernel_threads(),
        (gates, hidden),
        batch,
        steps,
        whole_units,
    )
}

/// Shares a run of `steps` steps out among up to `threads` threads: one thread for small
/// problems, where a thread hand-off would cost more than it saves; the examples when every
/// thread gets at least [`EXAMPLES_PER_THREAD`] and the run has several steps (the threads
/// then never wait for each other, and each reads all of the weights); else the hidden units,
/// in parts of at least 16.
///
/// A run of one step (a decoder's step) wakes its threads for a single multiply: it takes a
/// thread per [`SINGLE_STEP_SHARE`] of `gates × hidden × batch` (the multiply's output), and
/// splits by hidden units, so that each thread reads only its units' weights (read in place,
/// see `gate_rows`).
///
/// With `whole_units` (a projected `h`, which every unit feeds) a lane never takes part of the
/// units: a run that the examples cannot share runs on one thread.
pub(super) fn split_among(
    threads: usize,
    (gates, hidden): (usize, usize),
    batch: usize,
    steps: usize,
    whole_units: bool,
) -> Split {
    let worth = if steps > 1 {
        hidden * batch / 128
    } else {
        gates * hidden * batch / SINGLE_STEP_SHARE
    };
    let worth = worth.max(1);
    let threads = threads.min(worth).max(1);
    let ranges = |n: usize, k: usize| (0..k).map(move |p| p * n / k..(p + 1) * n / k);
    if threads > 1 && batch >= EXAMPLES_PER_THREAD * threads && steps > 1 {
        return Split {
            parts: std::iter::once(0..hidden).collect(),
            lanes: ranges(batch, threads)
                .map(|examples| Lane { part: 0, examples })
                .collect(),
            meet: false,
        };
    }
    let parts = if whole_units {
        1
    } else {
        threads.min(hidden / 16).max(1)
    };
    let parts: Vec<_> = ranges(hidden, parts).collect();
    Split {
        lanes: (0..parts.len())
            .map(|part| Lane {
                part,
                examples: 0..batch,
            })
            .collect(),
        parts,
        meet: true,
    }
}

/// Permuted row → PyTorch row: part by part, gate by gate, unit by unit.
pub(super) fn permutation(gates: usize, hidden: usize, parts: &[Range<usize>]) -> Vec<usize> {
    parts
        .iter()
        .flat_map(|p| (0..gates).flat_map(move |k| p.clone().map(move |j| k * hidden + j)))
        .collect()
}

/// A copy of `m`'s rows (`width` values each) in the permuted order.
pub(super) fn permuted_rows(m: &[f32], width: usize, perm: &[usize]) -> Vec<f32> {
    reordered_rows(m, width, perm, false)
}

/// The inverse of [`permuted_rows`]: permuted rows back in PyTorch's order; `m` itself, not
/// copied, when the permutation is the identity (a single part).
pub(super) fn unpermute_rows(m: Vec<f32>, width: usize, perm: &[usize]) -> Vec<f32> {
    if perm.iter().enumerate().all(|(p, &r)| p == r) {
        return m;
    }
    let out = reordered_rows(&m, width, perm, true);
    pool::give(m);
    out
}

/// A copy of `m`'s rows with row `perm[p]` moved to `p` (or, `inverse`, row `p` to `perm[p]`).
fn reordered_rows(m: &[f32], width: usize, perm: &[usize], inverse: bool) -> Vec<f32> {
    debug_assert_eq!(m.len(), perm.len() * width);
    let mut out = pool::take(m.len());
    reorder_rows_into(m, &mut out, width, |p| perm[p], inverse);
    out
}

/// For each row `p` of `out` (`width` values each): row `perm(p)` of `m` moved to row `p` of
/// `out`, or, `inverse`, row `p` of `m` to row `perm(p)` of `out`.
pub(super) fn reorder_rows_into(
    m: &[f32],
    out: &mut [f32],
    width: usize,
    perm: impl Fn(usize) -> usize,
    inverse: bool,
) {
    assert!(m.len() >= out.len(), "the rows to reorder hold every row");
    for p in 0..out.len() / width.max(1) {
        let (to, from) = if inverse { (perm(p), p) } else { (p, perm(p)) };
        out[to * width..][..width].copy_from_slice(&m[from * width..][..width]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(part, examples)` of each lane.
    type Lanes = Vec<(usize, Range<usize>)>;

    /// The lanes, the parts, and whether the lanes meet every step.
    fn shares(s: Split) -> (Lanes, Vec<Range<usize>>, bool) {
        let lanes = s.lanes.into_iter().map(|l| (l.part, l.examples)).collect();
        (lanes, s.parts, s.meet)
    }

    #[test]
    fn wide_batches_are_split_by_examples() {
        let (lanes, parts, meet) = shares(split_among(2, (4, 256), 32, 5, false));
        assert_eq!(lanes, [(0, 0..16), (0, 16..32)]);
        assert_eq!((parts.len(), parts[0].clone()), (1, 0..256));
        assert!(!meet);
        let (lanes, _, _) = shares(split_among(4, (4, 256), 26, 5, false));
        assert_eq!(lanes, [(0, 0..6), (0, 6..13), (0, 13..19), (0, 19..26)]);
    }

    #[test]
    fn narrow_batches_are_split_by_hidden_units() {
        // 11 examples: fewer than 6 per thread.
        let (lanes, parts, meet) = shares(split_among(2, (4, 256), 11, 5, false));
        assert_eq!(lanes, [(0, 0..11), (1, 0..11)]);
        assert_eq!(parts, [0..128, 128..256]);
        assert!(meet);
        // At most one part per 16 units.
        let (_, parts, _) = shares(split_among(8, (4, 40), 16, 5, false));
        assert_eq!(parts, [0..20, 20..40]);
    }

    #[test]
    fn single_steps_are_split_by_hidden_units_when_large() {
        // LSTM (4 gates) and GRU (3) steps from a batch of 32, Elman (1) from 96.
        for (gates, batch) in [(4, 32), (4, 100), (3, 32), (1, 96)] {
            let (lanes, parts, meet) = shares(split_among(2, (gates, 256), batch, 1, false));
            assert_eq!(lanes, [(0, 0..batch), (1, 0..batch)], "{gates} × {batch}");
            assert_eq!(parts, [0..128, 128..256], "{gates} × {batch}");
            assert!(meet);
        }
        for (gates, batch) in [(4, 1), (4, 16), (3, 15), (1, 64)] {
            let (lanes, parts, _) = shares(split_among(2, (gates, 256), batch, 1, false));
            assert_eq!(lanes, [(0, 0..batch)], "{gates} × {batch}");
            assert_eq!(
                (parts.len(), parts[0].clone()),
                (1, 0..256),
                "{gates} × {batch}"
            );
        }
    }

    #[test]
    fn projected_runs_never_split_the_units() {
        let (lanes, parts, meet) = shares(split_among(2, (4, 256), 32, 5, true));
        assert_eq!(lanes, [(0, 0..16), (0, 16..32)]);
        assert_eq!((parts.len(), meet), (1, false));
        for (batch, steps) in [(11, 5), (1, 30), (64, 1)] {
            let (lanes, parts, _) = shares(split_among(2, (4, 256), batch, steps, true));
            assert_eq!(lanes, [(0, 0..batch)], "batch {batch}, {steps} steps");
            assert_eq!(parts.len(), 1, "batch {batch}, {steps} steps");
            assert_eq!(parts[0], 0..256, "batch {batch}, {steps} steps");
        }
    }

    #[test]
    fn small_problems_run_on_one_thread() {
        for (threads, hidden, batch) in [(1, 256, 32), (2, 64, 1), (2, 127, 1)] {
            let (lanes, parts, _) = shares(split_among(threads, (4, hidden), batch, 5, false));
            assert_eq!(
                lanes,
                [(0, 0..batch)],
                "{threads} threads, {hidden} × {batch}"
            );
            assert_eq!((parts.len(), parts[0].clone()), (1, 0..hidden));
        }
    }
}

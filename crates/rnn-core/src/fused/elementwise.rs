//! The driver of the element-wise and row-wise operations ([`super::tanh`],
//! [`super::dropout`], [`super::log_softmax`]): a new buffer of `n` values written in
//! contiguous ranges, shared between the kernel threads when there are enough of them.

use super::pool;
use super::shared::Writes;
use super::threads::{kernel_threads, on_threads};

/// Elements worth a thread of their own: the second thread is started per call, which costs
/// more than it saves below this.
const ELEMENTS_PER_SHARE: usize = 1 << 17;

/// A pooled buffer of `n` values, `write(first, out)` filling each range `out` of it that
/// starts at element `first` (the ranges cover it once; each runs on one thread). Ranges start
/// and end at multiples of `unit` (a row, for row-wise operations), which divides `n`.
pub(super) fn each_range(
    n: usize,
    unit: usize,
    write: impl Fn(usize, &mut [f32]) + Sync,
) -> Vec<f32> {
    let mut out = pool::take(n);
    let units = n / unit.max(1);
    let shares = (n / ELEMENTS_PER_SHARE)
        .clamp(1, kernel_threads())
        .min(units.max(1));
    let writes = Writes::of(&mut out);
    on_threads(shares, |share| {
        let first = share * units / shares * unit;
        let end = (share + 1) * units / shares * unit;
        // SAFETY: elements `first..end` are this share's alone (the shares' ranges are
        // disjoint), and nothing reads them during the run.
        write(first, unsafe { writes.slice_mut(first, end - first) });
    });
    out
}

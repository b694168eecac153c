//! The indices of the `k` largest values of each row, on the CPU backends (ndarray, flex): one
//! pass over the row, keeping the best `k` so far, where the backends' `topk` sorts the whole
//! row. For beam search, which ranks `beam × vocabulary` candidates per example at every step.

use std::cell::Cell;
use std::sync::Mutex;

#[cfg(feature = "flex")]
use burn::backend::Flex;
#[cfg(feature = "ndarray")]
use burn::backend::NdArray;
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Autodiff, Backend, TensorMetadata, backend_extension};
use burn::tensor::{Int, Tensor, TensorData};

use super::host::with_values;
use super::isa::{self, Vectorised};
use super::threads::{kernel_threads, on_threads};

/// The indices of each row's largest values.
#[backend_extension(NdArray: cfg(feature = "ndarray"), Flex: cfg(feature = "flex"), Autodiff)]
pub(crate) trait FusedTopK: Backend {
    /// The indices of the `k` largest values of each row of `x`'s last dimension, largest
    /// first (ties: the lower index first), in `x`'s shape with `k` for the last dimension.
    fn fused_top_k_indices(x: FloatTensor<Self>, k: usize) -> IntTensor<Self>;
}

/// Values per share of the rows: enough to be worth a thread.
const VALUES_PER_SHARE: usize = 1 << 17;

/// `v`'s place in PyTorch's `topk` order as an integer: every NaN above `+inf` whatever its
/// sign bit (an `inf - inf` is negative on x86, positive on ARM), `-0.0` equal to `0.0`, the
/// rest as `f32::total_cmp` orders them; in a form the compiler vectorises.
#[inline(always)]
fn key(v: f32) -> i32 {
    // `-0.0 + 0.0` is `+0.0`; a NaN becomes the positive one, which `total_cmp` puts above
    // `+inf`.
    let v = if v.is_nan() { f32::NAN } else { v + 0.0 };
    let bits = v.to_bits() as i32;
    bits ^ (((bits >> 31) as u32) >> 1) as i32
}

/// Values whose largest key is compared with the `k`-th best at once.
const LANES: usize = 16;

/// The indices of the `k` largest values of each row of `width` values in `x` (1 ≤ `k` ≤
/// `width`), largest first, appended to `out`.
struct Rows<'a> {
    x: &'a [f32],
    width: usize,
    k: usize,
    out: &'a mut Vec<i64>,
}

impl Vectorised for Rows<'_> {
    type Output = ();

    #[inline(always)]
    fn run<const FMA: bool>(self) {
        let k = self.k;
        // The best so far, by key (descending) then index; never more than `k`.
        let mut best: Vec<(i32, usize)> = Vec::with_capacity(k + 1);
        for row in self.x.chunks_exact(self.width) {
            best.clear();
            for (c, chunk) in row.chunks(LANES).enumerate() {
                if best.len() == k {
                    let mut largest = i32::MIN;
                    for &v in chunk {
                        largest = largest.max(key(v));
                    }
                    if largest <= best[k - 1].0 {
                        continue;
                    }
                }
                for (j, &v) in chunk.iter().enumerate() {
                    let v = key(v);
                    // The row is scanned in order: a value equal to one kept ranks below it.
                    if best.len() == k && v <= best[k - 1].0 {
                        continue;
                    }
                    let at = best.partition_point(|&(kept, _)| kept >= v);
                    if best.len() == k {
                        best.pop();
                    }
                    best.insert(at, (v, c * LANES + j));
                }
            }
            self.out.extend(best.iter().map(|&(_, i)| i as i64));
        }
    }
}

/// The top-`k` indices of every row of `width` values in `x`, the rows shared between kernel
/// threads when there are many.
fn each_row(x: &[f32], width: usize, k: usize) -> Vec<i64> {
    let rows = x.len().checked_div(width).unwrap_or(0);
    let shares = (x.len() / VALUES_PER_SHARE)
        .clamp(1, kernel_threads())
        .min(rows.max(1));
    let parts = Mutex::new(vec![Vec::new(); shares]);
    on_threads(shares, |share| {
        let (first, end) = (share * rows / shares, (share + 1) * rows / shares);
        let mut out = Vec::with_capacity((end - first) * k);
        let x = &x[first * width..end * width];
        isa::run(Rows {
            x,
            width,
            k,
            out: &mut out,
        });
        parts.lock().expect("no share panicked")[share] = out;
    });
    parts.into_inner().expect("no share panicked").concat()
}

thread_local! {
    static RUNS: Cell<usize> = const { Cell::new(0) };
}

/// How many times this thread has run the fused [`topk_with_indices`](crate::topk_with_indices).
/// For tests that must fail if it silently runs Burn's where the kernel should run; not a
/// stable API.
#[doc(hidden)]
pub fn top_k_runs_on_this_thread() -> usize {
    RUNS.get()
}

/// Runs [`each_row`] on backend `B`'s tensor.
fn run_host<B: Backend>(x: FloatTensor<B>, k: usize) -> IntTensor<B> {
    RUNS.set(RUNS.get() + 1);
    let (device, mut shape) = (x.device(), x.shape());
    let last = shape.num_dims() - 1;
    let width = shape[last];
    shape[last] = k;
    let indices = with_values::<B, _>(x, |x| each_row(x, width, k));
    B::int_from_data(TensorData::new(indices, shape), &device)
}

macro_rules! host_backend {
    ($backend:ty) => {
        impl FusedTopK for $backend {
            fn fused_top_k_indices(x: FloatTensor<Self>, k: usize) -> IntTensor<Self> {
                run_host::<Self>(x, k)
            }
        }
    };
}

#[cfg(feature = "ndarray")]
host_backend!(NdArray);
#[cfg(feature = "flex")]
host_backend!(Flex);

/// Indices carry no gradient: the values are gathered by them from the tracked input.
impl<B: FusedTopK, C: burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy> FusedTopK
    for Autodiff<B, C>
{
    fn fused_top_k_indices(x: FloatTensor<Self>, k: usize) -> IntTensor<Self> {
        B::fused_top_k_indices(x.into_primitive(), k)
    }
}

/// The top-`k` values and indices along the last dimension of `x` through the fused kernel
/// when it can run there (an `f32` tensor on ndarray or flex, with or without autodiff,
/// 1 ≤ `k` ≤ the last dimension); `None` otherwise.
pub(crate) fn top_k<const D: usize>(
    x: &Tensor<D>,
    k: usize,
) -> Option<(Tensor<D>, Tensor<D, Int>)> {
    if !super::on_host(x) || k == 0 || k > x.dims()[D - 1] {
        return None;
    }
    let indices = Tensor::from_dispatch(
        <burn::backend::Dispatch as FusedTopK>::fused_top_k_indices(x.clone().into_dispatch(), k),
    );
    Some((x.clone().gather(D - 1, indices.clone()), indices))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fused::isa::runnable;
    use crate::fused::isa::tests::LAST_RAN;

    /// PyTorch's order: NaN above everything (NaNs equal), then the numbers (`-0.0` equal to
    /// `0.0`).
    fn torch_order(a: f32, b: f32) -> std::cmp::Ordering {
        match (a.is_nan(), b.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            (false, false) => a.partial_cmp(&b).expect("numbers"),
        }
    }

    /// The top `k` of each row of `x` by sorting it whole (stably: ties keep the lower index
    /// first).
    fn sorted(x: &[f32], width: usize, k: usize) -> Vec<i64> {
        let mut out = Vec::new();
        for row in x.chunks(width) {
            let mut order: Vec<usize> = (0..width).collect();
            order.sort_by(|&a, &b| torch_order(row[b], row[a]));
            out.extend(order[..k].iter().map(|&i| i as i64));
        }
        out
    }

    /// Ties, infinities, NaN of both signs and signed zeros, in rows shorter and longer than
    /// the lanes, on every instruction set.
    #[test]
    fn keeps_the_largest_in_order_with_ties_by_index() {
        let values = [
            3.0,
            -1.0,
            3.0,
            f32::NEG_INFINITY,
            7.0,
            0.5,
            f32::NAN,
            -0.0,
            0.0,
            7.0,
            -f32::NAN,
            f32::INFINITY,
        ];
        for width in [1, 5, 12, 16, 17, 40] {
            let x: Vec<f32> = (0..3 * width)
                .map(|i| values[(i * 5) % values.len()])
                .collect();
            for k in 1..=width {
                for isa in runnable() {
                    let mut out = Vec::new();
                    // SAFETY: the CPU runs `isa` (`runnable`).
                    unsafe {
                        isa::run_with(
                            isa,
                            Rows {
                                x: &x,
                                width,
                                k,
                                out: &mut out,
                            },
                        )
                    };
                    assert_eq!(LAST_RAN.get(), Some(isa));
                    assert_eq!(out, sorted(&x, width, k), "{isa:?}, width {width}, k {k}");
                }
            }
        }
    }

    /// Rows split between shares come back in order.
    #[test]
    fn rows_come_back_in_order_across_shares() {
        let (rows, width) = (40, VALUES_PER_SHARE / 10);
        let x: Vec<f32> = (0..rows * width)
            .map(|i| ((i * 7919) % 10007) as f32)
            .collect();
        assert_eq!(each_row(&x, width, 3), sorted(&x, width, 3));
    }
}

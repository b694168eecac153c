//! `log_softmax` over the last dimension as one operation on the CPU backends (ndarray, flex):
//! each row read twice (its maximum, then its exponentials in the kernels' vector
//! instructions) and written once, where Burn's composition is five passes with the C
//! library's `expf` per element. Under autodiff one graph node whose backward pass is
//! `dx = dy - softmax(x) Σ dy` per row, from the saved output. For decoding, where it runs on
//! every step's `[rows, vocabulary]` logits.

use std::cell::Cell;

#[cfg(feature = "flex")]
use burn::backend::Flex;
#[cfg(feature = "ndarray")]
use burn::backend::NdArray;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, backend_extension};
use burn::tensor::Tensor;

use super::elementwise::each_range;
use super::isa::{self, Vectorised};
use super::lanes::{lane_max, lane_sum};
use super::math;
use super::output_saved::{self, OutputSaved};

/// `log_softmax` over the last dimension.
#[backend_extension(NdArray: cfg(feature = "ndarray"), Flex: cfg(feature = "flex"), Autodiff)]
pub(crate) trait FusedLogSoftmax: Backend {
    /// `x - ln Σ e^x` of each row of `x`'s last dimension, in `x`'s shape (row-major).
    fn fused_log_softmax(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// One pass of [`log_softmax`](crate::log_softmax) over whole rows of `width` values: with
/// `dy`, the backward pass, `x` being the forward pass's output.
struct Pass<'a> {
    x: &'a [f32],
    dy: Option<&'a [f32]>,
    width: usize,
    out: &'a mut [f32],
}

impl Vectorised for Pass<'_> {
    type Output = ();

    #[inline(always)]
    fn run<const FMA: bool>(self) {
        let width = self.width;
        for (r, out) in self.out.chunks_exact_mut(width).enumerate() {
            let x = &self.x[r * width..][..width];
            match self.dy {
                None => {
                    // A NaN is skipped by the maximum but makes the sum, and so the row, NaN.
                    let max = lane_max(x);
                    let lse = max + math::ln::<FMA>(lane_sum::<FMA, true>(x, max));
                    for (out, &v) in out.iter_mut().zip(x) {
                        *out = v - lse;
                    }
                }
                Some(dy) => {
                    let dy = &dy[r * width..][..width];
                    let total = lane_sum::<FMA, false>(dy, 0.0);
                    for ((out, &y), &dy) in out.iter_mut().zip(x).zip(dy) {
                        *out = math::mul_add::<FMA>(-math::exp::<FMA>(y), total, dy);
                    }
                }
            }
        }
    }
}

/// [`Pass`] over all of `x` (rows of `width`; and `dy`, as long), the rows shared between
/// kernel threads.
fn each_row(x: &[f32], dy: Option<&[f32]>, width: usize) -> Vec<f32> {
    if width == 0 {
        return Vec::new();
    }
    each_range(x.len(), width, |first, out| {
        let range = first..first + out.len();
        let (x, dy) = (&x[range.clone()], dy.map(|dy| &dy[range]));
        isa::run(Pass { x, dy, width, out });
    })
}

thread_local! {
    static RUNS: Cell<usize> = const { Cell::new(0) };
}

/// How many times this thread has run the fused [`log_softmax`](crate::log_softmax). For tests
/// that must fail if it silently runs Burn's where the kernel should run; not a stable API.
#[doc(hidden)]
pub fn log_softmax_runs_on_this_thread() -> usize {
    RUNS.get()
}

/// `log_softmax` over the last dimension as an operation whose backward pass reads its output.
#[derive(Debug)]
struct LogSoftmax;

/// The last dimension of `shape` (the rows' width), 1 for a scalar.
fn width(shape: &[usize]) -> usize {
    shape.last().copied().unwrap_or(1)
}

impl OutputSaved for LogSoftmax {
    fn forward(x: &[f32], shape: &[usize]) -> Vec<f32> {
        each_row(x, None, width(shape))
    }

    fn backward(y: &[f32], dy: &[f32], shape: &[usize]) -> Vec<f32> {
        each_row(y, Some(dy), width(shape))
    }

    fn count_run() {
        RUNS.set(RUNS.get() + 1);
    }
}

macro_rules! host_backend {
    ($backend:ty) => {
        impl FusedLogSoftmax for $backend {
            fn fused_log_softmax(x: FloatTensor<Self>) -> FloatTensor<Self> {
                output_saved::run_host::<Self, LogSoftmax>(x)
            }
        }
    };
}

#[cfg(feature = "ndarray")]
host_backend!(NdArray);
#[cfg(feature = "flex")]
host_backend!(Flex);

impl<B: FusedLogSoftmax, C: CheckpointStrategy> FusedLogSoftmax for Autodiff<B, C> {
    fn fused_log_softmax(x: FloatTensor<Self>) -> FloatTensor<Self> {
        output_saved::tracked::<B, C, LogSoftmax>(x, B::fused_log_softmax)
    }
}

/// `log_softmax` over the last dimension of `x` through the fused kernel when it can run there
/// (an `f32` tensor on ndarray or flex, with or without autodiff); `None` otherwise.
pub(crate) fn log_softmax<const D: usize>(x: &Tensor<D>) -> Option<Tensor<D>> {
    if !super::on_host(x) {
        return None;
    }
    Some(Tensor::from_dispatch(
        <burn::backend::Dispatch as FusedLogSoftmax>::fused_log_softmax(x.clone().into_dispatch()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fused::isa::runnable;
    use crate::fused::isa::tests::LAST_RAN;

    /// Every code path against `f64` arithmetic, forward and backward, rows shorter and longer
    /// than the lanes.
    #[test]
    fn every_path_matches_f64() {
        for width in [1, 7, 16, 33, 1577] {
            let x: Vec<f32> = (0..3 * width)
                .map(|i| ((i * 37) % 101) as f32 * 0.25 - 12.0)
                .collect();
            let dy: Vec<f32> = (0..x.len()).map(|i| ((i * 13) % 7) as f32 - 3.0).collect();
            let mut y64 = Vec::new();
            let mut dx64 = Vec::new();
            for (row, dy) in x.chunks(width).zip(dy.chunks(width)) {
                let max = row
                    .iter()
                    .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
                let lse = max
                    + row
                        .iter()
                        .map(|&v| (f64::from(v) - max).exp())
                        .sum::<f64>()
                        .ln();
                let y: Vec<f64> = row.iter().map(|&v| f64::from(v) - lse).collect();
                let total: f64 = dy.iter().map(|&d| f64::from(d)).sum();
                dx64.extend(
                    y.iter()
                        .zip(dy)
                        .map(|(y, &d)| f64::from(d) - y.exp() * total),
                );
                y64.extend(y);
            }
            // The backward pass reads the forward pass's output.
            let y32: Vec<f32> = y64.iter().map(|&v| v as f32).collect();
            for isa in runnable() {
                let (mut y, mut dx) = (vec![0.0; x.len()], vec![0.0; x.len()]);
                for (x, dy, out) in [(&x, None, &mut y), (&y32, Some(&dy[..]), &mut dx)] {
                    // SAFETY: the CPU runs `isa` (`runnable`).
                    unsafe { isa::run_with(isa, Pass { x, dy, width, out }) };
                    assert_eq!(LAST_RAN.get(), Some(isa));
                }
                for (what, got, want) in [("y", &y, &y64), ("dx", &dx, &dx64)] {
                    for (g, w) in got.iter().zip(want.iter()) {
                        assert!(
                            (f64::from(*g) - w).abs() <= 2e-6 * w.abs().max(1.0),
                            "{isa:?} width {width} {what}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }
}

//! The label-smoothed cross-entropy of rows of logits as one operation on the CPU backends
//! (ndarray, flex): the forward pass reads each row twice (its maximum, then its
//! exponentials, in the kernels' vector instructions), and under autodiff one graph node
//! whose backward pass writes the gradient in one pass from the saved probabilities. Composed of Burn's tensor operations, the same
//! loss is a dozen element-wise passes over the logits each way (for a translation model's
//! output, `[1,600, 1,577]` per batch, most of a training step's time).

use std::sync::{Arc, Mutex};

#[cfg(feature = "flex")]
use burn::backend::Flex;
#[cfg(feature = "ndarray")]
use burn::backend::NdArray;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, TensorMetadata, backend_extension};
use burn::tensor::{Tensor, TensorData};

use super::host::with_values;
use super::isa::{self, Vectorised};
use super::lanes::{lane_max, lane_sum};
use super::math;
use super::pool;
use super::shared::{Reads, Writes};
use super::threads::{kernel_threads, on_threads};

/// What the loss computes besides its tensor: each row's target class and weight, and ε.
#[derive(Debug, Clone)]
pub(crate) struct Rows {
    /// `[rows]`, each below the number of classes.
    pub targets: Arc<[usize]>,
    /// `[rows]`: each row's loss counts this much in the sum.
    pub weights: Arc<[f32]>,
    /// Label smoothing ε in `[0, 1]`.
    pub smoothing: f32,
}

/// The weighted, label-smoothed cross-entropy of rows of logits.
#[backend_extension(NdArray: cfg(feature = "ndarray"), Flex: cfg(feature = "flex"), Autodiff)]
pub(crate) trait FusedCrossEntropy: Backend {
    /// `Σ_r weights[r] · (lse(z_r) - (1 - ε) z_r[t_r] - ε mean(z_r))` of `logits: [rows,
    /// classes]` (`z`), as `[1]`.
    fn fused_cross_entropy(logits: FloatTensor<Self>, rows: Rows) -> FloatTensor<Self>;
}

/// One row's `e^(z - max)` into `e`: returns the maximum, the sum of the exponentials and the
/// sum of the row. A NaN is skipped by the maximum but makes the exponentials' sum NaN.
struct Exponentials<'a> {
    row: &'a [f32],
    e: &'a mut [f32],
}

impl Vectorised for Exponentials<'_> {
    type Output = [f32; 3];

    #[inline(always)]
    fn run<const FMA: bool>(self) -> [f32; 3] {
        let max = lane_max(self.row);
        for (e, &v) in self.e.iter_mut().zip(self.row) {
            *e = math::exp::<FMA>(v - max);
        }
        [
            max,
            lane_sum::<FMA, false>(self.e, 0.0),
            lane_sum::<FMA, false>(self.row, 0.0),
        ]
    }
}

/// Rows per share of the work: enough to be worth a thread.
const ROWS_PER_SHARE: usize = 64;

/// The loss of `z` (`[rows, classes]`, row-major) and, when `save`, each row's softmax
/// (`[rows, classes]`, for the backward pass).
fn forward(z: &[f32], classes: usize, rows: &Rows, save: bool) -> (f32, Option<Vec<f32>>) {
    let n = rows.targets.len();
    let eps = f64::from(rows.smoothing);
    let mut probabilities = if save {
        pool::take(z.len())
    } else {
        Vec::new()
    };
    let shares = n.div_ceil(ROWS_PER_SHARE).clamp(1, kernel_threads());
    let totals = Mutex::new(vec![0.0f64; shares]);
    let out = Writes::of(&mut probabilities);
    let z_at = Reads::of(z);
    on_threads(shares, |share| {
        let range = share * n / shares..(share + 1) * n / shares;
        let mut scratch = vec![0.0f32; if save { 0 } else { classes }];
        let mut total = 0.0f64;
        for r in range {
            // A row of weight 0 (padding) is left out, as PyTorch's `ignore_index` leaves it:
            // whatever its logits (`-inf`, NaN), it adds nothing and gets a zero gradient.
            if rows.weights[r] == 0.0 {
                continue;
            }
            // SAFETY: `z` is only read; row `r` of the probabilities is this share's alone
            // (the shares' row ranges are disjoint), and nothing else reads it during the run.
            let (row, e) = unsafe {
                (
                    z_at.slice(r * classes, classes),
                    if save {
                        out.slice_mut(r * classes, classes)
                    } else {
                        &mut scratch[..]
                    },
                )
            };
            let [max, sum, values] = isa::run(Exponentials { row, e });
            let (sum, mean) = (f64::from(sum), f64::from(values) / classes as f64);
            let lse = f64::from(max) + sum.ln();
            let target = f64::from(row[rows.targets[r]]);
            // Without smoothing the mean is not a term at all: a `-inf` logit (a class masked
            // out) would make it `0 · -inf`, NaN.
            let smoothed = if eps > 0.0 { eps * mean } else { 0.0 };
            let loss = lse - (1.0 - eps) * target - smoothed;
            total += f64::from(rows.weights[r]) * loss;
            if save {
                let scale = (1.0 / sum) as f32;
                e.iter_mut().for_each(|p| *p *= scale);
            }
        }
        totals.lock().expect("no share panicked")[share] = total;
    });
    let total = totals
        .into_inner()
        .expect("no share panicked")
        .iter()
        .sum::<f64>();
    (total as f32, save.then_some(probabilities))
}

/// The gradient of `grad ·` the loss with respect to the logits, from the saved softmax.
fn backward(probabilities: &[f32], classes: usize, rows: &Rows, grad: f32) -> Vec<f32> {
    let n = rows.targets.len();
    let eps = rows.smoothing;
    let mut dz = pool::take(probabilities.len());
    let shares = n.div_ceil(ROWS_PER_SHARE).clamp(1, kernel_threads());
    let out = Writes::of(&mut dz);
    on_threads(shares, |share| {
        for r in share * n / shares..(share + 1) * n / shares {
            // SAFETY: row `r` of `dz` is this share's alone (disjoint row ranges).
            let d = unsafe { out.slice_mut(r * classes, classes) };
            if rows.weights[r] == 0.0 {
                // Left out of the forward pass: its probabilities were never computed.
                d.fill(0.0);
                continue;
            }
            let p = &probabilities[r * classes..][..classes];
            let w = grad * rows.weights[r];
            let uniform = eps / classes as f32;
            for (d, &p) in d.iter_mut().zip(p) {
                *d = w * (p - uniform);
            }
            d[rows.targets[r]] -= w * (1.0 - eps);
        }
    });
    dz
}

/// Backend `B`'s `[1]` tensor of `value`.
fn scalar<B: Backend>(value: f32, device: &B::Device) -> FloatTensor<B> {
    B::float_from_data(TensorData::new(vec![value], [1]), device)
}

/// Runs the host forward pass on backend `B`'s logits.
fn run_host<B: Backend>(
    logits: FloatTensor<B>,
    rows: &Rows,
    save: bool,
) -> (f32, Option<Vec<f32>>) {
    let classes = logits.shape().dims::<2>()[1];
    with_values::<B, _>(logits, |z| forward(z, classes, rows, save))
}

macro_rules! host_backend {
    ($backend:ty) => {
        impl FusedCrossEntropy for $backend {
            fn fused_cross_entropy(logits: FloatTensor<Self>, rows: Rows) -> FloatTensor<Self> {
                let device = logits.device();
                scalar::<Self>(run_host::<Self>(logits, &rows, false).0, &device)
            }
        }
    };
}

#[cfg(feature = "ndarray")]
host_backend!(NdArray);
#[cfg(feature = "flex")]
host_backend!(Flex);

/// The backward pass of [`FusedCrossEntropy::fused_cross_entropy`].
#[derive(Debug)]
struct FusedCrossEntropyBackward;

/// The saved softmax (pooled again when dropped), the rows, and the logits' shape.
#[derive(Debug)]
struct Saved {
    probabilities: Vec<f32>,
    rows: Rows,
    shape: [usize; 2],
}

impl Drop for Saved {
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.probabilities));
    }
}

impl<B: Backend> Backward<B, 1> for FusedCrossEntropyBackward {
    type State = (Arc<Saved>, B::Device);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (saved, device) = ops.state;
        let grad = with_values::<B, _>(grads.consume::<B>(&ops.node), |g| g[0]);
        let [node] = ops.parents;
        if let Some(node) = node {
            let dz = backward(&saved.probabilities, saved.shape[1], &saved.rows, grad);
            let dz = B::float_from_data(TensorData::new(dz, saved.shape), &device);
            grads.register::<B>(node.id, dz);
        }
    }
}

impl<B: FusedCrossEntropy, C: CheckpointStrategy> FusedCrossEntropy for Autodiff<B, C> {
    fn fused_cross_entropy(logits: FloatTensor<Self>, rows: Rows) -> FloatTensor<Self> {
        let node = logits.node();
        let shape = logits.shape().dims::<2>();
        let logits = logits.into_primitive();
        let device = logits.device();
        let prep = FusedCrossEntropyBackward
            .prepare::<C>([node])
            .compute_bound()
            .stateful();
        match prep {
            OpsKind::Tracked(prep) => {
                let (loss, probabilities) = run_host::<B>(logits, &rows, true);
                let saved = Saved {
                    probabilities: probabilities.expect("saved when tracked"),
                    rows,
                    shape,
                };
                prep.finish(
                    (Arc::new(saved), device.clone()),
                    scalar::<B>(loss, &device),
                )
            }
            OpsKind::UnTracked(prep) => {
                let (loss, _) = run_host::<B>(logits, &rows, false);
                prep.finish(scalar::<B>(loss, &device))
            }
        }
    }
}

/// The loss of `logits: [rows, classes]` through the fused kernel when it can run there (an
/// `f32` tensor on ndarray or flex, with or without autodiff); `None` elsewhere.
pub(crate) fn cross_entropy(logits: &Tensor<2>, rows: &Rows) -> Option<Tensor<1>> {
    if !super::on_host(logits) {
        return None;
    }
    Some(Tensor::from_dispatch(
        <burn::backend::Dispatch as FusedCrossEntropy>::fused_cross_entropy(
            logits.clone().into_dispatch(),
            rows.clone(),
        ),
    ))
}

//! Dropout as one operation on the CPU backends (ndarray, flex). Burn's dropout draws a
//! Bernoulli tensor through its ChaCha generator one element at a time, then multiplies twice
//! (three passes, and under autodiff two graph nodes that keep the mask). Here the mask is a
//! hash of each element's index under a key that Burn's seeded generator draws once per call,
//! so that the forward pass is one vectorised pass, and the backward pass recomputes the mask
//! from the key instead of keeping it.

use std::cell::Cell;

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
use burn::tensor::{Distribution, Tensor, TensorData};

use super::elementwise::each_range;
use super::host::with_values;
use super::isa::{self, Vectorised};

/// Which elements a dropout keeps, and by how much it scales them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mask {
    /// The hash's key, drawn from Burn's generator.
    pub key: [u32; 2],
    /// An element is kept when its hash is below this: `(1 - p) · 2³²`.
    pub threshold: u32,
    /// `1 / (1 - p)`.
    pub scale: f32,
}

impl Mask {
    /// The mask of a dropout with probability `prob` (in `(0, 1)`), keyed by two values drawn
    /// from Burn's generator on `device` (so `Backend::seed` makes it reproducible).
    pub fn draw(prob: f64, device: &burn::tensor::Device) -> Self {
        let drawn = Tensor::<1>::random([2], Distribution::Default, device).into_data();
        let bits = drawn.iter::<f32>().map(f32::to_bits).collect::<Vec<_>>();
        Self::new(prob, [bits[0], bits[1].rotate_left(16)])
    }

    /// The mask of a dropout with probability `prob` (in `(0, 1)`) under `key`.
    fn new(prob: f64, key: [u32; 2]) -> Self {
        let keep = 1.0 - prob;
        Self {
            key,
            threshold: (keep * 4_294_967_296.0).min(f64::from(u32::MAX)) as u32,
            scale: (1.0 / keep) as f32,
        }
    }

    /// `scale` if element `index` is kept, else 0.
    #[inline(always)]
    fn factor(self, index: u32) -> f32 {
        let hash = mix(mix(index ^ self.key[0]) ^ self.key[1]);
        if hash < self.threshold {
            self.scale
        } else {
            0.0
        }
    }
}

/// A 32-bit integer hash (xor-shift and multiply rounds, "lowbias32"): consecutive inputs give
/// unrelated outputs, and it vectorises (32-bit multiplies).
#[inline(always)]
fn mix(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x21f0_aaad);
    x ^= x >> 15;
    x = x.wrapping_mul(0x735a_2d97);
    x ^ (x >> 15)
}

/// Dropout with a drawn [`Mask`].
#[backend_extension(NdArray: cfg(feature = "ndarray"), Flex: cfg(feature = "flex"), Autodiff)]
pub(crate) trait FusedDropout: Backend {
    /// `x · factor(i)` of every element `i` of `x` (row-major), in `x`'s shape.
    fn fused_dropout(x: FloatTensor<Self>, mask: Mask) -> FloatTensor<Self>;
}

/// `out[i] = x[i] · factor(first + i)`: one range of the forward pass (`x` the input) or of
/// the backward pass (`x` the output's gradient). A product even where the factor is 0, so
/// that NaN stays NaN, as in Burn's and PyTorch's dropout.
struct Pass<'a> {
    x: &'a [f32],
    first: usize,
    mask: Mask,
    out: &'a mut [f32],
}

impl Vectorised for Pass<'_> {
    type Output = ();

    #[inline(always)]
    fn run<const FMA: bool>(self) {
        let first = self.first as u32;
        for (i, (out, &x)) in self.out.iter_mut().zip(self.x).enumerate() {
            *out = x * self.mask.factor(first.wrapping_add(i as u32));
        }
    }
}

/// [`Pass`] over all of `x`, the elements shared between kernel threads.
fn each_element(x: &[f32], mask: Mask) -> Vec<f32> {
    each_range(x.len(), 1, |first, out| {
        let x = &x[first..first + out.len()];
        isa::run(Pass {
            x,
            first,
            mask,
            out,
        });
    })
}

thread_local! {
    static RUNS: Cell<usize> = const { Cell::new(0) };
}

/// How many times this thread has run the fused [`dropout`](crate::dropout). For tests that
/// must fail if it silently runs Burn's dropout where the kernel should run; not a stable API.
#[doc(hidden)]
pub fn dropout_runs_on_this_thread() -> usize {
    RUNS.get()
}

/// [`each_element`] on backend `B`'s tensor.
fn run_host<B: Backend>(x: FloatTensor<B>, mask: Mask) -> FloatTensor<B> {
    let (device, shape) = (x.device(), x.shape());
    let y = with_values::<B, _>(x, |x| each_element(x, mask));
    B::float_from_data(TensorData::new(y, shape), &device)
}

macro_rules! host_backend {
    ($backend:ty) => {
        impl FusedDropout for $backend {
            fn fused_dropout(x: FloatTensor<Self>, mask: Mask) -> FloatTensor<Self> {
                RUNS.set(RUNS.get() + 1);
                run_host::<Self>(x, mask)
            }
        }
    };
}

#[cfg(feature = "ndarray")]
host_backend!(NdArray);
#[cfg(feature = "flex")]
host_backend!(Flex);

/// The backward pass of [`FusedDropout::fused_dropout`]: the same mask on the gradient.
#[derive(Debug)]
struct FusedDropoutBackward;

impl<B: Backend> Backward<B, 1> for FusedDropoutBackward {
    /// The mask (recomputed from its key).
    type State = Mask;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<B>(&ops.node);
        let [node] = ops.parents;
        if let Some(node) = node {
            grads.register::<B>(node.id, run_host::<B>(dy, ops.state));
        }
    }
}

impl<B: FusedDropout, C: CheckpointStrategy> FusedDropout for Autodiff<B, C> {
    fn fused_dropout(x: FloatTensor<Self>, mask: Mask) -> FloatTensor<Self> {
        let node = x.node();
        let x = x.into_primitive();
        let prep = FusedDropoutBackward
            .prepare::<C>([node])
            .compute_bound()
            .stateful();
        match prep {
            OpsKind::Tracked(prep) => prep.finish(mask, B::fused_dropout(x, mask)),
            OpsKind::UnTracked(prep) => prep.finish(B::fused_dropout(x, mask)),
        }
    }
}

/// Dropout of `x` with probability `prob` (in `(0, 1)`) through the fused kernel when it can
/// run there (an `f32` tensor on ndarray or flex, with or without autodiff, of fewer than 2³²
/// elements); `None` otherwise.
pub(crate) fn dropout<const D: usize>(x: &Tensor<D>, prob: f64) -> Option<Tensor<D>> {
    let small = u32::try_from(x.shape().num_elements()).is_ok();
    if !small || !super::on_host(x) {
        return None;
    }
    let mask = Mask::draw(prob, &x.device());
    Some(Tensor::from_dispatch(
        <burn::backend::Dispatch as FusedDropout>::fused_dropout(x.clone().into_dispatch(), mask),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fused::isa::runnable;
    use crate::fused::isa::tests::LAST_RAN;

    /// Every code path, and the threads' ranges, give each element its own index's factor.
    #[test]
    fn every_path_and_range_masks_by_the_index() {
        let mask = Mask::new(0.3, [0x1234_5678, 0x9abc_def0]);
        let x: Vec<f32> = (0..3 * (1 << 17) + 5)
            .map(|i| (i % 13) as f32 - 6.0)
            .collect();
        let expected: Vec<f32> = (0..x.len()).map(|i| x[i] * mask.factor(i as u32)).collect();
        assert_eq!(each_element(&x, mask), expected);
        for isa in runnable() {
            let mut out = vec![0.0; 1000];
            let pass = Pass {
                x: &x[77..1077],
                first: 77,
                mask,
                out: &mut out,
            };
            // SAFETY: the CPU runs `isa` (`runnable`).
            unsafe { isa::run_with(isa, pass) };
            assert_eq!(LAST_RAN.get(), Some(isa));
            assert_eq!(out, expected[77..1077], "{isa:?}");
        }
    }

    /// The hash behaves as independent draws: the kept fraction, neighbours kept together,
    /// and two keys' masks, each within a few standard deviations of their expectation.
    #[test]
    fn masks_look_like_independent_draws() {
        let n = 1u32 << 20;
        for (prob, key) in [(0.1, [1, 2]), (0.5, [0, 0]), (0.75, [u32::MAX, 7])] {
            let keep = 1.0 - prob;
            let (a, b) = (Mask::new(prob, key), Mask::new(prob, [key[0] ^ 1, key[1]]));
            let kept = |m: Mask, i: u32| m.factor(i) != 0.0;
            let count =
                |f: &dyn Fn(u32) -> bool| (0..n).filter(|&i| f(i)).count() as f64 / n as f64;
            let tolerance = 5.0 / f64::from(n).sqrt();
            let checks = [
                ("kept", count(&|i| kept(a, i)), keep),
                (
                    "neighbours kept",
                    count(&|i| kept(a, i) && kept(a, i + 1)),
                    keep * keep,
                ),
                (
                    "kept by both keys",
                    count(&|i| kept(a, i) && kept(b, i)),
                    keep * keep,
                ),
            ];
            for (what, got, want) in checks {
                assert!(
                    (got - want).abs() < tolerance,
                    "p = {prob}, {what}: {got} vs {want}"
                );
            }
        }
    }
}

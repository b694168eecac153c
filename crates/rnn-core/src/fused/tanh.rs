//! `tanh` as one operation on the CPU backends (ndarray, flex): both compute Burn's `tanh` one
//! element at a time with the C library's `tanhf`, here it is [`math::tanh`] compiled for the
//! kernels' vector instructions, and under autodiff one graph node whose backward pass is
//! `dx = dy (1 - y²)` in one pass over the saved output (Burn's is three element-wise
//! operations). For the activations around a recurrent network: Luong attention's
//! attentional state, additive attention's scores, a bridge between encoder and decoder.

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
use burn::tensor::{Tensor, TensorData};

use super::elementwise::each_range;
use super::host::with_values;
use super::isa::{self, Vectorised};
use super::math;

/// Element-wise `tanh`.
#[backend_extension(NdArray: cfg(feature = "ndarray"), Flex: cfg(feature = "flex"), Autodiff)]
pub(crate) trait FusedTanh: Backend {
    /// `tanh(x)` of every element, in `x`'s shape (row-major).
    fn fused_tanh(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `out[i] = tanh(x[i])`, or with `dy`, `out[i] = dy[i] (1 - x[i]²)` (`x` being `tanh`'s
/// output): one pass of [`tanh`](crate::tanh) forward or backward over a range of elements.
struct Pass<'a> {
    x: &'a [f32],
    dy: Option<&'a [f32]>,
    out: &'a mut [f32],
}

impl Vectorised for Pass<'_> {
    type Output = ();

    #[inline(always)]
    fn run<const FMA: bool>(self) {
        match self.dy {
            None => self
                .out
                .iter_mut()
                .zip(self.x)
                .for_each(|(out, &x)| *out = math::tanh::<FMA>(x)),
            Some(dy) => self
                .out
                .iter_mut()
                .zip(self.x)
                .zip(dy)
                .for_each(|((out, &y), &dy)| *out = dy * math::mul_add::<FMA>(-y, y, 1.0)),
        }
    }
}

/// [`Pass`] over all of `x` (and `dy`, as long), the elements shared between kernel threads.
fn each_element(x: &[f32], dy: Option<&[f32]>) -> Vec<f32> {
    each_range(x.len(), 1, |first, out| {
        let range = first..first + out.len();
        let (x, dy) = (&x[range.clone()], dy.map(|dy| &dy[range]));
        isa::run(Pass { x, dy, out });
    })
}

thread_local! {
    static RUNS: Cell<usize> = const { Cell::new(0) };
}

/// How many times this thread has run the fused [`tanh`](crate::tanh). For tests that must
/// fail if it silently runs Burn's `tanh` where the kernel should run; not a stable API.
#[doc(hidden)]
pub fn tanh_runs_on_this_thread() -> usize {
    RUNS.get()
}

/// Runs [`each_element`]'s forward pass on backend `B`'s tensor.
fn run_host<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    RUNS.set(RUNS.get() + 1);
    let (device, shape) = (x.device(), x.shape());
    let y = with_values::<B, _>(x, |x| each_element(x, None));
    B::float_from_data(TensorData::new(y, shape), &device)
}

macro_rules! host_backend {
    ($backend:ty) => {
        impl FusedTanh for $backend {
            fn fused_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
                run_host::<Self>(x)
            }
        }
    };
}

#[cfg(feature = "ndarray")]
host_backend!(NdArray);
#[cfg(feature = "flex")]
host_backend!(Flex);

/// The backward pass of [`FusedTanh::fused_tanh`].
#[derive(Debug)]
struct FusedTanhBackward;

impl<B: Backend> Backward<B, 1> for FusedTanhBackward {
    /// The output `tanh(x)`.
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let y = ops.state;
        let dy = grads.consume::<B>(&ops.node);
        let [node] = ops.parents;
        if let Some(node) = node {
            let (device, shape) = (y.device(), y.shape());
            let dx = with_values::<B, _>(dy, |dy| {
                with_values::<B, _>(y, |y| each_element(y, Some(dy)))
            });
            let dx = B::float_from_data(TensorData::new(dx, shape), &device);
            grads.register::<B>(node.id, dx);
        }
    }
}

impl<B: FusedTanh, C: CheckpointStrategy> FusedTanh for Autodiff<B, C> {
    fn fused_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let node = x.node();
        let x = x.into_primitive();
        let prep = FusedTanhBackward
            .prepare::<C>([node])
            .compute_bound()
            .stateful();
        match prep {
            OpsKind::Tracked(prep) => {
                let y = B::fused_tanh(x);
                prep.finish(y.clone(), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_tanh(x)),
        }
    }
}

/// `tanh(x)` through the fused kernel when it can run there (an `f32` tensor on ndarray or
/// flex, with or without autodiff); `None` otherwise.
pub(crate) fn tanh<const D: usize>(x: &Tensor<D>) -> Option<Tensor<D>> {
    if !super::on_host(x) {
        return None;
    }
    Some(Tensor::from_dispatch(
        <burn::backend::Dispatch as FusedTanh>::fused_tanh(x.clone().into_dispatch()),
    ))
}

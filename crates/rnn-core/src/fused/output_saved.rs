//! The host run and the autodiff node of an operation whose backward pass reads only its output
//! and the output's gradient ([`super::tanh`]: `dy (1 - y²)`; [`super::log_softmax`]:
//! `dy - e^y Σ dy`): each operation gives its two passes over host values, this gives the rest.

use std::marker::PhantomData;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, TensorMetadata};
use burn::tensor::TensorData;

use super::host::with_values;

/// `y = f(x)` in `x`'s shape, whose input gradient is a function of `y` and `dy` alone.
pub(super) trait OutputSaved: std::fmt::Debug + Send + Sync + 'static {
    /// `y` of `x` (row-major values of a tensor of `shape`).
    fn forward(x: &[f32], shape: &[usize]) -> Vec<f32>;
    /// `dx` of `y` and its gradient `dy` (both row-major, of `shape`).
    fn backward(y: &[f32], dy: &[f32], shape: &[usize]) -> Vec<f32>;
    /// Notes a run of the host pass, for the tests' run counters.
    fn count_run();
}

/// Runs `Op`'s forward pass on backend `B`'s tensor.
pub(super) fn run_host<B: Backend, Op: OutputSaved>(x: FloatTensor<B>) -> FloatTensor<B> {
    Op::count_run();
    let (device, shape) = (x.device(), x.shape());
    let y = with_values::<B, _>(x, |x| Op::forward(x, shape.as_slice()));
    B::float_from_data(TensorData::new(y, shape), &device)
}

/// The backward pass of `Op`'s graph node.
#[derive(Debug)]
struct OutputSavedBackward<Op>(PhantomData<Op>);

impl<B: Backend, Op: OutputSaved> Backward<B, 1> for OutputSavedBackward<Op> {
    /// The output `y`.
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let y = ops.state;
        let dy = grads.consume::<B>(&ops.node);
        let [node] = ops.parents;
        if let Some(node) = node {
            let (device, shape) = (y.device(), y.shape());
            let dx = with_values::<B, _>(dy, |dy| {
                with_values::<B, _>(y, |y| Op::backward(y, dy, shape.as_slice()))
            });
            let dx = B::float_from_data(TensorData::new(dx, shape), &device);
            grads.register::<B>(node.id, dx);
        }
    }
}

/// `Op` of `x` under autodiff, one graph node that keeps the output: `inner` computes it on
/// the inner backend.
pub(super) fn tracked<B: Backend, C: CheckpointStrategy, Op: OutputSaved>(
    x: FloatTensor<Autodiff<B, C>>,
    inner: impl Fn(FloatTensor<B>) -> FloatTensor<B>,
) -> FloatTensor<Autodiff<B, C>> {
    let node = x.node();
    let x = x.into_primitive();
    let prep = OutputSavedBackward::<Op>(PhantomData)
        .prepare::<C>([node])
        .compute_bound()
        .stateful();
    match prep {
        OpsKind::Tracked(prep) => {
            let y = inner(x);
            prep.finish(y.clone(), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(inner(x)),
    }
}

//! One generic bidirectional wrapper for every cell type.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::Tensor;

use crate::padding::Padding;
use crate::{Cell, Recurrent};

/// How the forward and backward outputs of a bidirectional layer are combined.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum MergeMode {
    /// Concatenate along features: `[.., 2 * hidden]` (PyTorch's behaviour; the default).
    Concat,
    /// Elementwise sum: `[.., hidden]`.
    Sum,
    /// Elementwise mean: `[.., hidden]`.
    Mean,
    /// Elementwise product: `[.., hidden]`.
    Mul,
}

impl MergeMode {
    /// Output feature size of a merged layer with `hidden` units per direction.
    pub fn output_size(&self, hidden: usize) -> usize {
        match self {
            MergeMode::Concat => 2 * hidden,
            _ => hidden,
        }
    }

    /// Merges `forward` and `backward` outputs `[.., hidden]`.
    pub fn merge<const D: usize>(&self, forward: Tensor<D>, backward: Tensor<D>) -> Tensor<D> {
        match self {
            MergeMode::Concat => Tensor::cat(vec![forward, backward], D - 1),
            MergeMode::Sum => forward + backward,
            MergeMode::Mean => (forward + backward) * 0.5,
            MergeMode::Mul => forward * backward,
        }
    }
}

/// A forward and a backward [`Recurrent`] over the same input, outputs merged by [`MergeMode`].
///
/// With lengths, the backward direction runs over each example's valid part reversed, so
/// its output at step `t` summarises steps `t..len`.
#[derive(Module, Debug)]
pub struct Bidirectional<C: Cell> {
    /// Runs first to last.
    pub forward: Recurrent<C>,
    /// Runs last to first.
    pub backward: Recurrent<C>,
    /// How outputs are combined.
    #[module(skip)]
    pub merge: MergeMode,
}

impl<C: Cell> Bidirectional<C> {
    /// Pairs two cells: `forward` runs first to last, `backward` last to first.
    pub fn new(forward: C, backward: C, merge: MergeMode) -> Self {
        Self {
            forward: Recurrent::new(forward, false),
            backward: Recurrent::new(backward, true),
            merge,
        }
    }

    /// Runs both directions over time-major `input: [seq, batch, input]`.
    ///
    /// `states` are the initial `(forward, backward)` states (parts `[batch, hidden]`).
    /// Returns merged outputs `[seq, batch, merge.output_size(hidden)]` and the final
    /// `(forward, backward)` states.
    pub(crate) fn run(
        &self,
        input: Tensor<3>,
        states: Option<(C::State<2>, C::State<2>)>,
        padding: Option<&Padding>,
    ) -> (Tensor<3>, (C::State<2>, C::State<2>)) {
        let (state_fwd, state_bwd) = states.unzip();
        let (out_fwd, last_fwd) = self.forward.run(input.clone(), state_fwd, padding);
        let (out_bwd, last_bwd) = self.backward.run(input, state_bwd, padding);
        (self.merge.merge(out_fwd, out_bwd), (last_fwd, last_bwd))
    }
}

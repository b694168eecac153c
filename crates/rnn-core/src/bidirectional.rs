//! One generic bidirectional wrapper for every cell type.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::Tensor;

use crate::arguments::{check_cell_state, check_cells, check_input, padding_of};
use crate::fused::OutputLayout;
use crate::padding::{Padding, zero_padding};
use crate::{Cell, Lengths, Recurrent, RnnError};

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

    /// Runs both directions over a batch-first `input: [batch, seq, input]`, from the initial
    /// `(forward, backward)` states (parts `[batch, size]`, zeros when `None`), with each
    /// example's valid length when `lengths` is given.
    ///
    /// Returns the merged outputs `[batch, seq, merge.output_size(output)]` (zero past each
    /// example's length) and the final `(forward, backward)` states.
    ///
    /// # Panics
    /// On bad arguments, with the message of [`try_forward`](Self::try_forward).
    #[allow(clippy::type_complexity)]
    pub fn forward(
        &self,
        input: Tensor<3>,
        states: Option<(C::State<2>, C::State<2>)>,
        lengths: Option<&Lengths>,
    ) -> (Tensor<3>, (C::State<2>, C::State<2>)) {
        self.try_forward(input, states, lengths)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`forward`](Self::forward), returning an error naming the bad argument (see
    /// [`Recurrent::try_forward`]).
    #[allow(clippy::type_complexity)]
    pub fn try_forward(
        &self,
        input: Tensor<3>,
        states: Option<(C::State<2>, C::State<2>)>,
        lengths: Option<&Lengths>,
    ) -> Result<(Tensor<3>, (C::State<2>, C::State<2>)), RnnError> {
        let input = input.swap_dims(0, 1);
        let [seq, batch, _] = input.dims();
        let input_size = self.forward.cell.input_size();
        check_input(&input, true, input_size)?;
        let cells = [&self.forward.cell, &self.backward.cell];
        check_cells(&cells, [input_size, 2], |s| s, &input)?;
        if let Some((fwd, bwd)) = &states {
            check_cell_state(&self.forward.cell, fwd, batch, &input)?;
            check_cell_state(&self.backward.cell, bwd, batch, &input)?;
        }
        let padding = padding_of(lengths, batch, seq, &input.device())?;
        let (output, states) = self.run(zero_padding(input, padding), states, padding);
        Ok((output.swap_dims(0, 1), states))
    }

    /// Runs both directions over time-major `input: [seq, batch, input]`.
    ///
    /// `states` are the initial `(forward, backward)` states (parts `[batch, hidden]`).
    /// Returns merged outputs `[seq, batch, merge.output_size(hidden)]` and the final
    /// `(forward, backward)` states.
    #[allow(clippy::type_complexity)]
    pub(crate) fn run(
        &self,
        input: Tensor<3>,
        states: Option<(C::State<2>, C::State<2>)>,
        padding: Option<&Padding>,
    ) -> (Tensor<3>, (C::State<2>, C::State<2>)) {
        let (state_fwd, state_bwd) = states.unzip();
        // Merged along the features, time-major.
        let layout = OutputLayout::TimeMajor;
        let (out_fwd, last_fwd) = self.forward.run(input.clone(), state_fwd, padding, layout);
        let (out_bwd, last_bwd) = self.backward.run(input, state_bwd, padding, layout);
        (self.merge.merge(out_fwd, out_bwd), (last_fwd, last_bwd))
    }
}

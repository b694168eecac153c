//! The sequence driver: runs any [`Cell`] over time, in one direction.

use burn::module::Module;
use burn::tensor::Tensor;

use crate::arguments::{check_cell_state, check_cells, check_input, padding_of};
use crate::fused::{self, OutputLayout};
use crate::padding::{Padding, reverse_time, zero_padding};
use crate::{Cell, CellState, CellWeights, Lengths, RnnError};

/// Runs a [`Cell`] over a sequence in one direction (a single layer).
///
/// All timesteps are projected onto the gates in one matmul before the time loop; the loop
/// does one hidden matmul and the gate math per step; outputs are stacked once at the end.
/// On the ndarray and flex backends, the built-in cells run as one
/// fused operation per sequence instead (same results, a hand-written backward through time).
/// Sequences are time-major inside (`[seq, batch, features]`) and each step feature-major
/// (`[features, batch]`, see [`Cell`]).
///
/// This is the building block of [`Bidirectional`](crate::Bidirectional) and
/// [`Rnn`](crate::Rnn), and a layer of its own ([`forward`](Self::forward)), like Flax's
/// `nn.RNN(cell)`: any cell, built-in or defined elsewhere, runs through it.
#[derive(Module, Debug)]
pub struct Recurrent<C: Cell> {
    /// The cell applied at every step.
    pub cell: C,
    /// Whether to run from the last valid step to the first (the backward direction).
    /// Outputs are returned in input order either way.
    pub reverse: bool,
}

impl<C: Cell> Recurrent<C> {
    /// Wraps `cell`, running forward in time (or backward when `reverse`).
    pub fn new(cell: C, reverse: bool) -> Self {
        Self { cell, reverse }
    }

    /// Runs over a batch-first `input: [batch, seq, input]` from `state` (parts `[batch, size]`,
    /// zeros when `None`), with each example's valid length when `lengths` is given.
    ///
    /// Returns the outputs `[batch, seq, output]` (zero past each example's length) and the
    /// final state (after each example's last valid step; for a reverse direction, after its
    /// first step).
    ///
    /// # Panics
    /// On bad arguments, with the message of [`try_forward`](Self::try_forward).
    pub fn forward(
        &self,
        input: Tensor<3>,
        state: Option<C::State<2>>,
        lengths: Option<&Lengths>,
    ) -> (Tensor<3>, C::State<2>) {
        self.try_forward(input, state, lengths)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`forward`](Self::forward), returning an error naming the bad argument: an empty
    /// input or one of another feature size, parameters that do not fit together, a state of
    /// another shape, lengths made for another batch.
    pub fn try_forward(
        &self,
        input: Tensor<3>,
        state: Option<C::State<2>>,
        lengths: Option<&Lengths>,
    ) -> Result<(Tensor<3>, C::State<2>), RnnError> {
        let input = input.swap_dims(0, 1);
        let [seq, batch, _] = input.dims();
        check_input(&input, true, self.cell.input_size())?;
        check_cells(&[&self.cell], [self.cell.input_size(), 1], |s| s, &input)?;
        if let Some(state) = &state {
            check_cell_state(&self.cell, state, batch, &input)?;
        }
        let padding = padding_of(lengths, batch, seq, &input.device())?;
        let input = zero_padding(input, padding);
        let (output, state) = self.run(input, state, padding, OutputLayout::BatchMajor);
        Ok((output.swap_dims(0, 1), state))
    }

    /// Runs over time-major `input: [seq, batch, input]` from `state` (`h: [batch, output]`,
    /// `c: [batch, hidden]`; zeros when `None`).
    ///
    /// Returns the outputs `[seq, batch, output]` (zero past each example's length) and the
    /// final state (the state after each example's last valid step; for a reverse direction,
    /// after its first step).
    pub(crate) fn run(
        &self,
        input: Tensor<3>,
        state: Option<C::State<2>>,
        padding: Option<&Padding>,
        layout: OutputLayout,
    ) -> (Tensor<3>, C::State<2>) {
        let input = if self.reverse {
            reverse_time(input, padding)
        } else {
            input
        };
        // The time reversal of a reverse direction's outputs reads them time-major.
        let layout = if self.reverse {
            OutputLayout::TimeMajor
        } else {
            layout
        };
        let (output, state) = match fused::kernel_for(&self.cell, &input) {
            Some(kernel) => fused::run(kernel, input, state, padding, layout),
            None => self.run_steps(input, state, padding),
        };
        let output = if self.reverse {
            reverse_time(output, padding)
        } else {
            output
        };
        (output, state)
    }

    /// The driver of cells without a fused kernel, over time-major `input` (already reversed
    /// for a reverse direction): projects every step at once, then runs the cell over the
    /// projections ([`Cell::sequence_projected`]: step by step, or all at once where the cell
    /// allows it). Outputs `[seq, batch, output]`, zero past each example's length.
    fn run_steps(
        &self,
        input: Tensor<3>,
        state: Option<C::State<2>>,
        padding: Option<&Padding>,
    ) -> (Tensor<3>, C::State<2>) {
        let [seq, batch, features] = input.dims();
        let width = self.cell.weights().gates_width();
        let (device, dtype) = (input.device(), input.dtype());
        let steps = padding.map_or(seq, |p| p.max_len);
        let input = if steps < seq {
            input.narrow(0, 0, steps)
        } else {
            input
        };
        // Feature-major from here on: projections `[steps, G * H, batch]`, state parts
        // `[size, batch]`.
        let projected = self
            .cell
            .project_input(input.reshape([steps * batch, features]))
            .reshape([width, steps, batch])
            .swap_dims(0, 1);
        let state: C::State<2> = state
            .unwrap_or_else(|| self.cell.zero_state(batch, (&device, dtype)))
            .map(Tensor::transpose);
        let keep = padding.map(|p| p.keep.clone().narrow(0, 0, steps).swap_dims(1, 2));
        let (output, state) = self.cell.sequence_projected(projected, state, keep);

        let mut output = output.swap_dims(1, 2);
        if let Some(p) = padding {
            if steps < seq {
                let output_size = self.cell.output_size();
                let tail = Tensor::zeros([seq - steps, batch, output_size], (&device, dtype));
                output = Tensor::cat(vec![output, tail], 0);
            }
            // Zeros written in the padding, not a product with the mask: a NaN or an infinite
            // state kept through the padding would give NaN (`inf · 0`), where PyTorch pads
            // with zeros.
            let padded = p.keep.clone().bool_not().expand(output.dims());
            output = output.mask_fill(padded, 0.0);
        }
        (output, state.map(Tensor::transpose))
    }
}

/// Splits `[seq, rows, cols]` into `seq` tensors `[rows, cols]`.
///
/// Under autodiff, the backward of each slice writes its gradient into a zero tensor the size
/// of the sliced one: slicing `seq` steps straight off the whole sequence would cost
/// `O(seq²)` in the backward pass, so tracked tensors are halved recursively
/// (`O(seq log seq)`). Untracked ones are sliced directly, which copies least.
pub(crate) fn unstack_time(x: Tensor<3>) -> Vec<Tensor<2>> {
    let [seq, rows, cols] = x.dims();
    if !x.is_tracked() {
        return x.iter_dim(0).map(|t| t.reshape([rows, cols])).collect();
    }
    if seq == 1 {
        return vec![x.reshape([rows, cols])];
    }
    let half = seq / 2;
    let mut steps = unstack_time(x.clone().narrow(0, 0, half));
    steps.extend(unstack_time(x.narrow(0, half, seq - half)));
    steps
}

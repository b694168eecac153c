//! The sequence driver: runs any [`Cell`] over time, in one direction.

use burn::module::Module;
use burn::tensor::Tensor;

use crate::fused;
use crate::padding::{Padding, reverse_time};
use crate::state::select;
use crate::{Cell, CellState};

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
/// [`Rnn`](crate::Rnn), which validate inputs and run it; a single unidirectional layer is
/// `RnnConfig::new(input, hidden).init(&device)`.
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
    ) -> (Tensor<3>, C::State<2>) {
        let input = if self.reverse {
            reverse_time(input, padding)
        } else {
            input
        };
        let (output, state) = match self.cell.kernel() {
            Some(kernel) if fused::supports(&input) => {
                fused::run(kernel, self.cell.weights(), input, state, padding)
            }
            _ => self.run_steps(input, state, padding),
        };
        let output = if self.reverse {
            reverse_time(output, padding)
        } else {
            output
        };
        (output, state)
    }

    /// The step-by-step driver over time-major `input` (already reversed for a reverse
    /// direction): outputs `[seq, batch, output]`, zero past each example's length.
    fn run_steps(
        &self,
        input: Tensor<3>,
        state: Option<C::State<2>>,
        padding: Option<&Padding>,
    ) -> (Tensor<3>, C::State<2>) {
        let [seq, batch, features] = input.dims();
        let hidden = self.cell.hidden_size();
        let device = input.device();
        let steps = padding.map_or(seq, |p| p.max_len);
        let input = if steps < seq {
            input.narrow(0, 0, steps)
        } else {
            input
        };
        // Feature-major from here on: projections `[G * H, batch]`, states `[R, batch]` and
        // `[H, batch]`.
        let projected = self
            .cell
            .project_input(input.reshape([steps * batch, features]))
            .reshape([C::GATES * hidden, steps, batch])
            .swap_dims(0, 1);

        let mut state: C::State<2> = state
            .unwrap_or_else(|| self.cell.zero_state(batch, &device))
            .map(Tensor::transpose);
        let mut outputs = Vec::with_capacity(steps);
        // `[steps, batch]`, so each step's mask comes out as `[1, batch]`, ready to broadcast.
        let keeps = padding.map(|p| {
            p.keep
                .clone()
                .narrow(0, 0, steps)
                .reshape([steps, batch])
                .iter_dim(0)
        });
        let inputs = unstack_time(projected);
        match keeps {
            None => {
                for x_t in inputs {
                    state = self.cell.step_projected(x_t, state);
                    outputs.push(output_of(&state));
                }
            }
            Some(keeps) => {
                for (x_t, keep_t) in inputs.into_iter().zip(keeps) {
                    let next = self.cell.step_projected(x_t, state.clone());
                    state = select(next, state, &keep_t);
                    outputs.push(output_of(&state));
                }
            }
        }

        let mut output = Tensor::stack::<3>(outputs, 0).swap_dims(1, 2);
        if let Some(p) = padding {
            if steps < seq {
                let output_size = self.cell.output_size();
                let tail = Tensor::zeros([seq - steps, batch, output_size], &device);
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

/// The output of a step: the state's first part (`h`).
fn output_of<const D: usize, S: CellState<D>>(state: &S) -> Tensor<D> {
    state.clone().into_parts().swap_remove(0)
}

/// Splits `[seq, rows, cols]` into `seq` tensors `[rows, cols]`.
///
/// Under autodiff, the backward of each slice writes its gradient into a zero tensor the size
/// of the sliced one: slicing `seq` steps straight off the whole sequence would cost
/// `O(seq²)` in the backward pass, so tracked tensors are halved recursively
/// (`O(seq log seq)`). Untracked ones are sliced directly, which copies least.
fn unstack_time(x: Tensor<3>) -> Vec<Tensor<2>> {
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

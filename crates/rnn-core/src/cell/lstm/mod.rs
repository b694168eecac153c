//! The LSTM cell, as `torch.nn.LSTM`.

use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::{DType, Device, Tensor};

pub(crate) mod kernel;

use super::{Cell, CellConfig, gate_units};
use crate::fused::Kernel;
use crate::fused::gate_math::GateMath;
use crate::weights::{check_parameter, pytorch_initializer};
use crate::{CellWeights, FusedWeights, RnnError, RnnState};
use kernel::LstmMath;

/// LSTM cell with PyTorch's gate order `i, f, g, o`:
///
/// ```text
/// [i, f, g, o] = x W_ih + b_ih + h W_hh + b_hh
/// c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)
/// h' = σ(o) ⊙ tanh(c')            (h' = W_hr (σ(o) ⊙ tanh(c')) with a projection)
/// ```
///
/// Shapes: `x: [batch, input]`, `h, c: [batch, hidden]` (feature-major inside
/// [`Cell::step_projected`]); with a projection ([`CellConfig::proj_size`], PyTorch's
/// `proj_size`), `h: [batch, proj]`. Four gates (`G = 4`).
#[derive(Module, Debug)]
pub struct LstmCell {
    /// Fused parameters, `G = 4`, gates `i, f, g, o`; `weight_hh` is `[4 * hidden, proj]`
    /// with a projection.
    pub weights: FusedWeights,
    /// The projection of the hidden state, `[proj, hidden]` (PyTorch's `weight_hr`), or `None`.
    pub weight_hr: Option<Param<Tensor<2>>>,
}

impl Cell for LstmCell {
    type State<const D: usize> = RnnState<D>;
    type Weights = FusedWeights;
    const GATES: usize = LstmMath::GATES;
    const NAME: &'static str = "LSTM";

    fn from_config(config: &CellConfig, device: &Device) -> Self {
        let (hidden, proj) = (config.hidden_size, config.proj_size);
        Self {
            weights: FusedWeights::for_config(config, Self::GATES, device),
            weight_hr: (proj > 0).then(|| pytorch_initializer(hidden).init([proj, hidden], device)),
        }
    }

    fn weights(&self) -> &FusedWeights {
        &self.weights
    }

    fn weights_mut(&mut self) -> &mut FusedWeights {
        &mut self.weights
    }

    /// Accepts a projection ([`CellConfig::proj_size`]).
    fn check_config(config: &CellConfig) -> Result<(), RnnError> {
        config.check_no_xlstm_options(Self::NAME)
    }

    /// `h` has the projection's rows when the cell projects its state.
    fn parameter_sizes(&self, name: &str) -> Result<(usize, usize), RnnError> {
        let hidden = gate_units(self, name)?;
        Ok((
            hidden,
            self.weight_hr.as_ref().map_or(hidden, |w| w.dims()[0]),
        ))
    }

    /// The fused weights, and the projection `[state, hidden]` when `h` is projected (a cell
    /// of a projecting network without one is an error).
    fn check_parameters(
        &self,
        name: &str,
        [input, hidden, state]: [usize; 3],
        dtype: DType,
        device: &Device,
    ) -> Result<(), RnnError> {
        match &self.weight_hr {
            Some(w_hr) => {
                let what = format!("proj_size {state} × hidden_size {hidden}");
                let w_hr_name = format!("{name}.weight_hr");
                check_parameter(&w_hr_name, w_hr, [state, hidden], &what, dtype, device)?;
            }
            None if state != hidden => {
                return Err(RnnError::new(
                    format!("{name}.weight_hr"),
                    format!(
                        "a projection of shape {:?} (h has {state} values)",
                        [state, hidden]
                    ),
                    "None",
                ));
            }
            None => {}
        }
        self.weights
            .check(name, [Self::GATES, input, hidden, state], dtype, device)
    }

    /// The fused kernel, with the projection when the cell has one.
    fn kernel(&self) -> Option<Kernel> {
        Some(Kernel::new(
            &LstmMath,
            &self.weights,
            self.weight_hr.as_ref(),
        ))
    }

    fn state_sizes(&self) -> Vec<(usize, &'static str)> {
        let h = if self.weight_hr.is_some() {
            "proj_size"
        } else {
            "hidden"
        };
        vec![(self.output_size(), h), (self.hidden_size(), "hidden")]
    }

    fn project_input(&self, x: Tensor<2>) -> Tensor<2> {
        // Both biases are additive, so both are hoisted out of the time loop.
        self.weights
            .project_input(x, self.weights.bias_hh.as_ref().map(|b| b.val()))
    }

    fn step_projected(&self, projected: Tensor<2>, state: RnnState<2>) -> RnnState<2> {
        let hidden = self.hidden_size();
        let cell = state
            .cell
            .unwrap_or_else(|| panic!("state.cell: expected an LSTM cell state, got None"));
        let gates = projected + self.weights.project_hidden(state.hidden);
        // Feature-major, each gate is a contiguous block of rows: i and f share one sigmoid.
        let rows = |t: &Tensor<2>, first: usize, count: usize| {
            t.clone().narrow(0, first * hidden, count * hidden)
        };
        let input_forget = sigmoid(rows(&gates, 0, 2));
        let (i, f) = (rows(&input_forget, 0, 1), rows(&input_forget, 1, 1));
        let (g, o) = (rows(&gates, 2, 1).tanh(), sigmoid(rows(&gates, 3, 1)));
        let cell = f * cell + i * g;
        let hidden = o * cell.clone().tanh();
        let hidden = match &self.weight_hr {
            Some(w) => w.val().matmul(hidden),
            None => hidden,
        };
        RnnState::lstm(hidden, cell)
    }
}

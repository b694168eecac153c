//! The Elman (vanilla) RNN cell, as `torch.nn.RNN`.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

pub(crate) mod kernel;

use super::{Cell, CellConfig};
use crate::fused::Kernel;
use crate::fused::gate_math::GateMath;
use crate::{FusedWeights, RnnState};
use kernel::ElmanMath;

/// Nonlinearity of an Elman cell (PyTorch's `nonlinearity`).
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Nonlinearity {
    /// `tanh` (PyTorch's default).
    Tanh,
    /// `relu`.
    Relu,
}

/// Elman cell: `h' = act(x W_ih + b_ih + h W_hh + b_hh)`.
///
/// Shapes: `x: [batch, input]`, `h: [batch, hidden]` (feature-major inside
/// [`Cell::step_projected`]). One gate (`G = 1`).
#[derive(Module, Debug)]
pub struct ElmanCell {
    /// Fused parameters, `G = 1`.
    pub weights: FusedWeights,
    /// The nonlinearity `act`.
    #[module(skip)]
    pub nonlinearity: Nonlinearity,
}

impl Cell for ElmanCell {
    type State<const D: usize> = RnnState<D>;
    type Weights = FusedWeights;
    const GATES: usize = ElmanMath::GATES;
    const NAME: &'static str = "Elman RNN";

    fn from_config(config: &CellConfig, device: &Device) -> Self {
        Self {
            weights: FusedWeights::for_config(config, Self::GATES, device),
            nonlinearity: config.nonlinearity,
        }
    }

    fn weights(&self) -> &FusedWeights {
        &self.weights
    }

    fn weights_mut(&mut self) -> &mut FusedWeights {
        &mut self.weights
    }

    fn kernel(&self) -> Option<Kernel> {
        // `'static` math for either nonlinearity: the kernel is chosen per call.
        static TANH: ElmanMath = ElmanMath(Nonlinearity::Tanh);
        static RELU: ElmanMath = ElmanMath(Nonlinearity::Relu);
        let math = match self.nonlinearity {
            Nonlinearity::Tanh => &TANH,
            Nonlinearity::Relu => &RELU,
        };
        Some(Kernel::new(math, &self.weights, None))
    }

    fn state_sizes(&self) -> Vec<(usize, &'static str)> {
        vec![(self.hidden_size(), "hidden")]
    }

    fn project_input(&self, x: Tensor<2>) -> Tensor<2> {
        // Both biases are additive here, so both are hoisted out of the time loop.
        self.weights
            .project_input(x, self.weights.bias_hh.as_ref().map(|b| b.val()))
    }

    fn step_projected(&self, projected: Tensor<2>, state: RnnState<2>) -> RnnState<2> {
        let pre = projected + self.weights.project_hidden(state.hidden);
        RnnState::new(match self.nonlinearity {
            Nonlinearity::Tanh => pre.tanh(),
            Nonlinearity::Relu => relu(pre),
        })
    }
}

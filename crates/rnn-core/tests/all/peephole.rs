//! A cell defined outside the crates: a peephole LSTM (Gers and Schmidhuber 2000) with its
//! own state type, shared by rnn-core's and rnn-tasks' tests (which include this file) to show
//! such a cell runs through every composition and every head.

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};
use rnn_core::{Cell, CellConfig, CellState, FusedWeights, LstmCell, Rnn, RnnConfig};

/// A peephole LSTM's state, its own type: `h` and `c`.
#[derive(Debug, Clone)]
pub struct PeepholeState<const D: usize> {
    /// The hidden state (the output).
    pub h: Tensor<D>,
    /// The cell state.
    pub c: Tensor<D>,
}

impl<const D: usize> CellState<D> for PeepholeState<D> {
    fn into_parts(self) -> Vec<Tensor<D>> {
        vec![self.h, self.c]
    }

    fn from_parts(parts: Vec<Tensor<D>>) -> Self {
        let [h, c]: [Tensor<D>; 2] = parts.try_into().expect("h and c");
        Self { h, c }
    }
}

/// An LSTM whose input, forget and output gates also read the cell state (`c` for i and f,
/// the new `c'` for o) through per-unit weights:
///
/// ```text
/// i = σ(x W_i + h U_i + p_i ⊙ c + b_i)    f = σ(.. + p_f ⊙ c ..)    g = tanh(..)
/// c' = f ⊙ c + i ⊙ g    o = σ(.. + p_o ⊙ c' ..)    h' = o ⊙ tanh(c')
/// ```
#[derive(Module, Debug)]
pub struct PeepholeLstmCell {
    /// The LSTM's fused weights.
    pub weights: FusedWeights,
    /// `[3, hidden]`: `p_i`, `p_f`, `p_o`.
    pub peepholes: Param<Tensor<2>>,
}

impl PeepholeLstmCell {
    /// Zeroes the peepholes and returns an [`LstmCell`] with the same weights: the two then
    /// compute the same.
    pub fn lstm_twin(&mut self) -> LstmCell {
        let device = self.peepholes.val().device();
        let hidden = self.hidden_size();
        self.peepholes = Param::from_tensor(Tensor::zeros([3, hidden], &device));
        let mut lstm: LstmCell = CellConfig::new(self.input_size(), hidden).init(&device);
        lstm.weights = self.weights.clone();
        lstm
    }
}

/// A stacked peephole network of `config` with zero peepholes and the LSTM network with the
/// same weights ([`PeepholeLstmCell::lstm_twin`]).
pub fn lstm_twins(config: &RnnConfig, device: &Device) -> (Rnn<PeepholeLstmCell>, Rnn<LstmCell>) {
    let mut peephole: Rnn<PeepholeLstmCell> = config.init(device);
    let mut lstm: Rnn<LstmCell> = config.init(device);
    for (p, l) in peephole.cells_mut().into_iter().zip(lstm.cells_mut()) {
        *l = p.lstm_twin();
    }
    (peephole, lstm)
}

impl Cell for PeepholeLstmCell {
    type State<const D: usize> = PeepholeState<D>;
    type Weights = FusedWeights;
    const GATES: usize = 4;
    const NAME: &'static str = "peephole LSTM";

    fn from_config(config: &CellConfig, device: &Device) -> Self {
        let bound = 1.0 / (config.hidden_size as f64).sqrt();
        let (input, hidden) = (config.input_size, config.hidden_size);
        Self {
            weights: FusedWeights::init(input, hidden, 4, config.bias, device),
            peepholes: Initializer::Uniform {
                min: -bound,
                max: bound,
            }
            .init([3, hidden], device),
        }
    }

    fn weights(&self) -> &FusedWeights {
        &self.weights
    }

    fn weights_mut(&mut self) -> &mut FusedWeights {
        &mut self.weights
    }

    fn state_sizes(&self) -> Vec<(usize, &'static str)> {
        vec![
            (self.hidden_size(), "hidden"),
            (self.hidden_size(), "hidden"),
        ]
    }

    fn project_input(&self, x: Tensor<2>) -> Tensor<2> {
        let bias_hh = self.weights.bias_hh.as_ref().map(|b| b.val());
        self.weights.project_input(x, bias_hh)
    }

    /// Feature-major: `projected: [4 * hidden, batch]`, `h, c: [hidden, batch]`.
    fn step_projected(&self, projected: Tensor<2>, state: PeepholeState<2>) -> PeepholeState<2> {
        let hidden = self.hidden_size();
        let gates = projected + self.weights.project_hidden(state.h);
        let gate = |k: usize| gates.clone().narrow(0, k * hidden, hidden);
        let peephole = |k: usize| self.peepholes.val().narrow(0, k, 1).transpose();
        let i = sigmoid(gate(0) + peephole(0) * state.c.clone());
        let f = sigmoid(gate(1) + peephole(1) * state.c.clone());
        let c = f * state.c + i * gate(2).tanh();
        let o = sigmoid(gate(3) + peephole(2) * c.clone());
        PeepholeState {
            h: o * c.clone().tanh(),
            c,
        }
    }
}

//! The sLSTM cell of xLSTM (Beck et al. 2024, §2.2), as the `xlstm` package's vanilla
//! `sLSTMCell` computes it.

mod kernel;
mod state;
mod weights;

pub use state::SlstmState;
pub use weights::SlstmWeights;
pub(crate) use weights::{block_diagonal, powerlaw_forget_bias};

use burn::config::Config;
use burn::module::Module;
use burn::tensor::activation::{log_sigmoid, sigmoid};
use burn::tensor::{Device, Tensor};

use super::{Cell, CellConfig};
use crate::RnnError;
use crate::fused::Kernel;

/// The sLSTM's gate math: the next state from the step's pre-activations `gates: [4 * H,
/// batch]` (input and recurrent projections and bias, gates `i, f, z, o`) and `state` (parts
/// `[H, batch]`), feature-major. The one home of the equations of [`SlstmCell`], which the
/// xLSTM block's sLSTM layer runs too.
pub(crate) fn step(
    gates: Tensor<2>,
    state: SlstmState<2>,
    forget_gate: ForgetGate,
) -> SlstmState<2> {
    let hidden = gates.dims()[0] / 4;
    let gate = |k: usize| gates.clone().narrow(0, k * hidden, hidden);
    let (i, f, z, o) = (gate(0), gate(1), gate(2), gate(3));
    let log_f = match forget_gate {
        ForgetGate::Sigmoid => log_sigmoid(f),
        ForgetGate::Exponential => f,
    };
    let (m, n, c) = (state.stabilizer, state.normalizer, state.cell);
    let log_f_m = log_f + m;
    let first = n.clone().equal_elem(0.0);
    let m_next = i
        .clone()
        .max_pair(log_f_m.clone())
        .mask_where(first, i.clone());
    let i = (i - m_next.clone()).exp().clamp_max(1.0);
    let f = (log_f_m - m_next.clone()).exp().clamp_max(1.0);
    let c_next = f.clone() * c + i.clone() * z.tanh();
    let n_next = f * n + i;
    let h_next = sigmoid(o) * c_next.clone() / n_next.clone();
    SlstmState {
        hidden: h_next,
        cell: c_next,
        normalizer: n_next,
        stabilizer: m_next,
    }
}

/// How the sLSTM's forget gate is activated (`log f` from its pre-activation `f̃`).
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum ForgetGate {
    /// `f = σ(f̃)`, `log f = log σ(f̃)`: the `xlstm` package's (its only option).
    Sigmoid,
    /// `f = exp(f̃)`, `log f = f̃`: the paper's other option.
    Exponential,
}

/// The sLSTM cell: an LSTM with an exponential input gate, a normaliser state `n` and a
/// stabiliser state `m` that keeps the exponentials finite, and a recurrence that is
/// block-diagonal over heads (no memory mixing between heads). Gate order `i, f, z, o` (the
/// package's):
///
/// ```text
/// [ĩ, f̃, z̃, õ] = W x + b + R h                 (R block-diagonal: head k reads h's k-th block)
/// m' = max(log f + m, ĩ)      (m' = ĩ where n = 0: a zero state's first step)
/// i = min(exp(ĩ - m'), 1),  f = min(exp(log f + m - m'), 1)
/// c' = f ⊙ c + i ⊙ tanh(z̃),  n' = f ⊙ n + i,  h' = σ(õ) ⊙ c' / n'
/// ```
///
/// with `log f = log σ(f̃)` ([`ForgetGate::Sigmoid`], the package's) or `f̃`
/// ([`ForgetGate::Exponential`]). The first-step rule applies per element (as the package's
/// CUDA kernel does), so an example's result never depends on the others in its batch; the
/// package's vanilla code tests the whole batch at once, which differs only when part of a
/// batch starts from `n = 0` and the rest does not — and then only in `m`, never in the
/// outputs.
///
/// Shapes: `x: [batch, input]`; the state [`SlstmState`], four parts `[batch, hidden]`;
/// parameters [`SlstmWeights`]. Configure with [`CellConfig::num_heads`] (which must divide
/// `hidden_size`) and [`CellConfig::forget_gate`].
#[derive(Module, Debug)]
pub struct SlstmCell {
    /// The parameters.
    pub weights: SlstmWeights,
    /// The forget gate's activation.
    #[module(skip)]
    pub forget_gate: ForgetGate,
}

impl Cell for SlstmCell {
    type State<const D: usize> = SlstmState<D>;
    type Weights = SlstmWeights;
    const GATES: usize = 4;
    const NAME: &'static str = "sLSTM";

    fn from_config(config: &CellConfig, device: &Device) -> Self {
        Self {
            weights: SlstmWeights::init(config, device),
            forget_gate: config.forget_gate,
        }
    }

    fn weights(&self) -> &SlstmWeights {
        &self.weights
    }

    fn weights_mut(&mut self) -> &mut SlstmWeights {
        &mut self.weights
    }

    /// Rejects a projection, and heads that do not divide the hidden size.
    fn check_config(config: &CellConfig) -> Result<(), RnnError> {
        config.check_no_projection(Self::NAME)?;
        config.check_heads()
    }

    /// The fused kernel, with the recurrent blocks as one dense block-diagonal matrix (made
    /// per call, a tensor operation that autodiff goes back through to the blocks).
    fn kernel(&self) -> Option<Kernel> {
        Some(kernel::kernel(&self.weights, self.forget_gate))
    }

    fn project_input(&self, x: Tensor<2>) -> Tensor<2> {
        self.weights.project_input(x)
    }

    fn step_projected(&self, projected: Tensor<2>, state: SlstmState<2>) -> SlstmState<2> {
        let recurrent = self.weights.project_hidden(state.hidden.clone());
        step(projected + recurrent, state, self.forget_gate)
    }

    fn state_sizes(&self) -> Vec<(usize, &'static str)> {
        vec![(self.hidden_size(), "hidden"); 4]
    }
}

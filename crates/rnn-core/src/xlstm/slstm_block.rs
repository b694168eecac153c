//! The xLSTM's sLSTM block (post up-projection): causal convolution, the sLSTM over
//! block-diagonal gate projections, a head norm, then a gated feed-forward, each around a
//! residual.

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::activation::silu;
use burn::tensor::{Device, Tensor};

use super::XlstmStackConfig;
use super::parts::{CausalConv, HeadNorm, Headwise, OffsetLayerNorm, gelu, linear, normal};
use crate::cell::slstm::{block_diagonal, powerlaw_forget_bias, step};
use crate::recurrent::unstack_time;
use crate::{CellState, ForgetGate, SlstmState};

/// The sLSTM block of an [`XlstmStack`](super::XlstmStack), as the `xlstm` package's
/// `sLSTMBlock` computes it, with embedding `E` in `heads` heads of `dh = E / heads`:
///
/// ```text
/// x̂ = LN(x),  x_c = SiLU(conv(x̂))
/// [ĩ, f̃, z̃, õ] = [I x_c, F x_c, Z x̂, O x̂]      (block-diagonal per head)
/// x' = x + HeadNorm(sLSTM(ĩ, f̃, z̃, õ))         (the recurrence of [`SlstmCell`](crate::SlstmCell))
/// y = x' + W_down (GELU(g) ⊙ u),  [g, u] = W_up LN(x')
/// ```
///
/// Shapes: `x, y: [batch, seq, E]`. The package names the input gate's projection `fgate`
/// and the forget gate's `igate`; here they are `input_gate` and `forget_gate`, and the
/// checkpoint loader swaps the names.
#[derive(Module, Debug)]
pub struct SlstmBlock {
    /// The block's input norm (`xlstm_norm`).
    pub norm: OffsetLayerNorm,
    /// The causal convolution feeding the input and forget gates.
    pub conv: CausalConv,
    /// The input gate's projection (the package's `fgate`).
    pub input_gate: Headwise,
    /// The forget gate's projection (the package's `igate`).
    pub forget_gate: Headwise,
    /// The cell input's projection.
    pub z_gate: Headwise,
    /// The output gate's projection.
    pub o_gate: Headwise,
    /// The recurrent weights, block-diagonal `[heads, 4 * dh, dh]` (as
    /// [`SlstmWeights::weight_hh`](crate::cell::SlstmWeights::weight_hh)).
    pub recurrent: Param<Tensor<3>>,
    /// `[4 * E]`, gate-major.
    pub bias: Param<Tensor<1>>,
    /// The norm of each head's output (`group_norm`).
    pub group_norm: HeadNorm,
    /// The feed-forward's norm (`ffn_norm`).
    pub ffn_norm: OffsetLayerNorm,
    /// `[2 * U, E]`: the gate `g`, then `u`.
    pub ffn_up: Param<Tensor<2>>,
    /// `[E, U]`.
    pub ffn_down: Param<Tensor<2>>,
}

impl SlstmBlock {
    /// The package's initialisation for block `index` of the stack (the forget gates' bias
    /// spreads over each head's units with an exponent that grows with the block's depth).
    pub(crate) fn new(config: &XlstmStackConfig, index: usize, device: &Device) -> Self {
        let (e, heads) = (config.embedding_size, config.slstm_heads);
        let dh = e / heads;
        let small = (2.0 / (5.0 * e as f64)).sqrt();
        let depth = match config.num_blocks {
            1 => 0.0,
            n => index as f64 / (n - 1) as f64,
        };
        let u = config.ffn_inner_size();
        let gate = || Headwise::new(e, heads, small, device);
        Self {
            norm: OffsetLayerNorm::new(e, device),
            conv: CausalConv::new(e, config.conv_kernel, device),
            input_gate: gate(),
            forget_gate: gate(),
            z_gate: gate(),
            o_gate: gate(),
            recurrent: Initializer::Zeros.init([heads, 4 * dh, dh], device),
            bias: Param::from_tensor(powerlaw_forget_bias(e, heads, depth, device)),
            group_norm: HeadNorm::new(e, device),
            ffn_norm: OffsetLayerNorm::new(e, device),
            ffn_up: normal(2 * u, e, small, device),
            ffn_down: normal(e, u, config.wang_std(), device),
        }
    }

    /// `x: [batch, seq, E]` → `[batch, seq, E]`, from `state` (the start of a sequence when
    /// `None`); returns the state after `x`, to carry on from.
    pub fn forward(
        &self,
        x: Tensor<3>,
        state: Option<SlstmBlockState>,
    ) -> (Tensor<3>, SlstmBlockState) {
        let [batch, seq, e] = x.dims();
        let heads = self.recurrent.dims()[0];
        let (history, cell) = match state {
            Some(s) => (Some(s.conv), s.cell.map(Tensor::transpose)),
            None => {
                let zeros = Tensor::zeros([e, batch], (&x.device(), x.dtype()));
                (None, SlstmState::from_parts(vec![zeros; 4]))
            }
        };
        let normed = self.norm.forward(x.clone());
        let (conv, history) = self.conv.forward(normed.clone(), history);
        let x_c = silu(conv);
        let gates = Tensor::cat(
            vec![
                self.input_gate.forward(x_c.clone()),
                self.forget_gate.forward(x_c),
                self.z_gate.forward(normed.clone()),
                self.o_gate.forward(normed),
            ],
            2,
        ) + self.bias.val().unsqueeze();
        // Feature-major steps `[4E, batch]`, as the cell's.
        let gates = gates.permute([1, 2, 0]);
        let mut cell: SlstmState<2> = cell;
        let mut outputs = Vec::with_capacity(seq);
        // Not `narrow` per step: its backward pass fills a whole-sequence gradient each time.
        for projected in unstack_time(gates) {
            let recurrent = block_diagonal(self.recurrent.val(), cell.hidden.clone());
            cell = step(projected + recurrent, cell, ForgetGate::Sigmoid);
            outputs.push(cell.hidden.clone());
        }
        let y = Tensor::stack::<3>(outputs, 0).permute([2, 0, 1]);
        let x = x + self
            .group_norm
            .forward(y.reshape([batch, seq, heads, e / heads]));
        let u = self.ffn_down.dims()[1];
        let up = linear(self.ffn_norm.forward(x.clone()), &self.ffn_up, None);
        let (g, up) = (up.clone().narrow(2, 0, u), up.narrow(2, u, u));
        let y = x + linear(gelu(g) * up, &self.ffn_down, None);
        let state = SlstmBlockState {
            conv: history,
            cell: cell.map(Tensor::transpose),
        };
        (y, state)
    }
}

/// What an [`SlstmBlock`] carries from one part of a sequence to the next.
#[derive(Debug, Clone)]
pub struct SlstmBlockState {
    /// The convolution's last inputs `[batch, K - 1, E]`.
    pub conv: Tensor<3>,
    /// The sLSTM's state, parts `[batch, E]`.
    pub cell: SlstmState<2>,
}

//! The xLSTM's mLSTM block (pre up-projection): up-projection, causal convolution, q/k/v,
//! the mLSTM memory, a learnable skip, output gating and down-projection, around a residual.

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::activation::{log_sigmoid, silu};
use burn::tensor::{Device, Tensor};

use super::XlstmStackConfig;
use super::parts::{CausalConv, HeadNorm, Headwise, OffsetLayerNorm, linear, normal};
use crate::cell::mlstm::gate_biases;
use crate::cell::{MlstmMemory, mlstm_chunkwise};

/// The mLSTM block of an [`XlstmStack`](super::XlstmStack), as the `xlstm` package's
/// `mLSTMBlock` computes it, with embedding `E` and inner size `D`
/// ([`XlstmStackConfig::mlstm_inner_size`]) in `heads` heads of `D / heads`:
///
/// ```text
/// [x_m, z] = W_up LN(x)                        x_c = SiLU(conv(x_m))
/// q = Q x_c, k = K x_c, v = V x_m             (block-diagonal projections)
/// [ĩ, f̃] = W_g [q, k, v] + b_g                (one gate of each per head)
/// h = HeadNorm(mLSTM(q, k, v, ĩ, log σ(f̃))) + skip ⊙ x_c
/// y = x + W_down (h ⊙ SiLU(z))
/// ```
///
/// Shapes: `x, y: [batch, seq, E]`. Parameter names are the package's (`proj_up`, ...), so a
/// checkpoint maps onto them one to one ([`XlstmStack::load_state_dict`](super::XlstmStack::load_state_dict)).
#[derive(Module, Debug)]
pub struct MlstmBlock {
    /// The block's input norm (`xlstm_norm`).
    pub norm: OffsetLayerNorm,
    /// `[2 * D, E]`: `x_m` then `z`.
    pub proj_up: Param<Tensor<2>>,
    /// The causal convolution of `x_m`.
    pub conv: CausalConv,
    /// Queries, keys and values.
    pub q_proj: Headwise,
    /// Keys.
    pub k_proj: Headwise,
    /// Values (from `x_m`, not convolved).
    pub v_proj: Headwise,
    /// `[heads, 3 * D]` over `[q, k, v]`.
    pub igate_weight: Param<Tensor<2>>,
    /// `[heads]`.
    pub igate_bias: Param<Tensor<1>>,
    /// `[heads, 3 * D]` over `[q, k, v]`.
    pub fgate_weight: Param<Tensor<2>>,
    /// `[heads]`.
    pub fgate_bias: Param<Tensor<1>>,
    /// The norm of each head's output (`outnorm`).
    pub outnorm: HeadNorm,
    /// `[D]`: the scale of the convolved input added to the output.
    pub learnable_skip: Param<Tensor<1>>,
    /// `[E, D]`.
    pub proj_down: Param<Tensor<2>>,
    /// Heads of the memory.
    #[module(skip)]
    pub heads: usize,
    /// Steps the memory runs at once.
    #[module(skip)]
    pub chunk_size: usize,
}

impl MlstmBlock {
    /// The package's initialisation ("small init" `N(0, sqrt(2 / 5E))` for the projections,
    /// "Wang init" `N(0, 2 / (blocks √E))` for the down-projection, gates as
    /// [`MlstmCell`](crate::MlstmCell)'s, norms at the identity, the skip at 1).
    pub(crate) fn new(config: &XlstmStackConfig, device: &Device) -> Self {
        let e = config.embedding_size;
        let d = config.mlstm_inner_size();
        let heads = config.mlstm_heads;
        let small = (2.0 / (5.0 * e as f64)).sqrt();
        let blocks = d / config.qkv_block_size;
        let (input_bias, forget_bias) = gate_biases(heads, device);
        Self {
            norm: OffsetLayerNorm::new(e, device),
            proj_up: normal(2 * d, e, small, device),
            conv: CausalConv::new(d, config.conv_kernel, device),
            q_proj: Headwise::new(d, blocks, small, device),
            k_proj: Headwise::new(d, blocks, small, device),
            v_proj: Headwise::new(d, blocks, small, device),
            igate_weight: Initializer::Zeros.init([heads, 3 * d], device),
            igate_bias: Param::from_tensor(input_bias),
            fgate_weight: Initializer::Zeros.init([heads, 3 * d], device),
            fgate_bias: Param::from_tensor(forget_bias),
            outnorm: HeadNorm::new(d, device),
            learnable_skip: Initializer::Ones.init([d], device),
            proj_down: normal(e, d, config.wang_std(), device),
            heads,
            chunk_size: config.chunk_size,
        }
    }

    /// `x: [batch, seq, E]` → `[batch, seq, E]`, from `state` (the start of a sequence when
    /// `None`); returns the state after `x`, to carry on from.
    pub fn forward(
        &self,
        x: Tensor<3>,
        state: Option<MlstmBlockState>,
    ) -> (Tensor<3>, MlstmBlockState) {
        let [batch, seq, _] = x.dims();
        let d = self.learnable_skip.dims()[0];
        let (heads, dh) = (self.heads, d / self.heads);
        let (history, memory) = match state {
            Some(s) => (Some(s.conv), s.memory),
            None => (
                None,
                MlstmMemory::zeros(batch, heads, dh, (&x.device(), x.dtype())),
            ),
        };
        let up = linear(self.norm.forward(x.clone()), &self.proj_up, None);
        let (x_m, z) = (up.clone().narrow(2, 0, d), up.narrow(2, d, d));
        let (conv, history) = self.conv.forward(x_m.clone(), history);
        let x_c = silu(conv);
        let (q, k, v) = (
            self.q_proj.forward(x_c.clone()),
            self.k_proj.forward(x_c.clone()),
            self.v_proj.forward(x_m),
        );
        let qkv = Tensor::cat(vec![q.clone(), k.clone(), v.clone()], 2);
        let per_head = |t: Tensor<3>| t.swap_dims(1, 2).unsqueeze_dim::<4>(3);
        let i = per_head(linear(
            qkv.clone(),
            &self.igate_weight,
            Some(&self.igate_bias),
        ));
        let f = per_head(linear(qkv, &self.fgate_weight, Some(&self.fgate_bias)));
        let split = |t: Tensor<3>| t.reshape([batch, seq, heads, dh]).swap_dims(1, 2);
        let (h, memory) = mlstm_chunkwise(
            split(q),
            split(k),
            split(v),
            i,
            log_sigmoid(f),
            memory,
            self.chunk_size,
        );
        let h =
            self.outnorm.forward(h.swap_dims(1, 2)) + x_c * self.learnable_skip.val().unsqueeze();
        let y = x + linear(h * silu(z), &self.proj_down, None);
        (
            y,
            MlstmBlockState {
                conv: history,
                memory,
            },
        )
    }
}

/// What an [`MlstmBlock`] carries from one part of a sequence to the next.
#[derive(Debug, Clone)]
pub struct MlstmBlockState {
    /// The convolution's last inputs `[batch, K - 1, D]`.
    pub conv: Tensor<3>,
    /// The memory.
    pub memory: MlstmMemory,
}

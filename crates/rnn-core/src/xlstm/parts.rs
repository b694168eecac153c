//! The building parts of the xLSTM blocks, as the `xlstm` package computes them: its layer
//! norms (scaled by `1 + weight`), the causal depthwise convolution, the block-diagonal
//! ("headwise") projections and PyTorch-layout linear maps.

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::{Device, Tensor};

/// The `xlstm` package's norms divide by `sqrt(var + EPS)`.
const EPS: f64 = 1e-5;

/// A layer norm over the last dimension without bias, scaled by `1 + weight` (the `xlstm`
/// package's `LayerNorm`: `weight` starts at 0).
#[derive(Module, Debug)]
pub struct OffsetLayerNorm {
    /// `[features]`: the scale minus one.
    pub weight: Param<Tensor<1>>,
}

impl OffsetLayerNorm {
    /// The identity scale (`weight = 0`) over `features` values.
    pub fn new(features: usize, device: &Device) -> Self {
        Self {
            weight: Initializer::Zeros.init([features], device),
        }
    }

    /// `x: [batch, seq, features]` normalised over `features`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        normalize(x) * (self.weight.val() + 1.0).unsqueeze()
    }
}

/// A layer norm of each head's part of the last dimension, without bias, scaled by `1 +
/// weight` (the `xlstm` package's `MultiHeadLayerNorm`, a group norm with a group per head).
#[derive(Module, Debug)]
pub struct HeadNorm {
    /// `[heads * head_size]`: the scale minus one.
    pub weight: Param<Tensor<1>>,
}

impl HeadNorm {
    /// The identity scale over `features` values.
    pub fn new(features: usize, device: &Device) -> Self {
        Self {
            weight: Initializer::Zeros.init([features], device),
        }
    }

    /// `x: [batch, seq, heads, head_size]`, each head normalised over its `head_size` values;
    /// returns `[batch, seq, heads * head_size]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<3> {
        let [batch, seq, heads, size] = x.dims();
        normalize(x).reshape([batch, seq, heads * size]) * (self.weight.val() + 1.0).unsqueeze()
    }
}

/// `(x - mean) / sqrt(var + EPS)` over the last dimension, the variance biased.
fn normalize<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let (var, mean) = x.clone().var_mean_bias(D - 1);
    (x - mean) / (var + EPS).sqrt()
}

/// A causal depthwise convolution over time: each channel `c` at step `t` sees steps
/// `t - (K - 1) ..= t` (zeros before the first), `y[t, c] = bias[c] + Σ_k weight[c, 0, k] ·
/// x[t - (K - 1) + k, c]` (PyTorch's `Conv1d(C, C, K, groups = C)` padded on the left).
#[derive(Module, Debug)]
pub struct CausalConv {
    /// `[channels, 1, K]` (PyTorch's layout).
    pub weight: Param<Tensor<3>>,
    /// `[channels]`.
    pub bias: Param<Tensor<1>>,
}

impl CausalConv {
    /// PyTorch's `Conv1d` initialisation: uniform in `±1/sqrt(K)`.
    pub fn new(channels: usize, kernel: usize, device: &Device) -> Self {
        let bound = 1.0 / (kernel as f64).sqrt();
        let init = Initializer::Uniform {
            min: -bound,
            max: bound,
        };
        Self {
            weight: init.init([channels, 1, kernel], device),
            bias: init.init([channels], device),
        }
    }

    /// `x: [batch, seq, channels]` → `[batch, seq, channels]`, after `history: [batch, K - 1,
    /// channels]`, the inputs before `x` (zeros when `None`: the sequence starts with `x`).
    /// Returns the outputs and the history after `x` (its last `K - 1` inputs), to carry on.
    pub fn forward(&self, x: Tensor<3>, history: Option<Tensor<3>>) -> (Tensor<3>, Tensor<3>) {
        let [batch, seq, channels] = x.dims();
        let kernel = self.weight.dims()[2];
        let history = history.unwrap_or_else(|| {
            Tensor::zeros([batch, kernel - 1, channels], (&x.device(), x.dtype()))
        });
        let padded = Tensor::cat(vec![history, x], 1);
        let taps = self.weight.val().reshape([channels, kernel]).transpose();
        let y = (0..kernel).fold(self.bias.val().unsqueeze::<3>(), |y, k| {
            let tap = taps.clone().narrow(0, k, 1).unsqueeze::<3>();
            y + padded.clone().narrow(1, k, seq) * tap
        });
        (y, padded.narrow(1, seq, kernel - 1))
    }
}

/// A block-diagonal linear map without bias: the input split into `blocks` parts, each mapped
/// by its own matrix (the `xlstm` package's `LinearHeadwiseExpand`): `y[p * O + o] =
/// Σ_d weight[p, o, d] · x[p * I + d]`.
#[derive(Module, Debug)]
pub struct Headwise {
    /// `[blocks, O, I]`.
    pub weight: Param<Tensor<3>>,
}

impl Headwise {
    /// `blocks` square blocks over `features` values, normal with deviation `std`.
    pub fn new(features: usize, blocks: usize, std: f64, device: &Device) -> Self {
        let size = features / blocks;
        Self {
            weight: Initializer::Normal { mean: 0.0, std }.init([blocks, size, size], device),
        }
    }

    /// `x: [batch, seq, blocks * I]` → `[batch, seq, blocks * O]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [batch, seq, _] = x.dims();
        let [blocks, out, input] = self.weight.dims();
        x.reshape([batch * seq, blocks, input])
            .swap_dims(0, 1)
            .matmul(self.weight.val().swap_dims(1, 2))
            .swap_dims(0, 1)
            .reshape([batch, seq, blocks * out])
    }
}

/// `x Wᵀ (+ b)` with `weight: [out, in]` (PyTorch's `Linear`): `x: [batch, seq, in]` →
/// `[batch, seq, out]`.
pub(crate) fn linear(
    x: Tensor<3>,
    weight: &Param<Tensor<2>>,
    bias: Option<&Param<Tensor<1>>>,
) -> Tensor<3> {
    let [batch, seq, input] = x.dims();
    let out = weight.dims()[0];
    let y = x
        .reshape([batch * seq, input])
        .matmul(weight.val().transpose());
    let y = match bias {
        Some(b) => y + b.val().unsqueeze(),
        None => y,
    };
    y.reshape([batch, seq, out])
}

/// A `[rows, cols]` weight, normal with deviation `std` (the package's "small init" and
/// "wang init").
pub(crate) fn normal(rows: usize, cols: usize, std: f64, device: &Device) -> Param<Tensor<2>> {
    Initializer::Normal { mean: 0.0, std }.init([rows, cols], device)
}

/// GELU, exact (`x Φ(x)`, PyTorch's default) in value and in gradient: composed of `erf`
/// rather than Burn's `gelu`, whose backward (Burn 0.22.1) is the derivative of the tanh
/// approximation, off by up to about 1e-3 of the exact one.
pub(crate) fn gelu(x: Tensor<3>) -> Tensor<3> {
    (x.clone() * (x.clone() / std::f64::consts::SQRT_2).erf() + x) * 0.5
}

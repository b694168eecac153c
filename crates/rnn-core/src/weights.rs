//! Fused gate parameters shared by every cell: one weight per input side for all gates.

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::{Device, Tensor};

/// The parameters of a recurrent cell, all gates fused along the last dimension.
///
/// With `G` gates (Elman 1, GRU 3, LSTM 4) and hidden size `H`, every gate-dependent
/// dimension is `G * H`, gates in PyTorch's order (LSTM `i, f, g, o`; GRU `r, z, n`).
/// `weight_ih` is stored transposed relative to PyTorch, so projecting all timesteps is one
/// `x @ weight_ih`; `weight_hh` keeps PyTorch's layout, so a step is `(weight_hh @ hᵀ)ᵀ`: with
/// the large matrix on the left, CPU matmuls run 25–35% faster than `h @ weight_hhᵀ` at
/// typical sizes (see BENCHMARKS.md).
///
/// | ours | shape | PyTorch |
/// |---|---|---|
/// | `weight_ih` | `[input, G * H]` | `weight_ih_l{k}`ᵀ (`[G * H, input]`) |
/// | `weight_hh` | `[G * H, H]` | `weight_hh_l{k}`, as is |
/// | `bias_ih` | `[G * H]` | `bias_ih_l{k}` |
/// | `bias_hh` | `[G * H]` | `bias_hh_l{k}` |
#[derive(Module, Debug)]
pub struct FusedWeights {
    /// Input-to-hidden weights `[input, G * H]`.
    pub weight_ih: Param<Tensor<2>>,
    /// Hidden-to-hidden weights `[G * H, H]` (PyTorch's layout).
    pub weight_hh: Param<Tensor<2>>,
    /// Input-side bias `[G * H]`, absent when the cell has no bias.
    pub bias_ih: Option<Param<Tensor<1>>>,
    /// Hidden-side bias `[G * H]`, absent when the cell has no bias.
    pub bias_hh: Option<Param<Tensor<1>>>,
}

impl FusedWeights {
    /// PyTorch's default initialisation: every parameter uniform in `±1/sqrt(hidden_size)`.
    pub fn init(
        input_size: usize,
        hidden_size: usize,
        gates: usize,
        bias: bool,
        device: &Device,
    ) -> Self {
        let bound = 1.0 / (hidden_size as f64).sqrt();
        let init = Initializer::Uniform {
            min: -bound,
            max: bound,
        };
        let width = gates * hidden_size;
        Self {
            weight_ih: init.init([input_size, width], device),
            weight_hh: init.init([width, hidden_size], device),
            bias_ih: bias.then(|| init.init([width], device)),
            bias_hh: bias.then(|| init.init([width], device)),
        }
    }

    /// Size of the input features.
    pub fn input_size(&self) -> usize {
        self.weight_ih.dims()[0]
    }

    /// Size of the hidden state.
    pub fn hidden_size(&self) -> usize {
        self.weight_hh.dims()[1]
    }

    /// `x @ weight_ih + bias_ih` (and `+ bias_hh` when `with_hidden_bias`, for cells whose
    /// hidden bias is purely additive): `[n, input]` → `[n, G * H]`.
    pub fn project_input(&self, x: Tensor<2>, with_hidden_bias: bool) -> Tensor<2> {
        let hidden_bias = self.bias_hh.as_ref().filter(|_| with_hidden_bias);
        let bias = match (&self.bias_ih, hidden_bias) {
            (Some(a), Some(b)) => Some(a.val() + b.val()),
            (Some(a), None) => Some(a.val()),
            (None, Some(b)) => Some(b.val()),
            (None, None) => None,
        };
        match bias {
            // `[x, 1] @ [weight_ih; bias]`: the matmul adds the bias. On ndarray a broadcast add
            // over the whole `[n, G * H]` projection costs more than the matmul itself.
            Some(bias) => {
                let [n, _] = x.dims();
                let ones = Tensor::ones([n, 1], &x.device());
                let weight = Tensor::cat(vec![self.weight_ih.val(), bias.unsqueeze_dim(0)], 0);
                Tensor::cat(vec![x, ones], 1).matmul(weight)
            }
            None => x.matmul(self.weight_ih.val()),
        }
    }

    /// `(weight_hh @ hᵀ)ᵀ` (plus `bias_hh` when `with_bias`): `[n, H]` → `[n, G * H]`.
    pub fn project_hidden(&self, h: Tensor<2>, with_bias: bool) -> Tensor<2> {
        let projected = self.weight_hh.val().matmul(h.transpose()).transpose();
        match (&self.bias_hh, with_bias) {
            (Some(bias), true) => projected + bias.val().unsqueeze_dim(0),
            _ => projected,
        }
    }
}

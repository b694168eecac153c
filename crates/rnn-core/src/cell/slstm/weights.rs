//! The sLSTM's parameters.

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::{DType, Device, Tensor, TensorData};

use crate::weights::{check_parameter, check_projection, project, units_from_rows};
use crate::{CellConfig, CellWeights, RnnError};

/// The parameters of an [`SlstmCell`](super::SlstmCell) with `H` units in `heads` heads of
/// `dh = H / heads` units, gates `i, f, z, o`.
///
/// `weight_ih` and `bias` are gate-major (gate `g`'s unit `u` at row `g * H + u`, as the
/// `xlstm` package orders the cell's input); `weight_hh` holds each head's recurrent block,
/// row `g * dh + j` of head `k` reading `h[k * dh .. (k + 1) * dh]` (the package's vanilla
/// `_recurrent_kernel_` as it is).
#[derive(Module, Debug)]
pub struct SlstmWeights {
    /// Input weights `[4 * H, input]`.
    pub weight_ih: Param<Tensor<2>>,
    /// Recurrent weights, block-diagonal: `[heads, 4 * dh, dh]`.
    pub weight_hh: Param<Tensor<3>>,
    /// Bias `[4 * H]`, absent when the cell has no bias.
    pub bias: Option<Param<Tensor<1>>>,
}

impl SlstmWeights {
    /// The `xlstm` package's initialisation: input weights normal with standard deviation
    /// `sqrt(2 / (5 * input))` ("small init"), recurrent weights zero, and biases zero but the
    /// forget gate's, which spread each head's units from `+5` to `-7` (its
    /// "powerlaw_blockdependent", `5 - 12 (j / (dh - 1))^0.3` for unit `j` in a first block),
    /// so that the units start out with memories from long to short.
    pub fn init(config: &CellConfig, device: &Device) -> Self {
        let (input, hidden, heads) = (config.input_size, config.hidden_size, config.num_heads);
        let dh = hidden / heads;
        let std = (2.0 / (5.0 * input as f64)).sqrt();
        let normal = Initializer::Normal { mean: 0.0, std };
        let bias = config
            .bias
            .then(|| Param::from_tensor(powerlaw_forget_bias(hidden, heads, 0.0, device)));
        Self {
            weight_ih: normal.init([4 * hidden, input], device),
            weight_hh: Initializer::Zeros.init([heads, 4 * dh, dh], device),
            bias,
        }
    }

    /// The number of heads.
    pub fn num_heads(&self) -> usize {
        self.weight_hh.dims()[0]
    }

    /// `weight_ih @ xᵀ + bias`, feature-major: `x: [n, input]` → `[4 * H, n]`.
    pub fn project_input(&self, x: Tensor<2>) -> Tensor<2> {
        project(self.weight_ih.val(), self.bias.as_ref().map(Param::val), x)
    }

    /// The recurrent pre-activations, feature-major and gate-major: `h: [H, batch]` →
    /// `[4 * H, batch]`, each head's block applied to its part of `h` (one batched matmul).
    pub fn project_hidden(&self, h: Tensor<2>) -> Tensor<2> {
        block_diagonal(self.weight_hh.val(), h)
    }
}

/// The `xlstm` package's sLSTM bias ("powerlaw_blockdependent"): zero but the forget gates',
/// unit `j` of each head `5 - 12 (j / (dh - 1))^(0.3 + 1.3 depth)`, from `+5` (long memory)
/// down to `-7` (short); `depth` is the block's place in an xLSTM stack, 0 to 1. Gate-major
/// `[4 * hidden]`.
pub(crate) fn powerlaw_forget_bias(
    hidden: usize,
    heads: usize,
    depth: f64,
    device: &Device,
) -> Tensor<1> {
    let dh = hidden / heads;
    let mut values = vec![0.0f32; 4 * hidden];
    for (u, value) in values[hidden..2 * hidden].iter_mut().enumerate() {
        let j = u % dh;
        let t = if dh > 1 {
            j as f64 / (dh - 1) as f64
        } else {
            0.0
        };
        *value = (5.0 - 12.0 * t.powf(0.3 + 1.3 * depth)) as f32;
    }
    Tensor::from_data(TensorData::new(values, [4 * hidden]), device)
}

/// Each head's recurrent block `weight_hh: [heads, 4 * dh, dh]` applied to its part of `h:
/// [H, batch]`, in one batched matmul; the result gate-major, `[4 * H, batch]`.
pub(crate) fn block_diagonal(weight_hh: Tensor<3>, h: Tensor<2>) -> Tensor<2> {
    let [heads, rows, dh] = weight_hh.dims();
    let batch = h.dims()[1];
    weight_hh
        .matmul(h.reshape([heads, dh, batch]))
        .reshape([heads, rows / dh, dh, batch])
        .swap_dims(0, 1)
        .reshape([heads * rows, batch])
}

impl CellWeights for SlstmWeights {
    fn input_size(&self) -> usize {
        self.weight_ih.dims()[1]
    }

    fn gates_width(&self) -> usize {
        self.weight_ih.dims()[0]
    }

    fn state_size(&self, gates: usize) -> usize {
        self.gates_width() / gates
    }

    /// From `weight_ih`'s `G * H` rows.
    fn units(&self, gates: usize, name: &str, cell: &str) -> Result<usize, RnnError> {
        units_from_rows(
            &self.weight_ih,
            gates,
            &format!("{name}.weights.weight_ih"),
            cell,
        )
    }

    /// Also that `weight_hh`'s heads divide the hidden size.
    fn check(
        &self,
        name: &str,
        [gates, input, hidden, _]: [usize; 4],
        dtype: DType,
        device: &Device,
    ) -> Result<(), RnnError> {
        let bias = self.bias.as_ref().map(|b| ("bias", b));
        let sizes = [gates, input, hidden];
        check_projection(
            name,
            ("weight_ih", &self.weight_ih),
            bias,
            sizes,
            dtype,
            device,
        )?;
        let heads = self.num_heads();
        let weight_hh = format!("{name}.weights.weight_hh");
        if heads == 0 || !hidden.is_multiple_of(heads) {
            return Err(RnnError::new(
                weight_hh,
                format!("a number of heads (first dimension) dividing hidden_size {hidden}"),
                format!("shape {:?}", self.weight_hh.dims()),
            ));
        }
        let dh = hidden / heads;
        let what = format!("{heads} heads × {gates} gates × {dh} units, {dh} units");
        check_parameter(
            &weight_hh,
            &self.weight_hh,
            [heads, gates * dh, dh],
            &what,
            dtype,
            device,
        )
    }
}

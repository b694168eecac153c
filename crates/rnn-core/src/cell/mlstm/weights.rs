//! The mLSTM cell's parameters.

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::{DType, Device, Distribution, Tensor};

use crate::weights::{check_parameter, check_projection, project, units_from_rows};
use crate::{CellConfig, CellWeights, RnnError};

/// The parameters of an [`MlstmCell`](super::MlstmCell) with `H` units in `heads` heads:
/// the queries, keys, values and output gate, one row per unit (`[q, k, v, o]`, unit `j` of
/// head `k` at `k * dh + j`), and the scalar input and forget gates, one row per head
/// (`[i, f]`).
#[derive(Module, Debug)]
pub struct MlstmWeights {
    /// `[4 * H, input]`: rows `q, k, v, o`.
    pub weight: Param<Tensor<2>>,
    /// `[4 * H]`, absent when the cell has no bias.
    pub bias: Option<Param<Tensor<1>>>,
    /// `[2 * heads, input]`: rows `i, f`.
    pub gate_weight: Param<Tensor<2>>,
    /// `[2 * heads]`: the gates always have a bias (it sets the forget gates' memory).
    pub gate_bias: Param<Tensor<1>>,
}

impl MlstmWeights {
    /// The `xlstm` package's initialisation: `q, k, v, o` weights normal with standard
    /// deviation `sqrt(2 / (5 * input))` ("small init") and zero bias; gate weights zero, the
    /// input gates' bias normal with deviation 0.1, the forget gates' spread over the heads
    /// from 3 to 6 (long memories from the start).
    pub fn init(config: &CellConfig, device: &Device) -> Self {
        let (input, hidden, heads) = (config.input_size, config.hidden_size, config.num_heads);
        let std = (2.0 / (5.0 * input as f64)).sqrt();
        let (input_bias, forget_bias) = gate_biases(heads, device);
        Self {
            weight: Initializer::Normal { mean: 0.0, std }.init([4 * hidden, input], device),
            bias: config
                .bias
                .then(|| Initializer::Zeros.init([4 * hidden], device)),
            gate_weight: Initializer::Zeros.init([2 * heads, input], device),
            gate_bias: Param::from_tensor(Tensor::cat(vec![input_bias, forget_bias], 0)),
        }
    }

    /// The number of heads.
    pub fn num_heads(&self) -> usize {
        self.gate_weight.dims()[0] / 2
    }

    /// All of a step's projections, feature-major: `x: [n, input]` → `[4 * H + 2 * heads, n]`
    /// (rows `q, k, v, o, i, f`), in one matmul.
    pub fn project_input(&self, x: Tensor<2>) -> Tensor<2> {
        let weight = Tensor::cat(vec![self.weight.val(), self.gate_weight.val()], 0);
        let units_bias = match &self.bias {
            Some(b) => b.val(),
            None => Tensor::zeros([self.weight.dims()[0]], (&x.device(), x.dtype())),
        };
        let bias = Tensor::cat(vec![units_bias, self.gate_bias.val()], 0);
        project(weight, Some(bias), x)
    }
}

/// The `xlstm` package's initial biases of the mLSTM's gates, one per head: the input
/// gates' normal with deviation 0.1, the forget gates' spread from 3 to 6 over the heads.
pub(crate) fn gate_biases(heads: usize, device: &Device) -> (Tensor<1>, Tensor<1>) {
    // A plain tensor, not a parameter's value: on an autodiff device that would be tracked,
    // and the biases concatenated from it no leaf to make a parameter of.
    let input = Tensor::random([heads], Distribution::Normal(0.0, 0.1), device);
    let forget: Vec<f32> = (0..heads)
        .map(|k| match heads {
            1 => 3.0,
            _ => 3.0 + 3.0 * k as f32 / (heads - 1) as f32,
        })
        .collect();
    (input, Tensor::from_floats(forget.as_slice(), device))
}

impl CellWeights for MlstmWeights {
    fn input_size(&self) -> usize {
        self.weight.dims()[1]
    }

    fn gates_width(&self) -> usize {
        self.weight.dims()[0] + self.gate_weight.dims()[0]
    }

    /// `H`: `weight`'s rows are `gates` (4) per unit.
    fn state_size(&self, gates: usize) -> usize {
        self.weight.dims()[0] / gates
    }

    /// From `weight`'s `4 * H` rows (`q, k, v, o`).
    fn units(&self, gates: usize, name: &str, cell: &str) -> Result<usize, RnnError> {
        units_from_rows(&self.weight, gates, &format!("{name}.weights.weight"), cell)
    }

    /// Also that the gates' heads divide the hidden size.
    fn check(
        &self,
        name: &str,
        [gates, input, hidden, _]: [usize; 4],
        dtype: DType,
        device: &Device,
    ) -> Result<(), RnnError> {
        let bias = self.bias.as_ref().map(|b| ("bias", b));
        let sizes = [gates, input, hidden];
        check_projection(name, ("weight", &self.weight), bias, sizes, dtype, device)?;
        let [rows, _] = self.gate_weight.dims();
        let heads = rows / 2;
        let gate_weight = format!("{name}.weights.gate_weight");
        if heads == 0 || !rows.is_multiple_of(2) || !hidden.is_multiple_of(heads) {
            return Err(RnnError::new(
                gate_weight,
                format!("2 × heads rows, the heads dividing hidden_size {hidden}"),
                format!("shape {:?}", self.gate_weight.dims()),
            ));
        }
        let what = format!("2 gates × {heads} heads, input_size {input}");
        check_parameter(
            &gate_weight,
            &self.gate_weight,
            [rows, input],
            &what,
            dtype,
            device,
        )?;
        let gate_bias = format!("{name}.weights.gate_bias");
        let what = format!("2 gates × {heads} heads");
        check_parameter(&gate_bias, &self.gate_bias, [rows], &what, dtype, device)
    }
}

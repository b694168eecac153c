//! The parameters of a cell whose gates read the input only.

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::{DType, Device, Tensor};

use crate::weights::{check_projection, project, units_from_rows};
use crate::{CellWeights, RnnError};

/// The parameters of a cell without recurrent weights (minGRU, minLSTM): one linear map of
/// the input onto all `G` gates, `G * H` rows in the gates' order.
#[derive(Module, Debug)]
pub struct InputWeights {
    /// `[G * H, input]`.
    pub weight: Param<Tensor<2>>,
    /// `[G * H]`, absent when the cell has no bias.
    pub bias: Option<Param<Tensor<1>>>,
}

impl InputWeights {
    /// `torch.nn.Linear`'s initialisation (the reference's): every parameter uniform in
    /// `±1/sqrt(input_size)`.
    pub fn init(input: usize, hidden: usize, gates: usize, bias: bool, device: &Device) -> Self {
        let bound = 1.0 / (input as f64).sqrt();
        let init = Initializer::Uniform {
            min: -bound,
            max: bound,
        };
        Self {
            weight: init.init([gates * hidden, input], device),
            bias: bias.then(|| init.init([gates * hidden], device)),
        }
    }

    /// `weight @ xᵀ + bias`, feature-major: `x: [n, input]` → `[G * H, n]`.
    pub fn project(&self, x: Tensor<2>) -> Tensor<2> {
        project(self.weight.val(), self.bias.as_ref().map(Param::val), x)
    }
}

impl CellWeights for InputWeights {
    fn input_size(&self) -> usize {
        self.weight.dims()[1]
    }

    fn gates_width(&self) -> usize {
        self.weight.dims()[0]
    }

    /// The units: `h` has one value per unit.
    fn state_size(&self, gates: usize) -> usize {
        self.gates_width() / gates
    }

    /// From `weight`'s `G * H` rows.
    fn units(&self, gates: usize, name: &str, cell: &str) -> Result<usize, RnnError> {
        units_from_rows(&self.weight, gates, &format!("{name}.weights.weight"), cell)
    }

    fn check(
        &self,
        name: &str,
        [gates, input, hidden, _]: [usize; 4],
        dtype: DType,
        device: &Device,
    ) -> Result<(), RnnError> {
        let bias = self.bias.as_ref().map(|b| ("bias", b));
        let sizes = [gates, input, hidden];
        check_projection(name, ("weight", &self.weight), bias, sizes, dtype, device)
    }
}

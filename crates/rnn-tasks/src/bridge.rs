//! A decoder's initial state: projected from a vector (an encoder summary, an image or
//! feature vector), or learned.

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use rnn_core::RnnState;

/// Maps a vector to the initial state of a decoder of `num_layers` layers of `hidden` units:
/// `h = tanh(W_h v + b_h)` and, for an LSTM, `c = tanh(W_c u + b_c)`, one slice per layer.
#[derive(Module, Debug)]
pub struct Bridge {
    /// `[input] → [num_layers * hidden]` for the hidden state.
    pub hidden: Linear,
    /// `[input] → [num_layers * hidden]` for the cell state (LSTM decoders).
    pub cell: Option<Linear>,
    /// Number of decoder layers.
    pub num_layers: usize,
}

impl Bridge {
    /// A bridge from `input` features to `num_layers` layers of `hidden` units, with a cell
    /// part when `has_cell`.
    pub fn new(
        input: usize,
        num_layers: usize,
        hidden: usize,
        has_cell: bool,
        device: &Device,
    ) -> Self {
        let linear = || LinearConfig::new(input, num_layers * hidden).init(device);
        Self {
            hidden: linear(),
            cell: has_cell.then(linear),
            num_layers,
        }
    }

    /// `v: [batch, input]` (and `u`, the source of the cell part; `v` when `None`) → state
    /// parts `[num_layers, batch, hidden]`.
    pub fn forward(&self, v: Tensor<2>, u: Option<Tensor<2>>) -> RnnState<3> {
        let split = |x: Tensor<2>| {
            let [batch, size] = x.dims();
            x.tanh()
                .reshape([batch, self.num_layers, size / self.num_layers])
                .swap_dims(0, 1)
        };
        let cell = self
            .cell
            .as_ref()
            .map(|linear| split(linear.forward(u.unwrap_or_else(|| v.clone()))));
        RnnState {
            hidden: split(self.hidden.forward(v)),
            cell,
        }
    }
}

/// A learned initial state, the same for every example (starts at zero).
#[derive(Module, Debug)]
pub struct LearnedState {
    /// `[num_layers, 1, hidden]`.
    pub hidden: Param<Tensor<3>>,
    /// `[num_layers, 1, hidden]`, for LSTM decoders.
    pub cell: Option<Param<Tensor<3>>>,
}

impl LearnedState {
    /// Zeros for `num_layers` layers of `hidden` units, with a cell part when `has_cell`.
    pub fn new(num_layers: usize, hidden: usize, has_cell: bool, device: &Device) -> Self {
        let zeros = || Param::from_tensor(Tensor::zeros([num_layers, 1, hidden], device));
        Self {
            hidden: zeros(),
            cell: has_cell.then(zeros),
        }
    }

    /// The state for `batch` examples: parts `[num_layers, batch, hidden]`.
    pub fn expand(&self, batch: usize) -> RnnState<3> {
        let expand = |p: &Param<Tensor<3>>| {
            let [layers, _, hidden] = p.dims();
            p.val().expand([layers, batch, hidden])
        };
        RnnState {
            hidden: expand(&self.hidden),
            cell: self.cell.as_ref().map(expand),
        }
    }
}

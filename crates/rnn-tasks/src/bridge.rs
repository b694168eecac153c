//! A decoder's initial state: projected from a vector (an encoder summary, an image or
//! feature vector), or learned.

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use rnn_core::validate::{check_feature_size, check_positive};
use rnn_core::{RnnError, RnnState, linear_layer, tanh};

/// The shape of the content a unidirectional stacked network's state is set from
/// ([`AnyRnn::initial_state`](rnn_core::AnyRnn::initial_state)), per layer. With an LSTM
/// projection the two parts differ: `h` has `proj_size` values, `c` `hidden_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateSizes {
    /// Number of layers: each part is `[num_layers, batch, ..]`.
    pub num_layers: usize,
    /// Size of each layer's hidden state `h`.
    pub hidden: usize,
    /// Size of each layer's second vector: the cell state `c` (LSTM, sLSTM) or the key
    /// (mLSTM); `None` for cells that take none.
    pub cell: Option<usize>,
}

impl StateSizes {
    /// Checks every size is positive (`sizes.num_layers`, `sizes.hidden`, `sizes.cell`).
    pub fn validate(&self) -> Result<(), RnnError> {
        check_positive("sizes.num_layers", self.num_layers)?;
        check_positive("sizes.hidden", self.hidden)?;
        match self.cell {
            Some(cell) => check_positive("sizes.cell", cell),
            None => Ok(()),
        }
    }
}

/// Maps a vector to what a decoder's initial state is set from: `h = tanh(W_h v + b_h)` and,
/// for cells that take a second vector, `c = tanh(W_c u + b_c)` (the LSTM's and sLSTM's cell
/// state, the mLSTM's key), one slice per layer. The decoder makes its state of them with
/// [`AnyRnn::initial_state`](rnn_core::AnyRnn::initial_state).
#[derive(Module, Debug)]
pub struct Bridge {
    /// `[input] → [num_layers * hidden]` for the hidden state.
    pub hidden: Linear,
    /// `[cell_input] → [num_layers * cell]` for the cell state (LSTM decoders).
    pub cell: Option<Linear>,
    /// Number of decoder layers.
    pub num_layers: usize,
}

impl Bridge {
    /// A bridge from `v` of `input` features (and `u` of `cell_input` features for the cell
    /// part; `None`: the cell part reads `v` too) to a state of `sizes`.
    ///
    /// # Panics
    /// If a size is 0, with the message of [`try_new`](Self::try_new).
    pub fn new(
        input: usize,
        cell_input: Option<usize>,
        sizes: StateSizes,
        device: &Device,
    ) -> Self {
        Self::try_new(input, cell_input, sizes, device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`new`](Self::new), or an error naming a size that is 0 (`input`, `cell_input`,
    /// `sizes.num_layers`, ...).
    pub fn try_new(
        input: usize,
        cell_input: Option<usize>,
        sizes: StateSizes,
        device: &Device,
    ) -> Result<Self, RnnError> {
        sizes.validate()?;
        check_positive("input", input)?;
        if let Some(cell_input) = cell_input {
            check_positive("cell_input", cell_input)?;
        }
        let linear = |i, o| LinearConfig::new(i, sizes.num_layers * o).init(device);
        Ok(Self {
            hidden: linear(input, sizes.hidden),
            cell: sizes
                .cell
                .map(|size| linear(cell_input.unwrap_or(input), size)),
            num_layers: sizes.num_layers,
        })
    }

    /// `v: [batch, input]` (and `u: [batch, cell_input]`, the source of the cell part; `v`
    /// when `None`) → content parts `[num_layers, batch, size]`.
    ///
    /// # Panics
    /// If `v` or `u` is not of the size the bridge reads, with a message naming it.
    pub fn forward(&self, v: Tensor<2>, u: Option<Tensor<2>>) -> RnnState<3> {
        let check = |name: &str, x: &Tensor<2>, layer: &Linear| {
            check_feature_size(name, layer.weight.dims()[0], x.dims()[1])
                .unwrap_or_else(|e| panic!("{e}"))
        };
        check("v", &v, &self.hidden);
        if let Some(layer) = &self.cell {
            match &u {
                Some(u) => {
                    check("u", u, layer);
                    assert_eq!(
                        u.dims()[0],
                        v.dims()[0],
                        "u: expected a batch of {} (v's), got {}",
                        v.dims()[0],
                        u.dims()[0]
                    );
                }
                None => {
                    let expected = layer.weight.dims()[0];
                    assert_eq!(
                        v.dims()[1],
                        expected,
                        "u: expected a [batch, {expected}] tensor for the cell part (v has {} \
                         features, so it cannot stand in), got None",
                        v.dims()[1]
                    );
                }
            }
        }
        let split = |x: Tensor<2>| {
            let [batch, size] = x.dims();
            tanh(x)
                .reshape([batch, self.num_layers, size / self.num_layers])
                .swap_dims(0, 1)
        };
        let cell = self
            .cell
            .as_ref()
            .map(|layer| split(linear_layer(layer, u.unwrap_or_else(|| v.clone()))));
        RnnState::with_cell(split(linear_layer(&self.hidden, v)), cell)
    }
}

/// A learned initial state, the same for every example (starts at zero).
#[derive(Module, Debug)]
pub struct LearnedState {
    /// `[num_layers, 1, hidden]`.
    pub hidden: Param<Tensor<3>>,
    /// `[num_layers, 1, cell]`: the second vector (LSTM, sLSTM, mLSTM decoders).
    pub cell: Option<Param<Tensor<3>>>,
}

impl LearnedState {
    /// Zeros in the shape of `sizes`, for one example.
    ///
    /// # Panics
    /// If a size is 0, with the message of [`try_new`](Self::try_new).
    pub fn new(sizes: StateSizes, device: &Device) -> Self {
        Self::try_new(sizes, device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`new`](Self::new), or an error naming a size of `sizes` that is 0.
    pub fn try_new(sizes: StateSizes, device: &Device) -> Result<Self, RnnError> {
        sizes.validate()?;
        let zeros = |size| Param::from_tensor(Tensor::zeros([sizes.num_layers, 1, size], device));
        Ok(Self {
            hidden: zeros(sizes.hidden),
            cell: sizes.cell.map(zeros),
        })
    }

    /// The content of the state for `batch` examples: parts `[num_layers, batch, size]`.
    pub fn expand(&self, batch: usize) -> RnnState<3> {
        let expand = |p: &Param<Tensor<3>>| {
            let [layers, _, size] = p.dims();
            p.val().expand([layers, batch, size])
        };
        RnnState::with_cell(expand(&self.hidden), self.cell.as_ref().map(expand))
    }
}

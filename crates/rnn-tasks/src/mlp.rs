//! The feed-forward output part of a head: hidden ReLU layers with dropout, then a linear map.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use rnn_core::validate::{check_dropout, check_positive};
use rnn_core::{RnnError, dropout_layer, linear_layer};

/// `input → [dropout → linear → ReLU]* → dropout → linear → output`.
#[derive(Module, Debug)]
pub struct Mlp {
    /// Hidden layers, followed by a ReLU each.
    pub hidden: Vec<Linear>,
    /// The final linear map (no activation: logits or regression outputs).
    pub output: Linear,
    /// Dropout before every linear layer (training only).
    pub dropout: Dropout,
}

impl Mlp {
    /// `input` features through layers of `hidden` sizes to `output` features.
    ///
    /// # Panics
    /// If a size is 0 or `dropout` is not in `[0, 1)`, with the message of
    /// [`try_new`](Self::try_new).
    pub fn new(
        input: usize,
        hidden: &[usize],
        output: usize,
        dropout: f64,
        device: &Device,
    ) -> Self {
        Self::try_new(input, hidden, output, dropout, device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`new`](Self::new), or an error naming a size that is 0 (`input`, `hidden[1]`,
    /// `output`) or a `dropout` outside `[0, 1)`.
    pub fn try_new(
        input: usize,
        hidden: &[usize],
        output: usize,
        dropout: f64,
        device: &Device,
    ) -> Result<Self, RnnError> {
        check_positive("input", input)?;
        Self::check_hidden("hidden", hidden)?;
        check_positive("output", output)?;
        check_dropout("dropout", dropout)?;
        let mut size = input;
        let hidden = hidden
            .iter()
            .map(|&h| {
                let layer = LinearConfig::new(size, h).init(device);
                size = h;
                layer
            })
            .collect();
        Ok(Self {
            hidden,
            output: LinearConfig::new(size, output).init(device),
            dropout: DropoutConfig::new(dropout).init(),
        })
    }

    /// Checks the `hidden` layer sizes of a head's config field `argument` are positive
    /// (`mlp_hidden[1]: expected a value > 0, got 0`).
    pub(crate) fn check_hidden(argument: &str, hidden: &[usize]) -> Result<(), RnnError> {
        for (i, &size) in hidden.iter().enumerate() {
            check_positive(format_args!("{argument}[{i}]"), size)?;
        }
        Ok(())
    }

    /// `[.., input]` → `[.., output]`.
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        let x = self.hidden.iter().fold(input, |x, layer| {
            relu(linear_layer(layer, dropout_layer(&self.dropout, x)))
        });
        linear_layer(&self.output, dropout_layer(&self.dropout, x))
    }
}

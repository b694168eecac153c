//! The feed-forward output part of a head: hidden ReLU layers with dropout, then a linear map.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use rnn_core::validate::check_positive;
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
    pub fn new(
        input: usize,
        hidden: &[usize],
        output: usize,
        dropout: f64,
        device: &Device,
    ) -> Self {
        let mut size = input;
        let hidden = hidden
            .iter()
            .map(|&h| {
                let layer = LinearConfig::new(size, h).init(device);
                size = h;
                layer
            })
            .collect();
        Self {
            hidden,
            output: LinearConfig::new(size, output).init(device),
            dropout: DropoutConfig::new(dropout).init(),
        }
    }

    /// Checks the `hidden` layer sizes of a head's config field `argument` are positive
    /// (`mlp_hidden[1]: expected a value > 0, got 0`).
    pub(crate) fn check_hidden(argument: &str, hidden: &[usize]) -> Result<(), RnnError> {
        for (i, &size) in hidden.iter().enumerate() {
            check_positive(&format!("{argument}[{i}]"), size)?;
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

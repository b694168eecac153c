//! The recurrent part of a head, as configuration: which cell, how many layers, which way.

use burn::config::Config;
use burn::tensor::{Device, Tensor};
use rnn_core::{AnyRnn, CellKind, Nonlinearity, RnnConfig, RnnError};

/// An encoder or decoder of a head: cell kind, size and stacking. The input size is not part
/// of it: the head knows it (embedding or feature size) and supplies it at `init`.
///
/// Inside a head the network is always batch-first and, when bidirectional, concatenates its
/// two directions: its outputs are `[batch, seq, num_directions * hidden_size]`.
#[derive(Config, Debug)]
pub struct RecurrentConfig {
    /// Size of each direction's hidden state.
    pub hidden_size: usize,
    /// The cell: LSTM, GRU or Elman.
    #[config(default = "CellKind::Lstm")]
    pub cell: CellKind,
    /// Number of stacked layers.
    #[config(default = 1)]
    pub num_layers: usize,
    /// Whether each layer runs in both directions (encoders only).
    #[config(default = false)]
    pub bidirectional: bool,
    /// Dropout between stacked layers, in training only.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Nonlinearity of Elman cells.
    #[config(default = "Nonlinearity::Tanh")]
    pub nonlinearity: Nonlinearity,
}

impl RecurrentConfig {
    /// The rnn-core configuration of this network over `input_size` features.
    pub fn rnn_config(&self, input_size: usize) -> RnnConfig {
        RnnConfig::new(input_size, self.hidden_size)
            .with_num_layers(self.num_layers)
            .with_bidirectional(self.bidirectional)
            .with_dropout(self.dropout)
            .with_nonlinearity(self.nonlinearity)
    }

    /// Size of the network's outputs: `num_directions * hidden_size`.
    pub fn output_size(&self) -> usize {
        self.hidden_size * if self.bidirectional { 2 } else { 1 }
    }

    /// Creates the network over `input_size` features, or says which field is invalid.
    pub fn try_init(&self, input_size: usize, device: &Device) -> Result<AnyRnn, RnnError> {
        self.rnn_config(input_size).try_init_kind(self.cell, device)
    }

    /// [`try_init`](Self::try_init) for the head's field `argument`, which prefixes the name
    /// of a bad field in the error (`encoder.hidden_size`).
    pub(crate) fn try_init_as(
        &self,
        argument: &str,
        input_size: usize,
        device: &Device,
    ) -> Result<AnyRnn, RnnError> {
        self.try_init(input_size, device).map_err(|e| RnnError {
            argument: format!("{argument}.{}", e.argument),
            ..e
        })
    }

    /// Checks the network can be a decoder (stepped one token at a time): `argument` names
    /// this config in the error.
    pub(crate) fn check_unidirectional(&self, argument: &str) -> Result<(), RnnError> {
        if self.bidirectional {
            return Err(RnnError::new(
                format!("{argument}.bidirectional"),
                "false (a decoder runs one step at a time)",
                "true",
            ));
        }
        Ok(())
    }
}

/// The last layer's final hidden state, directions side by side: `hidden:
/// [num_layers * num_directions, batch, H]` → `[batch, num_directions * H]`, forward first
/// (the layout of a concatenating bidirectional output).
pub(crate) fn final_hidden(hidden: Tensor<3>, num_directions: usize) -> Tensor<2> {
    let [rows, batch, size] = hidden.dims();
    hidden
        .narrow(0, rows - num_directions, num_directions)
        .swap_dims(0, 1)
        .reshape([batch, num_directions * size])
}

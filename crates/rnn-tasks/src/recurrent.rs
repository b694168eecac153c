//! The recurrent part of a head, as configuration: which cell, how many layers, which way.

use burn::config::Config;
use burn::tensor::Device;
use rnn_core::{AnyRnn, CellKind, ForgetGate, MergeMode, Nonlinearity, RnnConfig, RnnError};

use crate::bridge::StateSizes;

/// An encoder or decoder of a head: the layer config ([`RnnConfig`]) minus the input size,
/// which the head knows (embedding or feature size) and supplies at `init`.
///
/// Inside a head the network is always batch-first. Its outputs are
/// `[batch, seq, output_size]`: the state size (`proj_size` for a projecting LSTM, else
/// `hidden_size`), or, when bidirectional, the two directions merged by `merge`
/// (concatenated by default: twice the state size); see [`output_size`](Self::output_size).
/// Heads that read the final states merge their directions the same way.
#[derive(Config, Debug)]
pub struct RecurrentConfig {
    /// Number of hidden units of each direction (the size of its hidden state, unless
    /// projected).
    pub hidden_size: usize,
    /// Size of the projection of each LSTM cell's hidden state (PyTorch's `proj_size`): when
    /// positive, `h` has this many values instead of `hidden_size` (the cell state `c` keeps
    /// `hidden_size`). 0 (the default): no projection. LSTM only.
    #[config(default = 0)]
    pub proj_size: usize,
    /// The cell: LSTM, GRU, Elman, minGRU, minLSTM, sLSTM or mLSTM.
    #[config(default = "CellKind::Lstm")]
    pub cell: CellKind,
    /// Number of stacked layers.
    #[config(default = 1)]
    pub num_layers: usize,
    /// Whether each layer runs in both directions (encoders only).
    #[config(default = false)]
    pub bidirectional: bool,
    /// How a bidirectional layer combines its two directions (and a head the two final
    /// states): concatenated (the default), summed, averaged or multiplied.
    #[config(default = "MergeMode::Concat")]
    pub merge: MergeMode,
    /// Dropout between stacked layers, in training only.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Nonlinearity of Elman cells.
    #[config(default = "Nonlinearity::Tanh")]
    pub nonlinearity: Nonlinearity,
    /// Number of heads of sLSTM and mLSTM cells (must divide `hidden_size`); 1 for others.
    #[config(default = 1)]
    pub num_heads: usize,
    /// The forget gates of sLSTM and mLSTM cells.
    #[config(default = "ForgetGate::Sigmoid")]
    pub forget_gate: ForgetGate,
    /// Steps an mLSTM runs at once in its chunkwise form.
    #[config(default = 64)]
    pub chunk_size: usize,
}

impl RecurrentConfig {
    /// The rnn-core configuration of this network over `input_size` features.
    pub fn rnn_config(&self, input_size: usize) -> RnnConfig {
        RnnConfig::new(input_size, self.hidden_size)
            .with_proj_size(self.proj_size)
            .with_num_layers(self.num_layers)
            .with_bidirectional(self.bidirectional)
            .with_merge(self.merge)
            .with_dropout(self.dropout)
            .with_nonlinearity(self.nonlinearity)
            .with_num_heads(self.num_heads)
            .with_forget_gate(self.forget_gate)
            .with_chunk_size(self.chunk_size)
    }

    /// Size of the network's outputs: the state size, merged over both directions when
    /// bidirectional ([`RnnConfig::output_size`]).
    pub fn output_size(&self) -> usize {
        self.sizes().output_size()
    }

    /// Size of each direction's hidden state `h`: `proj_size` when projecting, else
    /// `hidden_size` ([`RnnConfig::state_size`]).
    pub fn state_size(&self) -> usize {
        self.sizes().state_size()
    }

    /// The sizes of the content a decoder's state is set from
    /// ([`AnyRnn::initial_state`]), per layer: `h` has [`state_size`](Self::state_size)
    /// values and the second vector (the LSTM's and sLSTM's `c`, the mLSTM's key),
    /// `hidden_size`.
    pub(crate) fn state_sizes(&self) -> StateSizes {
        StateSizes {
            num_layers: self.num_layers,
            hidden: self.state_size(),
            cell: self.cell.takes_cell_content().then_some(self.hidden_size),
        }
    }

    /// Sizes of the final state's parts with the last layer's directions merged
    /// ([`last_layer`](crate::sequence_encoder::last_layer)): `h` has the output size, `c`
    /// (LSTM) the merged hidden size.
    pub(crate) fn final_sizes(&self) -> (usize, usize) {
        // `c` is never projected: its merged size is that of an unprojected network's outputs.
        let unprojected = self.sizes().with_proj_size(0);
        (self.output_size(), unprojected.output_size())
    }

    /// The sizes depend on no input size: any will do for [`RnnConfig`]'s computation.
    fn sizes(&self) -> RnnConfig {
        self.rnn_config(1)
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

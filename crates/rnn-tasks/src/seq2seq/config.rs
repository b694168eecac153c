//! The configuration of a [`Seq2Seq`] model and its checks.

use burn::config::Config;
use burn::nn::{DropoutConfig, EmbeddingConfig, LinearConfig};
use burn::tensor::Device;
use rnn_core::RnnError;
use rnn_core::validate::{check_dropout, check_positive, check_probability};

use super::Seq2Seq;
use crate::RecurrentConfig;
use crate::attention::{Attention, AttentionKind};
use crate::bridge::Bridge;
use crate::output::OutputLayer;

/// Configuration of a [`Seq2Seq`] model.
#[derive(Config, Debug)]
pub struct Seq2SeqConfig {
    /// Number of source tokens.
    pub source_vocab_size: usize,
    /// Number of target tokens.
    pub target_vocab_size: usize,
    /// The encoder (may be stacked and bidirectional).
    pub encoder: RecurrentConfig,
    /// The decoder (unidirectional; its layers need not match the encoder's).
    pub decoder: RecurrentConfig,
    /// Size of the source and target embeddings.
    #[config(default = 64)]
    pub embedding_size: usize,
    /// The attention score function.
    #[config(default = "AttentionKind::LuongGeneral")]
    pub attention: AttentionKind,
    /// Hidden size of Bahdanau attention; `None`: the decoder's state size (its hidden size,
    /// or its projection size).
    pub attention_size: Option<usize>,
    /// Luong's input feeding: the previous attentional state `h̃_{t-1}` is part of the
    /// decoder's input at step `t`.
    #[config(default = true)]
    pub input_feeding: bool,
    /// Dropout on embeddings and before the output layer (training only).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Tie the output layer to the target embedding: `logits = h̃ Eᵀ + b` (Press & Wolf 2017).
    /// The attentional state `h̃` then has `embedding_size` units instead of the decoder's
    /// state size.
    #[config(default = false)]
    pub tie_embeddings: bool,
    /// Probability that a training step feeds the true previous target token rather than the
    /// model's own prediction (1: full teacher forcing; below 1: scheduled sampling).
    #[config(default = 1.0)]
    pub teacher_forcing: f64,
}

impl Seq2SeqConfig {
    /// Creates the model, or says which field is invalid.
    pub fn try_init(&self, device: &Device) -> Result<Seq2Seq, RnnError> {
        check_positive("source_vocab_size", self.source_vocab_size)?;
        check_positive("target_vocab_size", self.target_vocab_size)?;
        check_positive("embedding_size", self.embedding_size)?;
        check_positive("attention_size", self.attention_size.unwrap_or(1))?;
        check_dropout("dropout", self.dropout)?;
        check_probability("teacher_forcing", self.teacher_forcing)?;
        self.decoder.check_unidirectional("decoder")?;
        // The decoder's state `s_t` (its `h`, the attention's query) has the projection's
        // size when its LSTM projects.
        let state = self.decoder.state_size();
        let keys = self.encoder.output_size();
        let attentional = if self.tie_embeddings {
            self.embedding_size
        } else {
            state
        };
        let bahdanau = self.attention == AttentionKind::Bahdanau;
        let decoder_input = self.embedding_size
            + if bahdanau { keys } else { 0 }
            + if self.input_feeding { attentional } else { 0 };
        let encoder = self
            .encoder
            .try_init_as("encoder", self.embedding_size, device)?;
        let decoder = self.decoder.try_init_as("decoder", decoder_input, device)?;
        let attention = Attention::try_new(
            self.attention,
            state,
            keys,
            self.attention_size.unwrap_or(state),
            device,
        )?;
        // The bridge reads the encoder's final `h` (and `c`, when both sides have one: with a
        // projection the two differ in size) of both directions.
        let (summary, cell_summary) = self.encoder.final_sizes();
        let bridge = Bridge::try_new(
            summary,
            encoder.has_cell_state().then_some(cell_summary),
            self.decoder.state_sizes(),
            device,
        )?;
        Ok(Seq2Seq {
            source_embedding: EmbeddingConfig::new(self.source_vocab_size, self.embedding_size)
                .init(device),
            target_embedding: EmbeddingConfig::new(self.target_vocab_size, self.embedding_size)
                .init(device),
            encoder,
            bridge,
            decoder,
            attention,
            combine: LinearConfig::new(state + keys, attentional).init(device),
            output: if self.tie_embeddings {
                OutputLayer::tied(attentional, self.target_vocab_size, device)
            } else {
                OutputLayer::linear(attentional, self.target_vocab_size, device)
            },
            dropout: DropoutConfig::new(self.dropout).init(),
            input_feeding: self.input_feeding,
            teacher_forcing: self.teacher_forcing,
        })
    }

    /// Creates the model.
    ///
    /// # Panics
    /// If the config is invalid; the message names the field.
    pub fn init(&self, device: &Device) -> Seq2Seq {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }
}

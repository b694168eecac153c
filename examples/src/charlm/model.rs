//! The character language model: embeddings, a stacked recurrent network that takes the
//! state to start from and returns the state it ends in, logits over the characters.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig};
use burn::tensor::{Device, Int, Tensor};
use rnn_tasks::rnn_core::validate::{check_dropout, check_positive};
use rnn_tasks::rnn_core::{AnyRnn, RnnState, dropout_layer, log_softmax};
use rnn_tasks::{OutputLayer, RecurrentConfig, RnnError};

/// Configuration of a [`CharLm`].
#[derive(Config, Debug)]
pub struct CharLmConfig {
    /// Number of characters in the vocabulary (the unknown symbol included).
    pub vocab_size: usize,
    /// Size of the character embeddings.
    pub embedding_size: usize,
    /// The stacked recurrent network (unidirectional; its `dropout` is between layers).
    pub recurrent: RecurrentConfig,
    /// Dropout on the embeddings and before the output layer (training only).
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl CharLmConfig {
    /// Creates the model, or says which field is invalid.
    pub fn try_init(&self, device: &Device) -> Result<CharLm, RnnError> {
        check_positive("vocab_size", self.vocab_size)?;
        check_positive("embedding_size", self.embedding_size)?;
        check_dropout("dropout", self.dropout)?;
        if self.recurrent.bidirectional {
            return Err(RnnError::new(
                "recurrent.bidirectional",
                "false (a language model reads left to right)",
                "true",
            ));
        }
        let rnn = self.recurrent.try_init(self.embedding_size, device)?;
        Ok(CharLm {
            embedding: EmbeddingConfig::new(self.vocab_size, self.embedding_size).init(device),
            output: OutputLayer::linear(self.recurrent.output_size(), self.vocab_size, device),
            rnn,
            dropout: DropoutConfig::new(self.dropout).init(),
        })
    }
}

/// What [`CharLm::forward`] returns.
#[derive(Debug, Clone)]
pub struct CharLmOutput {
    /// `[batch, seq, vocab]` the logits of each next character.
    pub logits: Tensor<3>,
    /// The state after the last step (`[num_layers, batch, size]` parts), to continue from.
    pub state: RnnState<3>,
}

/// A character-level language model: `ids [batch, seq]` → embeddings → stacked recurrent
/// network → logits of the next character at every step.
#[derive(Module, Debug)]
pub struct CharLm {
    /// Character embeddings `[vocab, embedding]`.
    pub embedding: Embedding,
    /// The stacked recurrent network.
    pub rnn: AnyRnn,
    /// Recurrent outputs → logits over the vocabulary.
    pub output: OutputLayer,
    /// Dropout on the embeddings and the recurrent outputs.
    pub dropout: Dropout,
}

impl CharLm {
    /// Logits `[batch, seq, vocab]` for `ids: [batch, seq]`, starting from `state` (zero when
    /// `None`), and the final state.
    pub fn forward(&self, ids: Tensor<2, Int>, state: Option<RnnState<3>>) -> CharLmOutput {
        let x = dropout_layer(&self.dropout, self.embedding.forward(ids));
        let out = self.rnn.forward(x, state, None);
        CharLmOutput {
            logits: self
                .output
                .forward(dropout_layer(&self.dropout, out.output), &self.embedding),
            state: out.state,
        }
    }

    /// The summed negative log-likelihood (nats, `[1]`) of `targets: [batch, seq]` under
    /// `logits: [batch, seq, vocab]`.
    pub fn total_nll(logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<1> {
        -log_softmax(logits, 2)
            .gather(2, targets.unsqueeze_dim(2))
            .sum()
    }

    /// Number of characters in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.embedding.weight.dims()[0]
    }
}

/// `state` cut off from the graph that computed it: training carries the values from one
/// batch to the next, and backpropagates through one batch only.
pub fn detach(state: RnnState<3>) -> RnnState<3> {
    state.map(Tensor::detach)
}

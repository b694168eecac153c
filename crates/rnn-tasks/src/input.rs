//! What a head reads: token ids through an embedding, or raw feature vectors.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig};
use burn::tensor::{Device, Int, Tensor};
use rnn_core::RnnError;
use rnn_core::validate::{check_feature_size, check_not_empty, check_positive};

use crate::tokens::check_tokens;

/// A batch of input sequences: token ids `[batch, seq]` or features `[batch, seq, features]`.
///
/// Converts from either tensor, so heads take `impl Into<SequenceInput>`.
#[derive(Debug, Clone)]
pub enum SequenceInput {
    /// Token ids `[batch, seq]`, embedded by the head.
    Tokens(Tensor<2, Int>),
    /// Feature vectors `[batch, seq, features]`, used as they are.
    Features(Tensor<3>),
}

impl From<Tensor<2, Int>> for SequenceInput {
    fn from(tokens: Tensor<2, Int>) -> Self {
        Self::Tokens(tokens)
    }
}

impl From<Tensor<3>> for SequenceInput {
    fn from(features: Tensor<3>) -> Self {
        Self::Features(features)
    }
}

impl SequenceInput {
    /// `[batch, seq]`.
    pub fn batch_and_seq(&self) -> [usize; 2] {
        match self {
            Self::Tokens(t) => t.dims(),
            Self::Features(x) => {
                let [b, s, _] = x.dims();
                [b, s]
            }
        }
    }
}

/// The input side of a head: tokens from a vocabulary (`vocab_size` set, embedded to `size`
/// features) or feature vectors of `size` features.
#[derive(Config, Debug)]
pub struct InputConfig {
    /// Embedding size for tokens, or the feature size for raw features.
    pub size: usize,
    /// Vocabulary size when the input is tokens; `None` for raw features.
    pub vocab_size: Option<usize>,
}

impl InputConfig {
    /// Token ids in `0..vocab_size`, embedded into `embedding_size` features.
    pub fn tokens(vocab_size: usize, embedding_size: usize) -> Self {
        Self::new(embedding_size).with_vocab_size(Some(vocab_size))
    }

    /// Feature vectors of `size` features.
    pub fn features(size: usize) -> Self {
        Self::new(size)
    }

    /// Checks the sizes are positive; `argument` names this config in the error.
    pub(crate) fn validate(&self, argument: &str) -> Result<(), RnnError> {
        check_positive(format_args!("{argument}.size"), self.size)?;
        check_positive(
            format_args!("{argument}.vocab_size"),
            self.vocab_size.unwrap_or(1),
        )
    }

    /// Creates the input layer (the config is validated).
    pub(crate) fn init(&self, device: &Device) -> InputLayer {
        InputLayer {
            embedding: self
                .vocab_size
                .map(|v| EmbeddingConfig::new(v, self.size).init(device)),
            size: self.size,
        }
    }
}

/// Embeds token ids or passes features through, checking them: see [`InputConfig`].
#[derive(Module, Debug)]
pub struct InputLayer {
    /// The token embedding, `[vocab_size, size]`; `None` for raw features.
    pub embedding: Option<Embedding>,
    /// Number of features the layer outputs.
    pub size: usize,
}

impl InputLayer {
    /// `[batch, seq]` ids or `[batch, seq, size]` features → `[batch, seq, size]`.
    ///
    /// `argument` names the input in errors: the wrong kind of input, an empty batch or
    /// sequence, ids outside the vocabulary, or the wrong feature size.
    pub fn try_forward(&self, argument: &str, input: SequenceInput) -> Result<Tensor<3>, RnnError> {
        check_not_empty(argument, input.batch_and_seq())?;
        match (&self.embedding, input) {
            (Some(embedding), SequenceInput::Tokens(tokens)) => {
                check_tokens(argument, &tokens, embedding.weight.dims()[0])?;
                Ok(embedding.forward(tokens))
            }
            (None, SequenceInput::Features(x)) => {
                check_feature_size(argument, self.size, x.dims()[2])?;
                Ok(x)
            }
            (Some(_), SequenceInput::Features(x)) => Err(RnnError::new(
                argument,
                "token ids [batch, seq] (the head embeds tokens)",
                format!("features of shape {:?}", x.dims()),
            )),
            (None, SequenceInput::Tokens(t)) => Err(RnnError::new(
                argument,
                format!(
                    "features [batch, seq, {}] (the head has no embedding)",
                    self.size
                ),
                format!("token ids of shape {:?}", t.dims()),
            )),
        }
    }
}

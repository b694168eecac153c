//! Sequence heads built on [`rnn_core`] layers, for [Burn](https://burn.dev):
//!
//! - many-to-one: [`SequenceClassifier`] (pooling: last, mean, max, attention);
//! - many-to-many, synchronised: [`SequenceTagger`];
//! - one-to-many: [`SequenceGenerator`] (greedy, temperature and top-k sampling);
//! - sequence to sequence: [`Seq2Seq`] with [`Attention`] (Bahdanau, Luong dot/general),
//!   input feeding, teacher forcing, greedy decoding and beam search.
//!
//! Every head takes its recurrent part as configuration ([`RecurrentConfig`]: rnn-core's
//! layer config minus the input size: cell kind, layers, direction and merge, LSTM
//! projection, dropout), reads token ids or feature vectors ([`InputConfig`]), and handles
//! padded batches through explicit lengths: padding never changes an example's result. The
//! classifier and the tagger also run over a network given to their config's `init_with`:
//! any [`SequenceEncoder`], such as a stacked [`Rnn`](rnn_core::Rnn) of a cell defined
//! outside these crates.
//! Errors name the bad argument ([`RnnError`]); configs are checked with rnn-core's shared
//! [`validate`](rnn_core::validate) functions.
//!
//! For training: losses over padded sequences ([`masked_cross_entropy`],
//! [`label_smoothed_cross_entropy`], [`masked_mse`], each with a `try_` form that validates
//! lengths, shapes and class indices) and gradient clipping by the global norm
//! ([`clip_grad_norm`]).

#![warn(missing_docs)]

mod attention;
mod bridge;
mod classifier;
mod clip;
mod decode;
mod encoder;
mod generator;
mod head_constructors;
mod input;
mod loss;
mod mask;
mod mlp;
mod output;
mod pooling;
mod recurrent;
mod seq2seq;
mod sequence_encoder;
mod tagger;
mod tokens;

pub use attention::{Attention, AttentionKind, AttentionMemory, BahdanauAttention, LuongAttention};
pub use bridge::{Bridge, LearnedState, StateSizes};
pub use classifier::{ClassifierOutput, SequenceClassifier, SequenceClassifierConfig};
pub use clip::clip_grad_norm;
pub use decode::{BeamSearchConfig, DecodeConfig, Decoded, Sampler, Sampling};
pub use generator::{Generated, InitialState, SequenceGenerator, SequenceGeneratorConfig};
pub use input::{InputConfig, InputLayer, SequenceInput};
pub use loss::{
    label_smoothed_cross_entropy, masked_cross_entropy, masked_mse,
    try_label_smoothed_cross_entropy, try_masked_cross_entropy, try_masked_mse,
};
pub use mask::{masked_softmax, padding_mask};
pub use mlp::Mlp;
pub use output::OutputLayer;
pub use pooling::{AttentionPooling, Pooling};
pub use recurrent::RecurrentConfig;
pub use rnn_core::{self, CellKind, RnnError};
pub use seq2seq::{Seq2Seq, Seq2SeqConfig, Seq2SeqOutput};
pub use sequence_encoder::SequenceEncoder;
pub use tagger::{SequenceTagger, SequenceTaggerConfig};
pub use tokens::{PaddedTokens, check_tokens};

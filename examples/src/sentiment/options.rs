//! The options of a sentiment run, their defaults, and the model configuration they
//! describe.

use std::path::PathBuf;

use rnn_tasks::{CellKind, InputConfig, Pooling, RecurrentConfig, SequenceClassifierConfig};

use crate::backend::Backend;
use crate::held_out::split_options;

/// Everything a training run needs.
#[derive(Debug, Clone)]
pub struct SentimentOptions {
    /// The labelled sentences (TSV, see [`data::parse`](super::data::parse)).
    pub data: PathBuf,
    /// Where the model and its vocabulary are written.
    pub out: PathBuf,
    /// The backend.
    pub backend: Backend,
    /// A tiny subset and one epoch: proves the pipeline end to end in seconds.
    pub quick: bool,
    /// Seed of the split, the initial weights and the batch order.
    pub seed: u64,
    /// The most epochs.
    pub epochs: usize,
    /// Stop after this many epochs without a better validation accuracy.
    pub patience: usize,
    /// Recurrent cell.
    pub cell: CellKind,
    /// Hidden size of each direction.
    pub hidden: usize,
    /// Word embedding size.
    pub embedding: usize,
    /// How the encoder outputs are pooled.
    pub pooling: Pooling,
    /// Words seen fewer times in the training split are `<unk>`.
    pub min_frequency: usize,
    /// Dropout on embeddings and before the output layer.
    pub dropout: f64,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Sentences per batch.
    pub batch_size: usize,
}

split_options!(SentimentOptions);

impl Default for SentimentOptions {
    fn default() -> Self {
        Self {
            data: PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/data/sentiment/uci_sentiment_labelled_sentences.tsv"
            )),
            out: PathBuf::from("runs/sentiment"),
            backend: Backend::default(),
            quick: false,
            seed: 42,
            epochs: 20,
            patience: 5,
            cell: CellKind::Lstm,
            hidden: 32,
            embedding: 64,
            pooling: Pooling::Max,
            min_frequency: 2,
            dropout: 0.3,
            learning_rate: 3e-3,
            batch_size: 32,
        }
    }
}

/// The model configuration of `options`: token embeddings, a bidirectional encoder of
/// `hidden` units per direction, pooling over time, `classes` outputs.
pub(super) fn model_config(
    options: &SentimentOptions,
    vocab_size: usize,
    classes: usize,
) -> SequenceClassifierConfig {
    SequenceClassifierConfig::new(
        InputConfig::tokens(vocab_size, options.embedding),
        RecurrentConfig::new(options.hidden)
            .with_cell(options.cell)
            .with_bidirectional(true),
        classes,
    )
    .with_pooling(options.pooling)
    .with_dropout(options.dropout)
}

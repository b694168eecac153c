//! The options of a translation run, their defaults, and the model configuration they
//! describe.

use std::path::PathBuf;
use std::time::Duration;

use rnn_tasks::{AttentionKind, CellKind, RecurrentConfig, Seq2SeqConfig};

use crate::backend::Backend;
use crate::held_out::split_options;

/// Everything a training run needs.
#[derive(Debug, Clone)]
pub struct TranslationOptions {
    /// The sentence pairs (TSV, see [`data::parse`](super::data::parse)).
    pub data: PathBuf,
    /// Where the model, vocabularies and heatmaps are written.
    pub out: PathBuf,
    /// The backend.
    pub backend: Backend,
    /// A tiny subset, one epoch, short decoding: proves the pipeline end to end quickly.
    pub quick: bool,
    /// Seed of the split, the initial weights and the batch order.
    pub seed: u64,
    /// Pairs held out for the test set.
    pub test_size: usize,
    /// Pairs held out for validation (early stopping, best epoch).
    pub valid_size: usize,
    /// The most epochs.
    pub epochs: usize,
    /// Stop after this many epochs without a lower validation loss.
    pub patience: usize,
    /// Stop before an epoch that would end after this much training time.
    pub time_budget: Option<Duration>,
    /// Recurrent cell of encoder and decoder.
    pub cell: CellKind,
    /// The attention score.
    pub attention: AttentionKind,
    /// Luong's input feeding (slower: the decoder then steps one token at a time in training).
    pub input_feeding: bool,
    /// Hidden size of each encoder direction; the decoder has twice as many units.
    pub hidden: usize,
    /// Embedding size.
    pub embedding: usize,
    /// BPE merges learnt per language from the training split (0: whole words).
    pub bpe_merges: usize,
    /// Tokens (words or subwords) seen fewer times in the training split are `<unk>`.
    pub min_frequency: usize,
    /// Dropout on embeddings and before the output layer.
    pub dropout: f64,
    /// Probability that a training token (source, or decoder input) is read as `<unk>`.
    pub word_dropout: f64,
    /// Whether the output layer's weights are the target embedding's.
    pub tie_embeddings: bool,
    /// Label smoothing ε of the training loss.
    pub label_smoothing: f64,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Pairs per batch.
    pub batch_size: usize,
    /// Beam width of the beam-search evaluation.
    pub beam_size: usize,
    /// Attention heatmaps written for the first test sentences.
    pub heatmaps: usize,
}

split_options!(TranslationOptions);

impl Default for TranslationOptions {
    fn default() -> Self {
        Self {
            data: PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/data/translation/ding_de_en_sentences.tsv"
            )),
            out: PathBuf::from("runs/translation"),
            backend: Backend::default(),
            quick: false,
            seed: 42,
            test_size: 800,
            valid_size: 400,
            epochs: 100,
            patience: 5,
            time_budget: Some(Duration::from_secs(30 * 60)),
            cell: CellKind::Lstm,
            attention: AttentionKind::LuongGeneral,
            input_feeding: false,
            hidden: 128,
            embedding: 128,
            bpe_merges: 1500,
            min_frequency: 2,
            dropout: 0.3,
            word_dropout: 0.0,
            tie_embeddings: false,
            label_smoothing: 0.1,
            learning_rate: 2e-3,
            batch_size: 64,
            beam_size: 5,
            heatmaps: 4,
        }
    }
}

/// The model configuration of `options`: a bidirectional encoder of `hidden` units per
/// direction, a decoder of `2 * hidden` units, attention over the encoder outputs.
pub(super) fn model_config(
    options: &TranslationOptions,
    source_vocab: usize,
    target_vocab: usize,
) -> Seq2SeqConfig {
    Seq2SeqConfig::new(
        source_vocab,
        target_vocab,
        RecurrentConfig::new(options.hidden)
            .with_cell(options.cell)
            .with_bidirectional(true),
        RecurrentConfig::new(2 * options.hidden).with_cell(options.cell),
    )
    .with_embedding_size(options.embedding)
    .with_attention(options.attention)
    .with_input_feeding(options.input_feeding)
    .with_dropout(options.dropout)
    .with_tie_embeddings(options.tie_embeddings)
}

//! The options of a character-model run, their defaults, and the model configuration they
//! describe.

use std::path::PathBuf;

use rnn_tasks::{CellKind, RecurrentConfig};

use super::model::CharLmConfig;
use crate::backend::Backend;

/// Everything a training run needs.
#[derive(Debug, Clone)]
pub struct CharLmOptions {
    /// The UTF-8 text.
    pub data: PathBuf,
    /// Where the model and its vocabulary are written.
    pub out: PathBuf,
    /// The backend.
    pub backend: Backend,
    /// The text's first [`QUICK_CHARS`] characters, a small model and two short epochs:
    /// proves the pipeline end to end in seconds.
    pub quick: bool,
    /// Seed of the initial weights and the dropout masks.
    pub seed: u64,
    /// The most epochs.
    pub epochs: usize,
    /// Updates per epoch (an epoch here is a fixed number of batches, not a pass over the
    /// text; the streams go on where the last epoch left them).
    pub epoch_updates: usize,
    /// Stop after this many epochs without lower validation bits per character.
    pub patience: usize,
    /// Recurrent cell.
    pub cell: CellKind,
    /// Stacked recurrent layers.
    pub layers: usize,
    /// Hidden units per layer.
    pub hidden: usize,
    /// Character embedding size.
    pub embedding: usize,
    /// Dropout on the embeddings, between the layers and before the output layer.
    pub dropout: f64,
    /// Adam's learning rate in the first epoch.
    pub learning_rate: f64,
    /// The learning rate is multiplied by this after each epoch.
    pub lr_decay: f64,
    /// The global gradient norm is clipped to this.
    pub clip_norm: f64,
    /// Streams read side by side.
    pub batch: usize,
    /// Characters per stream and batch: the span of backpropagation through time.
    pub chunk: usize,
    /// Fraction of the text held out for validation, before the test block.
    pub valid_fraction: f64,
    /// Fraction of the text held out for the test, at its end.
    pub test_fraction: f64,
    /// Order of the Kneser–Ney baseline.
    pub ngram_order: usize,
    /// Initial weights: a PyTorch `state_dict` of `examples/scripts/charlm_torch.py`'s model
    /// (its `--save-init`), instead of a draw from the seed.
    pub init_from: Option<PathBuf>,
    /// Print the loss of each of the first this many updates on its own line (to compare
    /// two runs update by update).
    pub print_updates: usize,
}

/// The characters a quick run reads from the start of its text.
pub const QUICK_CHARS: usize = 20_000;

impl Default for CharLmOptions {
    fn default() -> Self {
        Self {
            data: PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/data/text/kjv_bible.txt"
            )),
            out: PathBuf::from("runs/charlm"),
            backend: Backend::default(),
            quick: false,
            seed: 42,
            epochs: 40,
            epoch_updates: 150,
            patience: 5,
            cell: CellKind::Lstm,
            layers: 2,
            hidden: 128,
            embedding: 64,
            dropout: 0.0,
            learning_rate: 1e-2,
            lr_decay: 0.95,
            clip_norm: 1.0,
            batch: 32,
            chunk: 128,
            valid_fraction: 0.05,
            test_fraction: 0.05,
            ngram_order: 5,
            init_from: None,
            print_updates: 0,
        }
    }
}

impl CharLmOptions {
    /// The options a quick run really uses: a tiny model, short chunks and two epochs of
    /// five updates; the others unchanged.
    pub fn effective(&self) -> Self {
        if !self.quick {
            return self.clone();
        }
        Self {
            epochs: 2,
            epoch_updates: 5,
            layers: 1,
            hidden: 32,
            embedding: 16,
            batch: 8,
            chunk: 32,
            ..self.clone()
        }
    }

    /// The learning rate of epoch `epoch` (from 1): `learning_rate · lr_decay^(epoch − 1)`.
    pub fn epoch_learning_rate(&self, epoch: usize) -> f64 {
        self.learning_rate * self.lr_decay.powi(epoch as i32 - 1)
    }

    /// The model configuration for a vocabulary of `vocab_size` characters.
    pub fn model_config(&self, vocab_size: usize) -> CharLmConfig {
        CharLmConfig::new(
            vocab_size,
            self.embedding,
            RecurrentConfig::new(self.hidden)
                .with_cell(self.cell)
                .with_num_layers(self.layers)
                .with_dropout(self.dropout),
        )
        .with_dropout(self.dropout)
    }
}

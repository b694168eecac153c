//! The options of a run and their defaults.

use std::path::PathBuf;
use std::time::Duration;

use rnn_tasks::CellKind;

use super::cells::CELLS;
use super::task::Task;
use crate::backend::Backend;

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct XlstmOptions {
    /// The task.
    pub task: Task,
    /// The cells, trained one after the other on the same data.
    pub cells: Vec<CellKind>,
    /// Where burn-train's logs and checkpoints go (`OUT/TASK/CELL/training`).
    pub out: PathBuf,
    /// The backend.
    pub backend: Backend,
    /// A few steps on short sequences per cell: proves the pipeline in seconds.
    pub quick: bool,
    /// Seed of the data and the initial weights (the same for every cell).
    pub seed: u64,
    /// Training steps (batches) per cell.
    pub steps: usize,
    /// Steps per epoch: validation, checkpoint and a progress line after each.
    pub steps_per_epoch: usize,
    /// Hidden units per layer.
    pub hidden: usize,
    /// Stacked layers.
    pub layers: usize,
    /// Heads of the sLSTM and mLSTM cells.
    pub heads: usize,
    /// Token embedding size.
    pub embedding: usize,
    /// Examples per batch.
    pub batch_size: usize,
    /// Adam's learning rate (constant).
    pub learning_rate: f64,
    /// Validation examples (training lengths): they pick the epoch whose weights are tested.
    pub valid_size: usize,
    /// Test examples per range of lengths.
    pub test_size: usize,
    /// No epoch of a cell starts that would end after this much training time.
    pub time_budget: Option<Duration>,
}

impl Default for XlstmOptions {
    fn default() -> Self {
        Self {
            task: Task::Parity,
            cells: CELLS.to_vec(),
            out: PathBuf::from("runs/xlstm_tasks"),
            backend: Backend::default(),
            quick: false,
            seed: 42,
            steps: 2000,
            steps_per_epoch: 100,
            hidden: 64,
            layers: 1,
            heads: 4,
            embedding: 16,
            batch_size: 32,
            learning_rate: 2e-3,
            valid_size: 512,
            test_size: 1024,
            time_budget: None,
        }
    }
}

impl XlstmOptions {
    /// The options `--quick` runs with: 2 steps of 4 examples per cell, 8 validation and
    /// test examples per range (and short sequences: [`Task::lengths`]).
    pub fn quick(self) -> Self {
        Self {
            quick: true,
            steps: 2,
            steps_per_epoch: 2,
            batch_size: 4,
            valid_size: 8,
            test_size: 8,
            ..self
        }
    }
}

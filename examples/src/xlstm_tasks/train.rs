//! Training each cell with burn-train on the same synthetic data, keeping the epoch with
//! the best validation accuracy, and testing it on each range of lengths.

use std::time::Duration;

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::InMemDataset;
use burn::module::Module;
use rnn_tasks::CellKind;

use super::cells::network;
use super::data::{FreshDataset, TaskBatcher, examples, mix};
use super::evaluate::accuracy;
use super::model::TaskModel;
use super::options::XlstmOptions;
use crate::cli::cell_name;
use crate::training::{Monitor, TrainingPlan, fit};

/// What one cell's run measured.
#[derive(Debug, Clone)]
pub struct CellResult {
    /// The cell.
    pub cell: CellKind,
    /// Parameters of its network (embeddings and output layer not counted).
    pub parameters: usize,
    /// Training steps run.
    pub steps: usize,
    /// The step after which the kept weights were saved (the end of the best epoch).
    pub best_step: usize,
    /// Wall time of the training (validation included).
    pub train_time: Duration,
    /// Accuracy on each test range of [`Task::lengths`](super::Task::lengths).
    pub accuracies: Vec<f64>,
}

/// Seeds' purposes: the training stream, the validation set, the test sets.
const TRAIN: u64 = 1;
const VALID: u64 = 2;
const TEST: u64 = 3;

/// Trains and tests each of `options.cells` in turn, printing a header before each.
pub fn run(options: &XlstmOptions) -> Result<Vec<CellResult>, String> {
    if let super::Task::Mqar(mqar) = options.task {
        mqar.validate()?;
    }
    options
        .cells
        .iter()
        .map(|&cell| {
            println!("== {} on {} ==", cell_name(cell), options.task.name());
            let result = train_cell(cell, options)?;
            println!(
                "{}: {}",
                cell_name(cell),
                result
                    .accuracies
                    .iter()
                    .map(|a| format!("{a:.3}"))
                    .collect::<Vec<_>>()
                    .join(" / ")
            );
            Ok(result)
        })
        .collect()
}

/// Trains a network of `cell`s and tests it.
fn train_cell(cell: CellKind, options: &XlstmOptions) -> Result<CellResult, String> {
    let task = options.task;
    let lengths = task.lengths(options.quick);
    let device = options.backend.device();
    // Every cell starts from the same seed and reads the same examples.
    device.seed(options.seed);
    let autodiff = device.clone().autodiff();
    let width = if task.reads_previous_token() {
        2 * options.embedding
    } else {
        options.embedding
    };
    let encoder = network(cell, width, options.hidden, options.layers, options.heads)
        .try_init_kind(cell, &autodiff)
        .map_err(|e| e.to_string())?;
    let parameters = encoder.num_params();
    let model = TaskModel::new(
        encoder,
        task.vocab_size(),
        options.embedding,
        task.reads_previous_token(),
        task.classes(),
        &autodiff,
    )
    .map_err(|e| e.to_string())?;

    let train = FreshDataset::new(
        task,
        lengths.train.clone(),
        options.steps_per_epoch * options.batch_size,
        mix(&[options.seed, TRAIN]),
    );
    let valid = InMemDataset::new(examples(
        task,
        lengths.train.clone(),
        options.valid_size,
        mix(&[options.seed, VALID]),
    ));
    let loader = || DataLoaderBuilder::new(TaskBatcher).batch_size(options.batch_size);
    let epochs = options.steps.div_ceil(options.steps_per_epoch);
    let plan = TrainingPlan {
        directory: options
            .out
            .join(task.name())
            .join(cell_name(cell))
            .join("training"),
        epochs,
        learning_rate: options.learning_rate,
        clip_norm: 1.0,
        monitor: Monitor::Accuracy,
        // No early stopping: these tasks are often learnt suddenly, after a plateau.
        patience: epochs,
        time_budget: options.time_budget,
        pad_token: None,
    };
    let trained = fit(model, loader().build(train), loader().build(valid), &plan)?;

    let accuracies = lengths
        .tests
        .iter()
        .enumerate()
        .map(|(i, range)| {
            let set = examples(
                task,
                range.clone(),
                options.test_size,
                mix(&[options.seed, TEST, i as u64]),
            );
            accuracy(&trained.model, set, &device)
        })
        .collect();
    Ok(CellResult {
        cell,
        parameters,
        steps: trained.epochs_run * options.steps_per_epoch,
        best_step: trained.best_epoch * options.steps_per_epoch,
        train_time: trained.elapsed,
        accuracies,
    })
}

//! Sentiment classification (many-to-one) on the UCI labelled review sentences.
//!
//! `sentiment` (or `sentiment train`) trains a bidirectional LSTM classifier with burn-train
//! and prints its test accuracy; `sentiment predict "Great phone!" ...` classifies sentences
//! with the saved model; `sentiment evaluate --model DIR` scores it again on the test split;
//! `sentiment export --out DIR` writes the seeded split as token ids, for
//! `examples/scripts/sentiment_torch.py`.

use std::path::PathBuf;
use std::process::ExitCode;

use burn_rnn_examples::backend::Backend;
use burn_rnn_examples::cli::{
    HeldOutArgs, announce_training, cell_name, exit_code, parse_args, parse_cell, parse_pooling,
    parse_positive,
};
use burn_rnn_examples::sentiment::{
    AFINN_BASELINE, GroupAccuracy, SentimentOptions, SentimentPredictor, evaluate_saved,
    export_split, train,
};
use clap::{Args, Parser, Subcommand};
use rnn_tasks::{CellKind, Pooling};

#[derive(Parser)]
#[command(about = "Sentiment classification with a bidirectional recurrent network")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    train: TrainArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Train on the data, save the model, print the test accuracy (the default).
    Train(TrainArgs),
    /// Classify sentences with a saved model.
    Predict {
        /// The sentences.
        #[arg(required = true)]
        sentences: Vec<String>,
        /// The training run's output directory.
        #[arg(long, default_value = "runs/sentiment")]
        model: PathBuf,
        /// The backend.
        #[arg(long, value_enum, default_value_t = Backend::default())]
        backend: Backend,
    },
    /// Score a saved model on the test split that its training held out, through the saved
    /// files (the accuracies the training run printed); an error if the data or seed give
    /// another split.
    Evaluate {
        /// The training run's output directory.
        #[arg(long, default_value = "runs/sentiment")]
        model: PathBuf,
        #[command(flatten)]
        split: HeldOutArgs,
        /// The backend.
        #[arg(long, value_enum, default_value_t = Backend::default())]
        backend: Backend,
    },
    /// Write the seeded train/validation/test split as token ids (`PART.tsv`: class index,
    /// tab, ids) and `meta.json`, to train the same classifier with another framework
    /// (`examples/scripts/sentiment_torch.py`).
    Export {
        /// Where the files go.
        #[arg(long)]
        out: PathBuf,
        /// Labelled sentences, as `train --data` (default: the shipped UCI file).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Seed of the split, as `train --seed`.
        #[arg(long, default_value_t = SentimentOptions::default().seed)]
        seed: u64,
    },
}

#[derive(Args, Clone)]
struct TrainArgs {
    /// Labelled sentences: `source<TAB>label<TAB>text` or `label<TAB>text`, or the columns a
    /// header line names, e.g. `sentence<TAB>label` (default: the shipped UCI file).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Where the model, vocabulary and training logs go.
    #[arg(long, default_value = "runs/sentiment")]
    out: PathBuf,
    /// The backend.
    #[arg(long, value_enum, default_value_t = Backend::default())]
    backend: Backend,
    /// A tiny subset and one epoch, to check the pipeline.
    #[arg(long)]
    quick: bool,
    /// Seed of the split, the weights and the batch order.
    #[arg(long, default_value_t = SentimentOptions::default().seed)]
    seed: u64,
    /// The most epochs (training stops earlier when validation accuracy stalls).
    #[arg(long, default_value_t = SentimentOptions::default().epochs, value_parser = parse_positive)]
    epochs: usize,
    /// Recurrent cell: lstm, gru, elman, mingru, minlstm, slstm or mlstm.
    #[arg(long, value_parser = parse_cell, default_value = cell_name(SentimentOptions::default().cell))]
    cell: CellKind,
    /// Hidden units per direction.
    #[arg(long, default_value_t = SentimentOptions::default().hidden, value_parser = parse_positive)]
    hidden: usize,
    /// Pooling over time: last, mean, max or attention.
    #[arg(long, value_parser = parse_pooling, default_value = "max")]
    pooling: Pooling,
}

fn main() -> ExitCode {
    let cli = parse_args::<Cli>();
    let result = match cli.command {
        Some(Command::Predict {
            sentences,
            model,
            backend,
        }) => predict(&sentences, model, backend),
        Some(Command::Export { out, data, seed }) => {
            let mut options = SentimentOptions {
                seed,
                ..SentimentOptions::default()
            };
            if let Some(data) = data {
                options.data = data;
            }
            export_split(&options, &out).map(|[train, valid, test]| {
                println!(
                    "{train} train / {valid} validation / {test} test sentences written to {}",
                    out.display()
                )
            })
        }
        Some(Command::Evaluate {
            model,
            split,
            backend,
        }) => {
            let mut options = SentimentOptions {
                quick: split.quick,
                backend,
                ..SentimentOptions::default()
            };
            if let Some(data) = split.data {
                options.data = data;
            }
            evaluate_saved(&options, split.seed, &model).map(|test| print_test(&test))
        }
        Some(Command::Train(args)) => run_training(args),
        None => run_training(cli.train),
    };
    exit_code(result)
}

fn run_training(args: TrainArgs) -> Result<(), String> {
    let mut options = SentimentOptions {
        out: args.out,
        backend: args.backend,
        quick: args.quick,
        seed: args.seed,
        epochs: args.epochs,
        cell: args.cell,
        hidden: args.hidden,
        pooling: args.pooling,
        ..SentimentOptions::default()
    };
    announce_training(args.data, &mut options.data, options.backend);
    let report = train(&options)?;
    let [train, valid, test] = report.sizes;
    println!(
        "{train} train / {valid} validation / {test} test sentences, vocabulary {}; best epoch \
         {} of {}, {:.0} s of training",
        report.vocab_size,
        report.best_epoch,
        report.epochs_run,
        report.train_time.as_secs_f64()
    );
    print_test(&report.test);
    println!("model saved to {}", options.out.display());
    Ok(())
}

/// The test accuracy per source, then overall.
fn print_test(test: &[GroupAccuracy]) {
    for group in test.iter().skip(1) {
        let afinn = AFINN_BASELINE
            .iter()
            .find(|(source, _)| *source == group.group)
            .map_or(String::new(), |(_, a)| {
                format!(" (AFINN lexicon baseline: {a:.3})")
            });
        println!(
            "  {:<8} {:.3} on {} sentences{afinn}",
            group.group, group.accuracy, group.count
        );
    }
    let all = &test[0];
    println!(
        "test accuracy: {:.3} ({} sentences)",
        all.accuracy, all.count
    );
}

fn predict(sentences: &[String], model: PathBuf, backend: Backend) -> Result<(), String> {
    let predictor = SentimentPredictor::load(&model, backend)?;
    for (sentence, prediction) in sentences.iter().zip(predictor.predict(sentences)) {
        println!(
            "{}\t{:.3}\t{sentence}",
            prediction.label, prediction.probability
        );
    }
    Ok(())
}

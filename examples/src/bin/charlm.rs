//! A character-level language model (one-to-many) on the King James Bible.
//!
//! `charlm` (or `charlm train`) trains a stacked LSTM with truncated backpropagation through
//! time and prints its held-out bits per character beside a Kneser–Ney n-gram baseline's;
//! `charlm generate --prompt "In the beginning"` continues a prompt with the saved model;
//! `charlm export --out DIR` writes the split and vocabulary for another framework.

use std::path::PathBuf;
use std::process::ExitCode;

use burn_rnn_examples::backend::Backend;
use burn_rnn_examples::charlm::{CharGenerator, CharLmOptions, export_split, train};
use burn_rnn_examples::cli::{
    announce_training, cell_name, exit_code, parse_args, parse_cell, parse_decay, parse_dropout,
    parse_positive, parse_positive_number,
};
use clap::{Args, Parser, Subcommand};
use rnn_tasks::{CellKind, Sampling};

#[derive(Parser)]
#[command(about = "A character-level language model with a stacked recurrent network")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    train: TrainArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Train, save the model, print held-out bits per character (the default).
    Train(TrainArgs),
    /// Continue a prompt with a saved model.
    Generate {
        /// The text to continue.
        #[arg(long, default_value = "In the beginning")]
        prompt: String,
        /// The training run's output directory.
        #[arg(long, default_value = "runs/charlm")]
        model: PathBuf,
        /// Below 1 sharpens the distribution of each next character, above 1 flattens it.
        #[arg(long, default_value_t = 0.8, value_parser = parse_positive_number)]
        temperature: f64,
        /// Draw only from the k most likely characters (default: all).
        #[arg(long, value_parser = parse_positive)]
        top_k: Option<usize>,
        /// Characters to generate.
        #[arg(long, default_value_t = 300)]
        length: usize,
        /// Seed of the draws.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The backend.
        #[arg(long, value_enum, default_value_t = Backend::default())]
        backend: Backend,
    },
    /// Write the training, validation and test blocks (`train.txt`, `valid.txt`,
    /// `test.txt`) and the vocabulary (`vocab.json`), to train the same model with another
    /// framework (`examples/scripts/charlm_torch.py`).
    Export {
        /// The directory to write.
        #[arg(long)]
        out: PathBuf,
        /// The text (default: the shipped King James Bible).
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

#[derive(Args, Clone)]
struct TrainArgs {
    /// Any UTF-8 text (default: the shipped King James Bible).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Where the model, vocabulary and checkpoints go.
    #[arg(long, default_value = "runs/charlm")]
    out: PathBuf,
    /// The backend.
    #[arg(long, value_enum, default_value_t = Backend::default())]
    backend: Backend,
    /// The text's first 20,000 characters, a tiny model and two epochs of five updates, to
    /// check the pipeline.
    #[arg(long)]
    quick: bool,
    /// Seed of the weights and the dropout.
    #[arg(long, default_value_t = CharLmOptions::default().seed)]
    seed: u64,
    /// The most epochs (training stops earlier when validation bits/char stall).
    #[arg(long, default_value_t = CharLmOptions::default().epochs, value_parser = parse_positive)]
    epochs: usize,
    /// Updates (batches) per epoch.
    #[arg(long, default_value_t = CharLmOptions::default().epoch_updates, value_parser = parse_positive)]
    epoch_updates: usize,
    /// Epochs without lower validation bits/char before training stops.
    #[arg(long, default_value_t = CharLmOptions::default().patience, value_parser = parse_positive)]
    patience: usize,
    /// Recurrent cell: lstm, gru, elman, mingru, minlstm, slstm or mlstm.
    #[arg(long, value_parser = parse_cell, default_value = cell_name(CharLmOptions::default().cell))]
    cell: CellKind,
    /// Stacked recurrent layers.
    #[arg(long, default_value_t = CharLmOptions::default().layers, value_parser = parse_positive)]
    layers: usize,
    /// Hidden units per layer.
    #[arg(long, default_value_t = CharLmOptions::default().hidden, value_parser = parse_positive)]
    hidden: usize,
    /// Character embedding size.
    #[arg(long, default_value_t = CharLmOptions::default().embedding, value_parser = parse_positive)]
    embedding: usize,
    /// Dropout on embeddings, between layers and before the output layer.
    #[arg(long, default_value_t = CharLmOptions::default().dropout, value_parser = parse_dropout)]
    dropout: f64,
    /// Adam's learning rate in the first epoch.
    #[arg(long, default_value_t = CharLmOptions::default().learning_rate, value_parser = parse_positive_number)]
    learning_rate: f64,
    /// The learning rate is multiplied by this after each epoch.
    #[arg(long, default_value_t = CharLmOptions::default().lr_decay, value_parser = parse_decay)]
    lr_decay: f64,
    /// Streams per batch.
    #[arg(long, default_value_t = CharLmOptions::default().batch, value_parser = parse_positive)]
    batch: usize,
    /// Characters per stream and batch (the span of backpropagation through time).
    #[arg(long, default_value_t = CharLmOptions::default().chunk, value_parser = parse_positive)]
    chunk: usize,
    /// Start from these weights instead of a seeded draw: the PyTorch state dict that
    /// `examples/scripts/charlm_torch.py --save-init` writes (safetensors or .pt).
    #[arg(long)]
    init_from: Option<PathBuf>,
    /// Print the loss of each of the first N updates on its own line.
    #[arg(long, default_value_t = 0)]
    print_updates: usize,
}

fn main() -> ExitCode {
    let cli = parse_args::<Cli>();
    let result = match cli.command {
        Some(Command::Generate {
            prompt,
            model,
            temperature,
            top_k,
            length,
            seed,
            backend,
        }) => generate(
            &prompt,
            model,
            backend,
            length,
            &Sampling::Random {
                temperature,
                top_k,
                seed,
            },
        ),
        Some(Command::Export { out, data }) => export(out, data),
        Some(Command::Train(args)) => run_training(args),
        None => run_training(cli.train),
    };
    exit_code(result)
}

fn run_training(args: TrainArgs) -> Result<(), String> {
    let mut options = CharLmOptions {
        out: args.out,
        backend: args.backend,
        quick: args.quick,
        seed: args.seed,
        epochs: args.epochs,
        epoch_updates: args.epoch_updates,
        patience: args.patience,
        cell: args.cell,
        layers: args.layers,
        hidden: args.hidden,
        embedding: args.embedding,
        dropout: args.dropout,
        learning_rate: args.learning_rate,
        lr_decay: args.lr_decay,
        batch: args.batch,
        chunk: args.chunk,
        init_from: args.init_from,
        print_updates: args.print_updates,
        ..CharLmOptions::default()
    };
    announce_training(args.data, &mut options.data, options.backend);
    let report = train(&options)?;
    let [train, valid, test] = report.sizes;
    println!(
        "{train} training / {valid} validation / {test} test characters, vocabulary {}; \
         validation from {:?} to {:?}, test from {:?} to {:?}",
        report.vocab_size,
        report.held_out_lines[0][0],
        report.held_out_lines[0][1],
        report.held_out_lines[1][0],
        report.held_out_lines[1][1],
    );
    println!(
        "best epoch {} of {} ({} updates), {:.0} s of training",
        report.best_epoch,
        report.epochs_run,
        report.updates,
        report.train_time.as_secs_f64()
    );
    println!(
        "test bits/char: {:.4} (validation {:.4}); {}-gram Kneser-Ney baseline: {:.4} \
         (validation {:.4})",
        report.model.test,
        report.model.valid,
        CharLmOptions::default().ngram_order,
        report.ngram.test,
        report.ngram.valid
    );
    println!("model saved to {}", options.out.display());
    Ok(())
}

fn generate(
    prompt: &str,
    model: PathBuf,
    backend: Backend,
    length: usize,
    sampling: &Sampling,
) -> Result<(), String> {
    let generator = CharGenerator::load(&model, backend)?;
    let text = generator.continue_text(prompt, length, sampling)?;
    println!("{prompt}{text}");
    Ok(())
}

fn export(out: PathBuf, data: Option<PathBuf>) -> Result<(), String> {
    let mut options = CharLmOptions::default();
    if let Some(data) = data {
        options.data = data;
    }
    let [train, valid, test] = export_split(&options, &out)?;
    println!(
        "wrote {train} training, {valid} validation and {test} test characters and the \
         vocabulary to {}",
        out.display()
    );
    Ok(())
}

//! The xLSTM paper's synthetic tasks in small, for LSTM, GRU, sLSTM, mLSTM, minGRU and
//! minLSTM side by side.
//!
//! `xlstm_tasks --task parity` trains each cell on bit strings of 1–40 bits and tests it on
//! 1–40 and 41–256 (length generalisation); `--task modarith` does the same with sums and
//! differences of digits mod 5; `--task mqar` trains multi-query associative recall. The
//! results are printed as a markdown table.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use burn_rnn_examples::backend::Backend;
use burn_rnn_examples::cli::{
    cell_name, exit_code, parse_args, parse_cell, parse_minutes, parse_positive,
};
use burn_rnn_examples::xlstm_tasks::{Mqar, Task, XlstmOptions, results_table, run};
use clap::{Parser, ValueEnum};
use rnn_tasks::CellKind;

#[derive(Parser)]
#[command(about = "The xLSTM paper's formal-language and associative-recall tasks, per cell")]
struct Cli {
    /// The task.
    #[arg(long, value_enum, default_value = "parity")]
    task: TaskName,
    /// The cells, comma-separated: lstm, gru, elman, mingru, minlstm, slstm, mlstm.
    #[arg(
        long,
        value_parser = parse_cell,
        value_delimiter = ',',
        default_value = "lstm,gru,slstm,mlstm,mingru,minlstm"
    )]
    cells: Vec<CellKind>,
    /// Training steps (batches of 32) per cell, rounded up to whole epochs of 100.
    #[arg(long, default_value_t = XlstmOptions::default().steps, value_parser = parse_positive)]
    steps: usize,
    /// Hidden units per layer.
    #[arg(long, default_value_t = XlstmOptions::default().hidden, value_parser = parse_positive)]
    hidden: usize,
    /// Stacked layers.
    #[arg(long, default_value_t = XlstmOptions::default().layers, value_parser = parse_positive)]
    layers: usize,
    /// Heads of the sLSTM and mLSTM cells (must divide --hidden).
    #[arg(long, default_value_t = XlstmOptions::default().heads, value_parser = parse_positive)]
    heads: usize,
    /// MQAR: key-value pairs per sequence (of 16 keys).
    #[arg(long, default_value_t = Mqar::default().pairs, value_parser = parse_positive)]
    pairs: usize,
    /// Training time budget per cell, in minutes: no epoch starts that would end after it.
    #[arg(long, value_parser = parse_minutes)]
    minutes: Option<Duration>,
    /// Seed of the data and the initial weights.
    #[arg(long, default_value_t = XlstmOptions::default().seed)]
    seed: u64,
    /// Where burn-train's logs and checkpoints go.
    #[arg(long, default_value = "runs/xlstm_tasks")]
    out: PathBuf,
    /// The backend.
    #[arg(long, value_enum, default_value_t = Backend::default())]
    backend: Backend,
    /// A few steps on short sequences per cell, to check the pipeline.
    #[arg(long)]
    quick: bool,
}

/// The `--task` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum TaskName {
    /// Parity of a bit string.
    Parity,
    /// Digits 0–4 with + and −, mod 5.
    Modarith,
    /// Multi-query associative recall.
    Mqar,
}

fn main() -> ExitCode {
    exit_code(run_tasks(parse_args::<Cli>()))
}

fn run_tasks(cli: Cli) -> Result<(), String> {
    let task = match cli.task {
        TaskName::Parity => Task::Parity,
        TaskName::Modarith => Task::ModArith,
        TaskName::Mqar => Task::Mqar(Mqar {
            pairs: cli.pairs,
            ..Mqar::default()
        }),
    };
    if let Some(cell) = cli
        .cells
        .iter()
        .enumerate()
        .find_map(|(i, c)| cli.cells[..i].contains(c).then_some(c))
    {
        return Err(format!("--cells: {} is listed twice", cell_name(*cell)));
    }
    let options = XlstmOptions {
        task,
        cells: cli.cells,
        out: cli.out,
        backend: cli.backend,
        seed: cli.seed,
        steps: cli.steps,
        hidden: cli.hidden,
        layers: cli.layers,
        heads: cli.heads,
        time_budget: cli.minutes,
        ..XlstmOptions::default()
    };
    let options = if cli.quick { options.quick() } else { options };
    println!(
        "{} for {} ({:?}; {} steps of {} per cell, hidden {}, {} layer(s))",
        task.name(),
        options
            .cells
            .iter()
            .map(|&c| cell_name(c))
            .collect::<Vec<_>>()
            .join(", "),
        options.backend,
        options.steps,
        options.batch_size,
        options.hidden,
        options.layers
    );
    let start = Instant::now();
    let results = run(&options)?;
    println!();
    println!(
        "{}",
        results_table(task, &task.lengths(options.quick).tests, &results)
    );
    println!();
    println!("{:.0} s in all", start.elapsed().as_secs_f64());
    Ok(())
}

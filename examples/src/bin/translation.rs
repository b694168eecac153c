//! German → English translation (sequence to sequence with attention) on the Ding
//! dictionary's example sentences.
//!
//! `translation` (or `translation train`) trains an encoder–decoder with burn-train, then
//! prints test BLEU for greedy decoding and beam search and writes attention heatmaps;
//! `translation translate "Wie spät ist es?" ...` translates with the saved model;
//! `translation export --out DIR` writes the split and its tokens for another framework.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use burn_rnn_examples::backend::Backend;
use burn_rnn_examples::cli::{
    HeldOutArgs, announce_training, cell_name, exit_code, parse_args, parse_attention, parse_cell,
    parse_dropout, parse_minutes, parse_positive, parse_probability,
};
use burn_rnn_examples::heatmap::require_font;
use burn_rnn_examples::translation::{
    Evaluation, TranslationOptions, Translator, evaluate_saved, export_split, train,
};
use clap::{Args, Parser, Subcommand};
use rnn_tasks::{AttentionKind, CellKind};

#[derive(Parser)]
#[command(about = "German-English translation with an attentional encoder-decoder")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    train: TrainArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Train, save the model, print test BLEU and write attention heatmaps (the default).
    Train(TrainArgs),
    /// Score a saved model on the test split that its training held out (an error if the data
    /// or seed give another): BLEU of greedy decoding and beam search, heatmaps.
    Evaluate {
        /// The training run's output directory.
        #[arg(long, default_value = "runs/translation")]
        model: PathBuf,
        /// Where the heatmaps go (default: the model's directory).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        split: HeldOutArgs,
        /// Beam width.
        #[arg(long, default_value_t = 5, value_parser = parse_positive)]
        beam: usize,
        /// The backend.
        #[arg(long, value_enum, default_value_t = Backend::default())]
        backend: Backend,
    },
    /// Write the seeded train/validation/test split with its subword tokens (`PART.src`,
    /// `PART.tgt`) and BLEU's reference words (`PART.ref`), to train the same model with
    /// another framework (`examples/scripts/translation_torch.py`).
    Export {
        /// The directory to write.
        #[arg(long)]
        out: PathBuf,
        /// Sentence pairs (default: the shipped Ding file).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Seed of the split.
        #[arg(long, default_value_t = TranslationOptions::default().seed)]
        seed: u64,
        /// BPE merges learnt per language (0: whole words).
        #[arg(long, default_value_t = TranslationOptions::default().bpe_merges)]
        bpe: usize,
    },
    /// Translate sentences with a saved model.
    Translate {
        /// The sentences.
        #[arg(required = true)]
        sentences: Vec<String>,
        /// The training run's output directory.
        #[arg(long, default_value = "runs/translation")]
        model: PathBuf,
        /// Beam width (1: greedy decoding).
        #[arg(long, default_value_t = 5, value_parser = parse_positive)]
        beam: usize,
        /// Also write the attention heatmap of each sentence to this directory.
        #[arg(long)]
        heatmaps: Option<PathBuf>,
        /// The backend.
        #[arg(long, value_enum, default_value_t = Backend::default())]
        backend: Backend,
    },
}

#[derive(Args, Clone)]
struct TrainArgs {
    /// Sentence pairs, `source<TAB>target` per line (default: the shipped Ding file).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Where the model, vocabularies, heatmaps and training logs go.
    #[arg(long, default_value = "runs/translation")]
    out: PathBuf,
    /// The backend.
    #[arg(long, value_enum, default_value_t = Backend::default())]
    backend: Backend,
    /// A tiny subset and one epoch, to check the pipeline.
    #[arg(long)]
    quick: bool,
    /// Seed of the split, the weights and the batch order.
    #[arg(long, default_value_t = TranslationOptions::default().seed)]
    seed: u64,
    /// The most epochs (training stops earlier when validation loss stalls).
    #[arg(long, default_value_t = TranslationOptions::default().epochs, value_parser = parse_positive)]
    epochs: usize,
    /// Stop after this many epochs without a lower validation loss.
    #[arg(long, default_value_t = TranslationOptions::default().patience, value_parser = parse_positive)]
    patience: usize,
    /// Training time budget in minutes: no epoch starts that would end after it.
    #[arg(long, default_value = "30", value_parser = parse_minutes)]
    minutes: Duration,
    /// Attention: luong (general score), luong-dot or bahdanau.
    #[arg(long, value_parser = parse_attention, default_value = "luong")]
    attention: AttentionKind,
    /// Feed the previous attentional state to the decoder (slower to train).
    #[arg(long)]
    input_feeding: bool,
    /// Recurrent cell: lstm, gru, elman, mingru, minlstm, slstm or mlstm.
    #[arg(long, value_parser = parse_cell, default_value = cell_name(TranslationOptions::default().cell))]
    cell: CellKind,
    /// Hidden units per encoder direction (the decoder has twice as many).
    #[arg(long, default_value_t = TranslationOptions::default().hidden, value_parser = parse_positive)]
    hidden: usize,
    /// BPE merges learnt per language (0: whole words).
    #[arg(long, default_value_t = TranslationOptions::default().bpe_merges)]
    bpe: usize,
    /// Label smoothing of the training loss, in [0, 1].
    #[arg(long, default_value_t = TranslationOptions::default().label_smoothing, value_parser = parse_probability)]
    label_smoothing: f64,
    /// Dropout on embeddings and before the output layer, in [0, 1).
    #[arg(long, default_value_t = TranslationOptions::default().dropout, value_parser = parse_dropout)]
    dropout: f64,
    /// Word dropout: probability that a training token (source, or decoder input) is read
    /// as `<unk>`, in [0, 1).
    #[arg(long, default_value_t = TranslationOptions::default().word_dropout, value_parser = parse_dropout)]
    word_dropout: f64,
    /// Tie the output layer to the target embedding (`h̃` then has the embedding's size).
    #[arg(long)]
    tie_embeddings: bool,
    /// Beam width of the evaluation.
    #[arg(long, default_value_t = 5, value_parser = parse_positive)]
    beam: usize,
}

fn main() -> ExitCode {
    let cli = parse_args::<Cli>();
    let result = match cli.command {
        Some(Command::Translate {
            sentences,
            model,
            beam,
            heatmaps,
            backend,
        }) => translate(&sentences, model, beam, heatmaps, backend),
        Some(Command::Evaluate {
            model,
            out,
            split,
            beam,
            backend,
        }) => {
            let mut options = TranslationOptions {
                out: out.unwrap_or_else(|| model.clone()),
                backend,
                quick: split.quick,
                beam_size: beam,
                ..TranslationOptions::default()
            };
            if let Some(data) = split.data {
                options.data = data;
            }
            evaluate_saved(&options, split.seed, &model)
                .map(|evaluation| print_evaluation(&evaluation))
        }
        Some(Command::Export {
            out,
            data,
            seed,
            bpe,
        }) => {
            let mut options = TranslationOptions {
                seed,
                bpe_merges: bpe,
                ..TranslationOptions::default()
            };
            if let Some(data) = data {
                options.data = data;
            }
            export_split(&options, &out).map(|[train, valid, test]| {
                println!(
                    "{train} train / {valid} validation / {test} test pairs written to {}",
                    out.display()
                )
            })
        }
        Some(Command::Train(args)) => run_training(args),
        None => run_training(cli.train),
    };
    exit_code(result)
}

fn run_training(args: TrainArgs) -> Result<(), String> {
    let mut options = TranslationOptions {
        out: args.out,
        backend: args.backend,
        quick: args.quick,
        seed: args.seed,
        epochs: args.epochs,
        patience: args.patience,
        time_budget: Some(args.minutes),
        attention: args.attention,
        input_feeding: args.input_feeding,
        cell: args.cell,
        hidden: args.hidden,
        bpe_merges: args.bpe,
        label_smoothing: args.label_smoothing,
        dropout: args.dropout,
        word_dropout: args.word_dropout,
        tie_embeddings: args.tie_embeddings,
        beam_size: args.beam,
        ..TranslationOptions::default()
    };
    announce_training(args.data, &mut options.data, options.backend);
    let report = train(&options)?;
    let [train, valid, test] = report.sizes;
    println!(
        "{train} train / {valid} validation / {test} test pairs, vocabularies {} / {}; best \
         epoch {} of {}, {:.0} s of training",
        report.vocab_sizes[0],
        report.vocab_sizes[1],
        report.best_epoch,
        report.epochs_run,
        report.train_time.as_secs_f64()
    );
    print_evaluation(&report.evaluation);
    println!("model saved to {}", options.out.display());
    Ok(())
}

fn print_evaluation(evaluation: &Evaluation) {
    for [source, reference, translation] in &evaluation.samples {
        println!("  {source}\n    reference: {reference}\n    beam:      {translation}");
    }
    for path in &evaluation.heatmaps {
        println!("attention heatmap: {}", path.display());
    }
    for score in &evaluation.scores {
        let time = score.time.as_secs_f64();
        let steps = score.steps.map_or(String::new(), |steps| {
            format!(
                ": {steps} decoder steps, {:.2} ms each",
                1e3 * time / steps.max(1) as f64
            )
        });
        println!(
            "test BLEU ({}): {:.2} ({:.2} without <unk> replacement; sacreBLEU {:.2}; {time:.1} s to decode the test set{steps})",
            score.method, score.bleu, score.bleu_raw, score.sacre_bleu,
        );
    }
}

fn translate(
    sentences: &[String],
    model: PathBuf,
    beam: usize,
    heatmaps: Option<PathBuf>,
    backend: Backend,
) -> Result<(), String> {
    if heatmaps.is_some() {
        // Before the model is loaded and the sentences translated, not after.
        require_font()?;
    }
    let translator = Translator::load(&model, backend)?;
    let beam = (beam > 1).then_some(beam);
    for (i, (sentence, translation)) in sentences
        .iter()
        .zip(translator.translate(sentences, beam, 60))
        .enumerate()
    {
        println!("{sentence}\n  → {}", translation.text);
        if let Some(dir) = &heatmaps {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("--heatmaps {}: {e}", dir.display()))?;
            let path = dir.join(format!("attention-{i}.png"));
            translation.write_heatmap(&path)?;
            println!("  attention heatmap: {}", path.display());
        }
    }
    Ok(())
}

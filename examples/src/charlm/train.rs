//! Training a character model with truncated backpropagation through time: the training
//! block read as contiguous streams, the state carried (detached) from batch to batch, Adam
//! with the global gradient norm clipped; bits per character on the validation block after
//! each epoch, checkpoints, early stopping, and the best epoch's weights kept.
//!
//! The loop is written here rather than run by burn-train's `Learner`: a `TrainStep` maps a
//! batch to an output with nothing carried between batches, and its data loaders may reorder
//! batches, while this training needs each batch's final state as the next batch's initial
//! state, in stream order.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use burn::module::Module;

use super::data::CharData;
use super::evaluate::{model_bits_per_char, ngram_bits_per_char};
use super::ngram::KneserNey;
use super::options::CharLmOptions;
use super::streams::Streams;
use super::tbptt::Tbptt;
use crate::files::save_model;
use crate::training::{checkpoint_path, load_module};

/// Bits per character of one model on the held-out blocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeldOut {
    /// On the validation block.
    pub valid: f64,
    /// On the test block.
    pub test: f64,
}

/// What a training run measured.
#[derive(Debug, Clone)]
pub struct CharLmReport {
    /// Characters in the training, validation and test blocks.
    pub sizes: [usize; 3],
    /// The first and last line of the validation and of the test block (where the cuts are).
    pub held_out_lines: [[String; 2]; 2],
    /// Characters in the vocabulary (the unknown symbol included).
    pub vocab_size: usize,
    /// The recurrent model.
    pub model: HeldOut,
    /// The Kneser–Ney baseline of the options' order.
    pub ngram: HeldOut,
    /// Updates run.
    pub updates: usize,
    /// The epoch whose weights were kept.
    pub best_epoch: usize,
    /// Epochs run.
    pub epochs_run: usize,
    /// Wall time of the training (validation included; the n-gram baseline not).
    pub train_time: Duration,
}

/// Trains a character model on `options.data`, writes it to `options.out`, and measures it
/// and the n-gram baseline on the held-out blocks.
pub fn train(options: &CharLmOptions) -> Result<CharLmReport, String> {
    let options = options.effective();
    let data = CharData::load(&options)?;
    let vocab_size = data.vocab.len();
    let (batch, chunk) = (options.batch, options.chunk);

    let ngram = KneserNey::train(&data.train, options.ngram_order, vocab_size);
    let ngram = HeldOut {
        valid: ngram_bits_per_char(&ngram, &data.valid, batch),
        test: ngram_bits_per_char(&ngram, &data.test, batch),
    };
    println!(
        "{}-gram Kneser-Ney baseline: {:.4} bits/char on validation, {:.4} on test",
        options.ngram_order, ngram.valid, ngram.test
    );

    let device = options.backend.device();
    device.seed(options.seed);
    let config = options.model_config(vocab_size);
    let mut model = config
        .try_init(&device.clone().autodiff())
        .map_err(|e| e.to_string())?;
    if let Some(path) = &options.init_from {
        model = model.load_pytorch(path)?;
    }
    let mut tbptt = Tbptt::new(options.learning_rate, options.clip_norm);
    let streams = Streams::new(&data.train, batch, chunk).expect("checked by CharData");
    let directory = options.out.join("training");
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let start = Instant::now();
    let (mut best, mut best_epoch, mut epochs_run) = (f64::INFINITY, 0, 0);
    for epoch in 1..=options.epochs {
        let epoch_start = Instant::now();
        let mut loss_sum = 0.0;
        tbptt.set_learning_rate(options.epoch_learning_rate(epoch));
        for update in 0..options.epoch_updates {
            let loss;
            (model, loss) = tbptt.update(model, &streams);
            loss_sum += loss;
            if tbptt.updates() <= options.print_updates {
                println!("update {:>5}: loss {loss:.8}", tbptt.updates());
            } else if terminal {
                print!(
                    "\repoch {epoch:>3}: update {:>5}/{}  loss {loss:.4}  ",
                    update + 1,
                    options.epoch_updates
                );
                let _ = std::io::stdout().flush();
            }
        }
        let valid = model_bits_per_char(&model.valid(), &data.valid, batch, chunk, &device);
        let train_loss = loss_sum / options.epoch_updates as f64;
        epochs_run = epoch;
        let improved = valid < best;
        let previous_best = best_epoch;
        if improved {
            best = valid;
            best_epoch = epoch;
        }
        keep_checkpoints(&directory, &model, epoch, best_epoch, previous_best)?;
        if terminal {
            print!("\r");
        }
        println!(
            "epoch {epoch:>3}: train loss {train_loss:.4} ({:.4} bits/char) | valid {valid:.4} \
             bits/char | {:.0} s{}",
            train_loss / std::f64::consts::LN_2,
            epoch_start.elapsed().as_secs_f64(),
            if improved { " (best)" } else { "" }
        );
        if !valid.is_finite() {
            return Err(format!(
                "training diverged: validation bits/char {valid} at epoch {epoch}"
            ));
        }
        if epoch >= best_epoch.saturating_add(options.patience) {
            println!("stopping: no lower validation bits/char since epoch {best_epoch}");
            break;
        }
    }
    let train_time = start.elapsed();
    let model = load_module(model, &checkpoint_path(&directory, best_epoch))?.valid();
    save_model(&options.out, model.clone(), &config)?;
    data.vocab.save(&options.out.join("vocab.json"))?;
    let held_out = HeldOut {
        valid: best,
        test: model_bits_per_char(&model, &data.test, batch, chunk, &device),
    };
    let edge_lines = |block: &str| {
        let mut lines = block.lines().filter(|l| !l.is_empty());
        let first = lines.next().unwrap_or_default().to_string();
        let last = lines.next_back().map_or(first.clone(), str::to_string);
        [first, last]
    };
    Ok(CharLmReport {
        sizes: data.split.sizes(),
        held_out_lines: [edge_lines(&data.split.valid), edge_lines(&data.split.test)],
        vocab_size,
        model: held_out,
        ngram,
        updates: tbptt.updates(),
        best_epoch,
        epochs_run,
        train_time,
    })
}

/// Saves `epoch`'s weights and keeps at most two checkpoints: the best epoch's and the last
/// one's (`previous_best`: the best epoch before this one, 0 for none).
fn keep_checkpoints<M: Module>(
    directory: &Path,
    model: &M,
    epoch: usize,
    best_epoch: usize,
    previous_best: usize,
) -> Result<(), String> {
    let path = checkpoint_path(directory, epoch);
    let folder = path.parent().expect("a checkpoint folder");
    std::fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    model
        .clone()
        .save_file(&path)
        .map_err(|e| format!("{}: {e:?}", path.display()))?;
    let mut stale = Vec::new();
    if epoch > 1 && epoch - 1 != best_epoch {
        stale.push(epoch - 1);
    }
    if best_epoch == epoch && previous_best != 0 && previous_best != epoch - 1 {
        stale.push(previous_best);
    }
    for old in stale {
        let path = checkpoint_path(directory, old);
        std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

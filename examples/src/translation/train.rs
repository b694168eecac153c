//! Training a translation model: the pairs encoded with the tokens learnt from the training
//! split, burn-train with teacher forcing on length-bucketed batches, the model and its
//! vocabularies saved, test BLEU measured.

use std::sync::Arc;
use std::time::Duration;

use burn::data::dataloader::DataLoader;

use super::corpus::{held_out, learn_tokens, split_pairs};
use super::data::Pair;
use super::evaluate::{Evaluation, evaluate, require_heatmap_font};
use super::model::{TranslationBatcher, TranslationItem, TranslationModel, length_buckets};
use super::options::{TranslationOptions, model_config};
use super::translator::Translator;
use crate::epoch_batches::EpochBatches;
use crate::files::save_model;
use crate::text::Vocab;
use crate::training::{Monitor, TrainingPlan, fit};

/// What a training run measured.
#[derive(Debug, Clone)]
pub struct TranslationReport {
    /// Pairs in the train, validation and test splits.
    pub sizes: [usize; 3],
    /// Source and target vocabulary sizes.
    pub vocab_sizes: [usize; 2],
    /// Test BLEU, sample translations and heatmaps.
    pub evaluation: Evaluation,
    /// The epoch whose weights were kept.
    pub best_epoch: usize,
    /// Epochs run.
    pub epochs_run: usize,
    /// Training wall time.
    pub train_time: Duration,
}

/// Trains a translation model on `options.data`, writes it to `options.out`, and measures
/// test BLEU of greedy decoding and beam search.
pub fn train(options: &TranslationOptions) -> Result<TranslationReport, String> {
    require_heatmap_font(options)?;
    let parts = split_pairs(options)?;
    let (source_segmenter, source_vocab) = learn_tokens(&parts.train, |p| &p.source, options);
    let (target_segmenter, target_vocab) = learn_tokens(&parts.train, |p| &p.target, options);
    let items = |pairs: &[Pair]| -> Vec<TranslationItem> {
        pairs
            .iter()
            .map(|p| TranslationItem {
                source: source_vocab.encode(&source_segmenter.tokens(&p.source)),
                target: target_vocab.encode(&target_segmenter.tokens(&p.target)),
            })
            .collect()
    };

    let device = options.backend.device();
    // Parameters are created on the autodiff device, so burn-train can track their gradients.
    device.seed(options.seed);
    let config = model_config(options, source_vocab.len(), target_vocab.len());
    let model = TranslationModel {
        seq2seq: config
            .try_init(&device.clone().autodiff())
            .map_err(|e| e.to_string())?,
        label_smoothing: options.label_smoothing,
    };
    // Batches of similar lengths (`length_buckets`): drawn anew every epoch for training (as
    // the PyTorch script does), the same every epoch for validation.
    let (batch_size, seed) = (options.batch_size, options.seed);
    let batches = |items: Vec<TranslationItem>, train: bool| -> Arc<dyn DataLoader<_>> {
        let batcher = if train {
            TranslationBatcher::with_word_dropout(options.word_dropout, seed)
        } else {
            TranslationBatcher::default()
        };
        let epoch_seed = move |epoch: u64| {
            if train {
                seed.wrapping_add(epoch)
            } else {
                seed
            }
        };
        Arc::new(EpochBatches::new(
            items,
            move |items, epoch| length_buckets(items, batch_size, epoch_seed(epoch)),
            batcher,
        ))
    };

    let plan = TrainingPlan {
        time_budget: options.time_budget,
        // Accuracy over the predicted tokens, not over the padding past each target.
        pad_token: Some(Vocab::PAD),
        ..TrainingPlan::new(
            &options.out,
            options.quick,
            options.epochs,
            options.learning_rate,
            Monitor::Loss,
            options.patience,
        )
    };
    let trained = fit(
        model,
        batches(items(&parts.train), true),
        batches(items(&parts.valid), false),
        &plan,
    )?;

    save_model(&options.out, trained.model.clone(), &config)?;
    source_vocab.save(&options.out.join("source_vocab.json"))?;
    target_vocab.save(&options.out.join("target_vocab.json"))?;
    source_segmenter.save(&options.out.join("source_bpe.json"))?;
    target_segmenter.save(&options.out.join("target_bpe.json"))?;
    held_out(options, &parts.test).save(&options.out)?;

    let translator = Translator {
        model: trained.model.seq2seq,
        source_segmenter,
        target_segmenter,
        source_vocab,
        target_vocab,
        device,
    };
    let evaluation = evaluate(&translator, &parts.test, options)?;
    Ok(TranslationReport {
        sizes: [parts.train.len(), parts.valid.len(), parts.test.len()],
        vocab_sizes: [translator.source_vocab.len(), translator.target_vocab.len()],
        evaluation,
        best_epoch: trained.best_epoch,
        epochs_run: trained.epochs_run,
        train_time: trained.elapsed,
    })
}

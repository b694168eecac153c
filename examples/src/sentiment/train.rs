//! Training a sentiment classifier: the sentences encoded with the vocabulary of the training
//! split, burn-train with early stopping on validation accuracy, the model, vocabulary and
//! classes saved, test accuracy measured.

use std::time::Duration;

use super::corpus::{Corpus, held_out};
use super::data::Example;
use super::evaluate::{GroupAccuracy, test_accuracy};
use super::model::{SentimentBatcher, SentimentItem, SentimentModel};
use super::options::{SentimentOptions, model_config};
use crate::files::{save_model, write_json};
use crate::training::{Monitor, TrainingPlan, fit, loader};

/// What a training run measured.
#[derive(Debug, Clone)]
pub struct SentimentReport {
    /// Sentences in the train, validation and test splits.
    pub sizes: [usize; 3],
    /// Vocabulary size (reserved tokens included).
    pub vocab_size: usize,
    /// Test accuracy overall (first) and per source.
    pub test: Vec<GroupAccuracy>,
    /// The epoch whose weights were kept, and the epochs run.
    pub best_epoch: usize,
    /// Epochs run.
    pub epochs_run: usize,
    /// Training wall time.
    pub train_time: Duration,
}

/// Trains a classifier on `options.data`, writes it to `options.out`, and measures it on the
/// held-out test split.
pub fn train(options: &SentimentOptions) -> Result<SentimentReport, String> {
    let corpus = Corpus::read(options)?;
    let (parts, vocab, classes) = (&corpus.parts, &corpus.vocab, &corpus.classes);
    let items = |examples: &[Example]| corpus.items(examples);

    let device = options.backend.device();
    // Parameters are created on the autodiff device, so burn-train can track their gradients.
    device.seed(options.seed);
    let config = model_config(options, vocab.len(), classes.len());
    let model = SentimentModel {
        classifier: config
            .try_init(&device.clone().autodiff())
            .map_err(|e| e.to_string())?,
    };
    let batches = |items: Vec<SentimentItem>, shuffle: bool| {
        loader(
            SentimentBatcher,
            items,
            options.batch_size,
            shuffle.then_some(options.seed),
        )
    };
    let plan = TrainingPlan::new(
        &options.out,
        options.quick,
        options.epochs,
        options.learning_rate,
        Monitor::Accuracy,
        options.patience,
    );
    let trained = fit(
        model,
        batches(items(&parts.train), true),
        batches(items(&parts.valid), false),
        &plan,
    )?;

    save_model(&options.out, trained.model.clone(), &config)?;
    vocab.save(&options.out.join("vocab.json"))?;
    write_json(&options.out.join("classes.json"), &classes)?;
    held_out(options, &parts.test).save(&options.out)?;

    let test = test_accuracy(&trained.model, &parts.test, &items(&parts.test), &device);
    Ok(SentimentReport {
        sizes: [parts.train.len(), parts.valid.len(), parts.test.len()],
        vocab_size: vocab.len(),
        test,
        best_epoch: trained.best_epoch,
        epochs_run: trained.epochs_run,
        train_time: trained.elapsed,
    })
}

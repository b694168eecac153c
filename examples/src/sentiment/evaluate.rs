//! Test accuracy of a trained classifier, overall and per source, and the lexicon baseline it
//! is compared with.

use std::path::Path;

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::Device;

use super::corpus::{Corpus, held_out};
use super::data::Example;
use super::model::{SentimentBatcher, SentimentItem, SentimentModel};
use super::options::SentimentOptions;
use super::predictor::SentimentPredictor;
use crate::held_out::HeldOut;

/// Accuracy of the AFINN lexicon scorer of the `sentiment` npm package on all 1,000 sentences
/// of each site (published with the data).
pub const AFINN_BASELINE: [(&str, f64); 3] = [("amazon", 0.726), ("imdb", 0.765), ("yelp", 0.696)];

/// Accuracy on one part of the test split.
#[derive(Debug, Clone)]
pub struct GroupAccuracy {
    /// The source (`amazon`, ...), or `all`.
    pub group: String,
    /// Fraction of correct predictions.
    pub accuracy: f64,
    /// Number of test sentences.
    pub count: usize,
}

/// Overall and per-source accuracy of `model` on `examples` (encoded as `items`).
pub(super) fn test_accuracy(
    model: &SentimentModel,
    examples: &[Example],
    items: &[SentimentItem],
    device: &Device,
) -> Vec<GroupAccuracy> {
    let mut correct = Vec::with_capacity(items.len());
    for chunk in items.chunks(128) {
        let batch = SentimentBatcher.batch(chunk.to_vec(), device);
        let labels = batch.labels.clone();
        let predicted = model.classify(batch).output.argmax(1).squeeze_dim::<1>(1);
        correct.extend(predicted.equal(labels).into_data().iter::<bool>());
    }
    group_accuracies(examples, &correct)
}

/// Scores the model saved in `model` (with its vocabulary and classes, as
/// [`SentimentPredictor`] reads them) on the test split that its training held out: what the
/// training run printed, now through the saved files. The split is drawn from
/// `options.data` with `seed`, or where `None` the training run's seed saved with the model,
/// and checked against the training run's ([`HeldOut::redraw`]; `options.quick` scores a quick
/// part of it): an error, naming the options, where it is another (another file or seed: it
/// would score sentences the model trained on).
pub fn evaluate_saved(
    options: &SentimentOptions,
    seed: Option<u64>,
    model: &Path,
) -> Result<Vec<GroupAccuracy>, String> {
    let predictor = SentimentPredictor::load(model, options.backend)?;
    let (test, _) = HeldOut::redraw(model, seed, options, |options| {
        let test = Corpus::read(options)?.parts.test;
        let record = held_out(options, &test);
        Ok((test, record))
    })?;
    let texts: Vec<String> = test.iter().map(|e| e.text.clone()).collect();
    let correct: Vec<bool> = predictor
        .predict(&texts)
        .iter()
        .zip(&test)
        .map(|(p, e)| p.label == e.label)
        .collect();
    Ok(group_accuracies(&test, &correct))
}

/// Overall and per-source accuracy, `correct[i]` whether `examples[i]` was classified right.
fn group_accuracies(examples: &[Example], correct: &[bool]) -> Vec<GroupAccuracy> {
    let accuracy = |keep: &dyn Fn(&Example) -> bool, group: String| {
        let hits: Vec<bool> = examples
            .iter()
            .zip(correct)
            .filter(|(e, _)| keep(e))
            .map(|(_, &c)| c)
            .collect();
        GroupAccuracy {
            group,
            accuracy: hits.iter().filter(|&&c| c).count() as f64 / hits.len().max(1) as f64,
            count: hits.len(),
        }
    };
    let mut sources: Vec<String> = examples.iter().filter_map(|e| e.source.clone()).collect();
    sources.sort();
    sources.dedup();
    std::iter::once(accuracy(&|_| true, "all".into()))
        .chain(sources.into_iter().map(|s| {
            let source = s.clone();
            accuracy(
                &move |e: &Example| e.source.as_deref() == Some(source.as_str()),
                s,
            )
        }))
        .collect()
}

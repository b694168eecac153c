//! The data as a run sees it: the seeded, stratified split of the labelled sentences, and
//! the token ids a model reads for a sentence (in training and in prediction alike).

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::data::Example;
use super::model::SentimentItem;
use super::options::SentimentOptions;
use crate::held_out::HeldOut;
use crate::split::{Split, split};
use crate::text::{Vocab, model_tokens};

/// The fraction of each (source, label) stratum held out for validation, and again for test.
const HELD_OUT: f64 = 0.1;
/// The fewest distinct sentences a stratum needs for [`HELD_OUT`] to hold out at least one for
/// validation and one for test: round(5 × 0.1) = 1, round(4 × 0.1) = 0.
const MIN_STRATUM: usize = 5;

/// Splits the sentences of `options.data` 80/10/10 (seeded with `options.seed`), stratified by
/// source and label; repeated sentences (ignoring case) stay in one part. A `quick` run keeps
/// 200/50/50 of them. Fails, naming the file, when a part would be empty.
pub fn split_examples(
    examples: Vec<Example>,
    options: &SentimentOptions,
) -> Result<Split<Example>, String> {
    let mut parts = split(
        examples,
        HELD_OUT,
        HELD_OUT,
        options.seed,
        |e| (e.source.clone(), e.label.clone()),
        |e| e.text.to_lowercase(),
    )
    .map_err(|small| {
        let percent = HELD_OUT * 100.0;
        small.error(
            &options.data,
            &format!(
                "at least {MIN_STRATUM} distinct sentences with the same label (and source), so \
                 that {percent}% validation and {percent}% test hold out one or more each"
            ),
            &format!(
                "{} sentences, at most {} distinct with the same label (and source)",
                small.items, small.largest_stratum
            ),
        )
    })?;
    if options.quick {
        // The held-out parts come stratum by stratum (source and label): shuffled before they
        // are cut, so that a quick run is measured on more than one class.
        let mut rng = StdRng::seed_from_u64(options.seed);
        parts.valid.shuffle(&mut rng);
        parts.test.shuffle(&mut rng);
        parts.truncate([200, 50, 50]);
    }
    Ok(parts)
}

/// The token ids of `text`.
/// The data a run trains and is measured on: the split, the training split's vocabulary and
/// the classes (sorted labels).
pub(super) struct Corpus {
    pub parts: Split<Example>,
    pub vocab: Vocab,
    pub classes: Vec<String>,
}

impl Corpus {
    /// Reads `options.data`, splits it and builds the vocabulary, as training does.
    pub fn read(options: &SentimentOptions) -> Result<Self, String> {
        let examples = super::data::read(&options.data)?;
        let classes = super::data::classes(&examples);
        if classes.len() < 2 {
            return Err(format!(
                "--data {}: expected at least 2 distinct labels, got {classes:?}",
                options.data.display()
            ));
        }
        let parts = split_examples(examples, options)?;
        let vocab = Vocab::from_texts(
            parts.train.iter().map(|e| e.text.as_str()),
            options.min_frequency,
        );
        Ok(Self {
            parts,
            vocab,
            classes,
        })
    }

    /// `examples` as token ids and class indices.
    pub fn items(&self, examples: &[Example]) -> Vec<SentimentItem> {
        examples
            .iter()
            .map(|e| SentimentItem {
                ids: encode(&self.vocab, &e.text),
                label: self
                    .classes
                    .iter()
                    .position(|c| *c == e.label)
                    .expect("a known class"),
            })
            .collect()
    }
}

pub(super) fn encode(vocab: &Vocab, text: &str) -> Vec<usize> {
    vocab.encode(&model_tokens(text))
}

/// The record of the test split `test` drawn with `options` (a sentence's label and text).
pub(super) fn held_out(options: &SentimentOptions, test: &[Example]) -> HeldOut {
    HeldOut::of(
        options,
        test.iter().map(|e| [e.label.as_str(), e.text.as_str()]),
    )
}

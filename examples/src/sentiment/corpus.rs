//! The data as a run sees it: the seeded, stratified split of the labelled sentences, and
//! the token ids a model reads for a sentence (in training and in prediction alike).

use super::data::Example;
use super::options::SentimentOptions;
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
        parts.truncate([200, 50, 50]);
    }
    Ok(parts)
}

/// The token ids of `text`.
pub(super) fn encode(vocab: &Vocab, text: &str) -> Vec<usize> {
    vocab.encode(&model_tokens(text))
}

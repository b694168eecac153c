//! The data as a run sees it: the seeded split of the sentence pairs, and each language's
//! tokens learnt from the training part. Training, evaluation and export share both, so that
//! the same options give the same test set and the same tokens.

use super::data::{self, Pair};
use super::options::TranslationOptions;
use super::segmenter::Segmenter;
use crate::held_out::HeldOut;
use crate::split::{Split, split};
use crate::text::Vocab;

/// Reads `options.data` and splits it (seeded): the same options give the same test set, so a
/// saved model can be evaluated again ([`evaluate_saved`](super::evaluate_saved)). A `quick`
/// run keeps 256 training, 32 validation and 16 test pairs. Fails, naming the file, when a
/// part would be empty.
pub fn split_pairs(options: &TranslationOptions) -> Result<Split<Pair>, String> {
    let pairs = data::read(&options.data)?;
    let n = pairs.len() as f64;
    // Pairs with the same source sentence stay in one part, so no test sentence was trained on.
    let mut parts = split(
        pairs,
        options.valid_size as f64 / n,
        options.test_size as f64 / n,
        options.seed,
        |_| (),
        |p: &Pair| p.source.to_lowercase(),
    )
    .map_err(|small| {
        small.error(
            &options.data,
            &format!(
                "at least {} pairs with distinct source sentences ({} test, {} validation, the \
                 rest training)",
                options.test_size + options.valid_size + 1,
                options.test_size,
                options.valid_size
            ),
            &format!(
                "{} pairs, {} distinct source sentences",
                small.items, small.groups
            ),
        )
    })?;
    if options.quick {
        parts.truncate([256, 32, 16]);
    }
    Ok(parts)
}

/// One language's tokens, learnt from the training pairs' `side`: the segmenter (BPE merges)
/// and the vocabulary of the tokens it makes.
pub(super) fn learn_tokens(
    train: &[Pair],
    side: fn(&Pair) -> &str,
    options: &TranslationOptions,
) -> (Segmenter, Vocab) {
    let segmenter = Segmenter::learn(train.iter().map(side), options.bpe_merges);
    let sentences: Vec<Vec<String>> = train.iter().map(|p| segmenter.tokens(side(p))).collect();
    let vocab = Vocab::build(sentences.iter().map(Vec::as_slice), options.min_frequency);
    (segmenter, vocab)
}

/// The record of the test split `test` drawn with `options` (a pair's source and target).
pub(super) fn held_out(options: &TranslationOptions, test: &[Pair]) -> HeldOut {
    HeldOut::of(
        options,
        test.iter().map(|p| [p.source.as_str(), p.target.as_str()]),
    )
}

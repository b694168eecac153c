//! A run's data: the text read and checked, split into contiguous blocks, and encoded with
//! the training block's characters.

use std::path::Path;

use super::corpus::{CharVocab, TextSplit, read_text, split_text};
use super::options::{CharLmOptions, QUICK_CHARS};

/// The encoded blocks of a run's text.
#[derive(Debug, Clone)]
pub struct CharData {
    /// The text's blocks.
    pub split: TextSplit,
    /// The training block's characters.
    pub vocab: CharVocab,
    /// The training block's ids.
    pub train: Vec<usize>,
    /// The validation block's ids.
    pub valid: Vec<usize>,
    /// The test block's ids.
    pub test: Vec<usize>,
}

impl CharData {
    /// Reads `options.data` (the first [`QUICK_CHARS`] characters when `options.quick`),
    /// splits and encodes it. A text too short to train on one batch, or to validate and
    /// test on one character per stream, is an error that gives the sizes.
    pub fn load(options: &CharLmOptions) -> Result<Self, String> {
        let mut text = read_text(&options.data)?;
        if options.quick
            && let Some((end, _)) = text.char_indices().nth(QUICK_CHARS)
        {
            text.truncate(end);
        }
        Self::from_text(&text, &options.data, options)
    }

    /// [`load`](Self::load) for a text already read from `data`.
    pub fn from_text(text: &str, data: &Path, options: &CharLmOptions) -> Result<Self, String> {
        let chars = text.chars().count();
        // In 128 bits: the flags are any positive numbers, and their products must not wrap.
        let (batch, chunk) = (options.batch as u128, options.chunk as u128);
        if chars as u128 <= chunk {
            return Err(format!(
                "--data {}: expected at least {} characters (a chunk of {chunk} and the one \
                 after it), got {chars}",
                data.display(),
                chunk + 1
            ));
        }
        let split = split_text(text, options.valid_fraction, options.test_fraction);
        let [train, valid, test] = split.sizes();
        let needed = [
            (
                "training",
                train,
                batch * chunk + 1,
                "one batch of --batch × --chunk",
            ),
            ("validation", valid, batch + 1, "one per stream of --batch"),
            ("test", test, batch + 1, "one per stream of --batch"),
        ];
        for (part, got, expected, why) in needed {
            if (got as u128) < expected {
                return Err(format!(
                    "--data {}: the {part} block of the text ({train} training, {valid} \
                     validation and {test} test characters of {chars}) is too short: expected \
                     at least {expected} characters ({why} and the character after it), got \
                     {got}",
                    data.display()
                ));
            }
        }
        let vocab = CharVocab::build(&split.train);
        Ok(Self {
            train: vocab.encode(&split.train),
            valid: vocab.encode(&split.valid),
            test: vocab.encode(&split.test),
            vocab,
            split,
        })
    }
}

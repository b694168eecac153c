//! The text a character model learns from: read and checked, split into three contiguous
//! blocks, and encoded with a character vocabulary.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::files::{check_saved_size, read_json, write_json};

/// Reads the UTF-8 text file at `path` (the `--data` flag), with an error naming the file
/// for a file that cannot be read, is not UTF-8 (with the byte offset of the first invalid
/// sequence), or is empty.
pub fn read_text(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("--data {}: {e}", path.display()))?;
    if bytes.is_empty() {
        return Err(format!(
            "--data {}: expected a text, got an empty file",
            path.display()
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "--data {}: expected UTF-8 text, got an invalid byte sequence at byte {}",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Three contiguous blocks of a text, in the text's order: training, validation, test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextSplit {
    /// The first block.
    pub train: String,
    /// The block after it.
    pub valid: String,
    /// The last block.
    pub test: String,
}

impl TextSplit {
    /// The blocks' sizes in characters: training, validation, test.
    pub fn sizes(&self) -> [usize; 3] {
        [&self.train, &self.valid, &self.test].map(|part| part.chars().count())
    }
}

/// Splits `text` into training, validation and test blocks: the last `test` fraction of its
/// characters is the test block, the `valid` fraction before it the validation block.
///
/// Each cut is moved to the start of a heading line (a line of at most 80 characters that
/// does not end in `.`, `,`, `;`, `:`, `?` or `!`, such as the title of a book of the
/// King James Bible) when one starts within 1% of the text's characters from it, else to the
/// nearest line start; a text without line breaks is cut at the character. So with the
/// default fractions the King James text is split between whole books.
pub fn split_text(text: &str, valid: f64, test: f64) -> TextSplit {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    // (character offset, is a heading) of every line start but the first.
    let mut line_starts = Vec::new();
    let mut start = 0;
    for (i, &c) in chars.iter().enumerate() {
        if c == '\n' {
            if start > 0 {
                line_starts.push((start, is_heading(&chars[start..i])));
            }
            start = i + 1;
        }
    }
    if start > 0 && start < n {
        line_starts.push((start, is_heading(&chars[start..])));
    }
    let window = n / 100;
    let cut = |target: usize| -> usize {
        let distance = |&&(offset, _): &&(usize, bool)| offset.abs_diff(target);
        let heading = line_starts
            .iter()
            .filter(|(offset, heading)| *heading && offset.abs_diff(target) <= window)
            .min_by_key(distance);
        let line = line_starts.iter().min_by_key(distance);
        heading.or(line).map_or(target, |&(offset, _)| offset)
    };
    let test_start = cut(((n as f64) * (1.0 - test)).round() as usize);
    let valid_start = cut(((n as f64) * (1.0 - test - valid)).round() as usize).min(test_start);
    let block = |range: std::ops::Range<usize>| chars[range].iter().collect::<String>();
    TextSplit {
        train: block(0..valid_start),
        valid: block(valid_start..test_start),
        test: block(test_start..n),
    }
}

/// Whether `line` (without its line break) reads as a heading: short, and not ending like a
/// sentence or a clause.
fn is_heading(line: &[char]) -> bool {
    let line = line.strip_suffix(&['\r']).unwrap_or(line);
    !line.is_empty()
        && line.len() <= 80
        && !matches!(line.last(), Some('.' | ',' | ';' | ':' | '?' | '!'))
}

/// The characters of a training text, by code point, after the unknown-character symbol
/// (id 0), which stands for any character the training text does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CharVocab {
    chars: Vec<char>,
}

impl CharVocab {
    /// Id of any character not in the vocabulary.
    pub const UNK: usize = 0;
    /// How [`decode`](Self::decode) writes the unknown character.
    pub const UNK_CHAR: char = char::REPLACEMENT_CHARACTER;

    /// The vocabulary of the characters of `text` (the unknown symbol first).
    pub fn build(text: &str) -> Self {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        chars.retain(|&c| c != Self::UNK_CHAR);
        chars.insert(Self::UNK, Self::UNK_CHAR);
        Self { chars }
    }

    /// Number of symbols, the unknown one included.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// Whether the vocabulary has only the unknown symbol.
    pub fn is_empty(&self) -> bool {
        self.chars.len() == 1
    }

    /// The ids of the characters of `text` ([`UNK`](Self::UNK) for unknown ones).
    pub fn encode(&self, text: &str) -> Vec<usize> {
        text.chars()
            .map(|c| match self.chars[1..].binary_search(&c) {
                Ok(i) => i + 1,
                Err(_) => Self::UNK,
            })
            .collect()
    }

    /// The text of `ids` ([`UNK_CHAR`](Self::UNK_CHAR) for the unknown symbol).
    ///
    /// # Panics
    /// If an id is not in `0..len()`.
    pub fn decode(&self, ids: &[usize]) -> String {
        ids.iter().map(|&id| self.chars[id]).collect()
    }

    /// Writes the vocabulary as JSON.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        write_json(path, self)
    }

    /// Reads the vocabulary saved beside a model in `dir/file` and checks it against the
    /// model's configuration, whose `field` says it has `expected` symbols
    /// ([`check_saved_size`]).
    pub fn load_saved(
        dir: &Path,
        file: &str,
        field: &str,
        expected: usize,
    ) -> Result<Self, String> {
        let path = dir.join(file);
        let vocab: CharVocab = read_json(&path)?;
        let well_formed = match vocab.chars.split_first() {
            Some((&first, rest)) => first == Self::UNK_CHAR && rest.windows(2).all(|w| w[0] < w[1]),
            None => false,
        };
        if !well_formed {
            return Err(format!(
                "{}: expected the unknown symbol {:?} first, then distinct characters in code \
                 point order",
                path.display(),
                Self::UNK_CHAR
            ));
        }
        check_saved_size(dir, file, "characters", vocab.len(), field, expected)?;
        Ok(vocab)
    }
}

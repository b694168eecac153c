//! Word-level text processing shared by the examples: tokenisation and vocabularies.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::files::{check_saved_size, read_json, write_json};

/// Splits `text` into lower-cased tokens: each maximal run of letters and digits is a word, and
/// every other non-space character (punctuation, symbols) is a token of its own. Typographic
/// apostrophes and quotes become their ASCII forms first.
///
/// `"I’ve made ONE change."` → `["i", "'", "ve", "made", "one", "change", "."]`.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        let c = match c {
            '’' | '‘' | '`' | '´' => '\'',
            '“' | '”' | '„' => '"',
            c => c,
        };
        if c.is_alphanumeric() {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            tokens.push(std::mem::take(&mut word));
        }
        if !c.is_whitespace() {
            tokens.push(c.to_string());
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    tokens
}

/// The words BLEU compares in a translation: [`tokenize`]'s, each `<unk>` one word (which
/// matches no reference word; `tokenize` alone would make it three, `<`, `unk` and `>`).
pub fn bleu_words(text: &str) -> Vec<String> {
    let unk = Vocab::RESERVED[Vocab::UNK];
    let mut words = Vec::new();
    for (k, piece) in text.split(unk).enumerate() {
        if k > 0 {
            words.push(unk.to_string());
        }
        words.extend(tokenize(piece));
    }
    words
}

/// The tokens a model reads for `text`: [`tokenize`]'s, or `["<unk>"]` for a text without
/// any (a recurrent model needs at least one step).
pub fn model_tokens(text: &str) -> Vec<String> {
    let tokens = tokenize(text);
    if tokens.is_empty() {
        vec![Vocab::RESERVED[Vocab::UNK].to_string()]
    } else {
        tokens
    }
}

/// Joins tokens back into text: spaces between words, none before closing punctuation
/// (`. , ! ? ; : ) %`), after an opening parenthesis, or around an apostrophe.
///
/// `["i", "'", "ve", "made", "it", "."]` → `"i've made it."`.
pub fn detokenize<S: AsRef<str>>(tokens: &[S]) -> String {
    let mut text = String::new();
    let mut glue_next = true;
    for token in tokens {
        let token = token.as_ref();
        let closing = matches!(token, "." | "," | "!" | "?" | ";" | ":" | ")" | "%" | "'");
        if !glue_next && !closing {
            text.push(' ');
        }
        text.push_str(token);
        glue_next = matches!(token, "(" | "'");
    }
    text
}

/// A word vocabulary: the reserved tokens first (`<pad>` 0, `<unk>` 1, `<s>` 2, `</s>` 3),
/// then the words of a training corpus by decreasing frequency (ties alphabetically).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vocab {
    tokens: Vec<String>,
    #[serde(skip)]
    index: HashMap<String, usize>,
}

impl Vocab {
    /// Padding id.
    pub const PAD: usize = 0;
    /// Id of any word not in the vocabulary.
    pub const UNK: usize = 1;
    /// Beginning of sequence (the decoder's first input).
    pub const BOS: usize = 2;
    /// End of sequence.
    pub const EOS: usize = 3;
    const RESERVED: [&'static str; 4] = ["<pad>", "<unk>", "<s>", "</s>"];

    /// The vocabulary of the words that occur at least `min_frequency` times in `sentences`
    /// (already tokenised).
    pub fn build<'a>(
        sentences: impl IntoIterator<Item = &'a [String]>,
        min_frequency: usize,
    ) -> Self {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for sentence in sentences {
            for token in sentence {
                *counts.entry(token.as_str()).or_default() += 1;
            }
        }
        let mut words: Vec<(&str, usize)> = counts
            .into_iter()
            .filter(|&(word, n)| n >= min_frequency && !Self::RESERVED.contains(&word))
            .collect();
        words.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let tokens = Self::RESERVED
            .iter()
            .map(|s| s.to_string())
            .chain(words.into_iter().map(|(w, _)| w.to_string()))
            .collect();
        Self::from_tokens(tokens)
    }

    /// The vocabulary of the words of `texts` (tokenised with [`tokenize`]) that occur at
    /// least `min_frequency` times.
    pub fn from_texts<'a>(texts: impl IntoIterator<Item = &'a str>, min_frequency: usize) -> Self {
        let sentences: Vec<Vec<String>> = texts.into_iter().map(tokenize).collect();
        Self::build(sentences.iter().map(Vec::as_slice), min_frequency)
    }

    fn from_tokens(tokens: Vec<String>) -> Self {
        let index = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i))
            .collect();
        Self { tokens, index }
    }

    /// Number of tokens, reserved ones included.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether only the reserved tokens are present.
    pub fn is_empty(&self) -> bool {
        self.tokens.len() == Self::RESERVED.len()
    }

    /// The id of `token` (`UNK` for unknown words).
    pub fn id(&self, token: &str) -> usize {
        self.index.get(token).copied().unwrap_or(Self::UNK)
    }

    /// The ids of `tokens`.
    pub fn encode<S: AsRef<str>>(&self, tokens: &[S]) -> Vec<usize> {
        tokens.iter().map(|t| self.id(t.as_ref())).collect()
    }

    /// The token of `id`.
    ///
    /// # Panics
    /// If `id` is not in `0..len()`.
    pub fn token(&self, id: usize) -> &str {
        &self.tokens[id]
    }

    /// The words of `ids`, stopping at the first `</s>` and skipping `<pad>` and `<s>`.
    pub fn decode(&self, ids: &[usize]) -> Vec<String> {
        ids.iter()
            .take_while(|&&id| id != Self::EOS)
            .filter(|&&id| id != Self::PAD && id != Self::BOS)
            .map(|&id| self.tokens[id].clone())
            .collect()
    }

    /// Writes the vocabulary as JSON.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        write_json(path, self)
    }

    /// Reads a vocabulary written by [`save`](Self::save).
    pub fn load(path: &Path) -> Result<Self, String> {
        let vocab: Vocab = read_json(path)?;
        if vocab.tokens.get(..4) != Some(&Self::RESERVED.map(String::from)[..]) {
            return Err(format!(
                "{}: expected the reserved tokens {:?} first",
                path.display(),
                Self::RESERVED
            ));
        }
        Ok(Self::from_tokens(vocab.tokens))
    }

    /// Reads the vocabulary saved beside a model in `dir/file` and checks it against the
    /// model's configuration, whose `field` says it has `expected` tokens
    /// ([`check_saved_size`]): files of different training runs mixed are an error.
    pub fn load_saved(
        dir: &Path,
        file: &str,
        field: &str,
        expected: usize,
    ) -> Result<Self, String> {
        let vocab = Self::load(&dir.join(file))?;
        check_saved_size(dir, file, "tokens", vocab.len(), field, expected)?;
        Ok(vocab)
    }
}

//! How one language's sentences become the tokens a model reads and writes: the words and
//! punctuation of [`tokenize`], optionally split into byte-pair-encoded subwords ([`Bpe`]).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bpe::{Bpe, join_subwords};
use crate::files::{read_json, write_json};
use crate::text::{model_tokens, tokenize};

/// What [`Segmenter::save`] writes for whole words, `{"merges": null}` (BPE merges are
/// `{"merges": [...]}`): a record of the choice, so that a missing file is an error rather
/// than a silent switch to whole words.
#[derive(Serialize, Deserialize)]
struct WholeWords {
    /// `()` is JSON's `null`, and reads back from nothing else.
    merges: (),
}

/// Words, or BPE subwords of words, for one side of a translation model.
#[derive(Debug, Clone, PartialEq)]
pub struct Segmenter {
    bpe: Option<Bpe>,
}

impl Segmenter {
    /// Learns `merges` BPE merges from the words of `texts`; `0`: whole words.
    pub fn learn<'a>(texts: impl IntoIterator<Item = &'a str>, merges: usize) -> Self {
        if merges == 0 {
            return Self { bpe: None };
        }
        let words: Vec<String> = texts.into_iter().flat_map(tokenize).collect();
        Self {
            bpe: Some(Bpe::learn(words.iter().map(String::as_str), merges)),
        }
    }

    /// The model tokens of `text`: its words (or their subwords); `["<unk>"]` for a text
    /// without any (a recurrent model needs at least one step).
    pub fn tokens(&self, text: &str) -> Vec<String> {
        let words = tokenize(text);
        match (&self.bpe, words.is_empty()) {
            (_, true) => model_tokens(text),
            (Some(bpe), false) => bpe.encode(&words),
            (None, false) => words,
        }
    }

    /// The words that model `tokens` spell (subwords joined).
    pub fn words<S: AsRef<str>>(&self, tokens: &[S]) -> Vec<String> {
        match &self.bpe {
            Some(_) => join_subwords(tokens),
            None => tokens.iter().map(|t| t.as_ref().to_string()).collect(),
        }
    }

    /// Writes the merges to `path`, or for whole words `{"merges": null}`.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        match &self.bpe {
            Some(bpe) => bpe.save(path),
            None => write_json(path, &WholeWords { merges: () }),
        }
    }

    /// Reads what [`save`](Self::save) wrote to `path`. A missing file is an error: the model
    /// was trained on the subwords or the whole words that the file records.
    pub fn load(path: &Path) -> Result<Self, String> {
        if !path.is_file() {
            return Err(format!(
                "{}: expected the BPE merges saved with the model ({{\"merges\": null}} for a \
                 model trained on whole words, --bpe 0), got no such file",
                path.display()
            ));
        }
        let bpe = match read_json::<WholeWords>(path) {
            Ok(WholeWords { merges: () }) => None,
            Err(_) => Some(Bpe::load(path)?),
        };
        Ok(Self { bpe })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXTS: [&str; 3] = [
        "Die Mannschaft spielt heute.",
        "Die Zeitung schreibt über die Mannschaft.",
        "Heute schreibt die Zeitung nichts.",
    ];

    #[test]
    fn subwords_spell_the_words_again() {
        let segmenter = Segmenter::learn(TEXTS, 25);
        for text in TEXTS.iter().chain(&["Mannschaftszeitung, heute!"]) {
            let tokens = segmenter.tokens(text);
            assert_eq!(segmenter.words(&tokens), tokenize(text), "{tokens:?}");
        }
        let unseen = segmenter.tokens("Mannschaftszeitung");
        assert!(unseen.len() > 1, "an unseen compound splits: {unseen:?}");
    }

    #[test]
    fn without_merges_tokens_are_words() {
        let words = Segmenter::learn(TEXTS, 0);
        assert_eq!(words.tokens(TEXTS[0]), tokenize(TEXTS[0]));
        assert_eq!(words.tokens(" "), ["<unk>"]);
    }

    #[test]
    fn saves_and_loads() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("bpe.json");
        let segmenter = Segmenter::learn(TEXTS, 10);
        segmenter.save(&path).expect("saved");
        assert_eq!(Segmenter::load(&path).expect("loaded"), segmenter);
        // Whole words saved over the merges of an earlier run: whole words load back.
        Segmenter::learn(TEXTS, 0)
            .save(&path)
            .expect("merges overwritten");
        assert_eq!(
            Segmenter::load(&path).expect("whole words"),
            Segmenter::learn(TEXTS, 0)
        );
    }
}

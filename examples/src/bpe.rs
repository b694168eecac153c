//! Byte-pair encoding of words into subwords (Sennrich, Haddow and Birch 2016): a rare word
//! becomes a few frequent pieces (`mannschaftssatzung` → `mannschaft@@ s@@ satzung`), so a
//! model with a small vocabulary still reads and writes words it never saw whole.
//!
//! Learning starts from characters and repeatedly merges the most frequent adjacent pair of
//! symbols in the training words (weighted by word frequency); applying replays the merges in
//! the order they were learnt. Every piece but a word's last carries the continuation
//! marker `@@`; [`join_subwords`] undoes the split.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::files::{read_json, write_json};

/// Marks a piece that the next piece continues.
pub const CONTINUATION: &str = "@@";
/// Ends a word's last symbol while learning and applying merges (never in the output).
const END_OF_WORD: &str = "</w>";

/// Learnt merges, in the order they apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bpe {
    merges: Vec<(String, String)>,
    #[serde(skip)]
    ranks: HashMap<(String, String), usize>,
}

impl Bpe {
    /// Learns up to `merges` merges from `words` (tokens of a training corpus, repeated as
    /// often as they occur). Stops early when no pair occurs twice. Ties between equally
    /// frequent pairs go to the pair that sorts first, so the result is deterministic.
    pub fn learn<'a>(words: impl IntoIterator<Item = &'a str>, merges: usize) -> Self {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for word in words {
            *counts.entry(word).or_default() += 1;
        }
        let mut counted: Vec<(&str, usize)> = counts.into_iter().collect();
        counted.sort();
        let mut vocab: Vec<(Vec<String>, usize)> = counted
            .into_iter()
            .map(|(word, n)| (symbols(word), n))
            .collect();

        // Pair counts, the words that contain each pair, and a max-heap of (count, pair) with
        // stale entries skipped when popped.
        let mut pair_counts: HashMap<(String, String), usize> = HashMap::new();
        let mut where_: HashMap<(String, String), HashSet<usize>> = HashMap::new();
        for (w, (word, n)) in vocab.iter().enumerate() {
            for pair in pairs(word) {
                *pair_counts.entry(pair.clone()).or_default() += n;
                where_.entry(pair).or_default().insert(w);
            }
        }
        let mut heap: BinaryHeap<(usize, Reverse<(String, String)>)> = pair_counts
            .iter()
            .map(|(pair, &n)| (n, Reverse(pair.clone())))
            .collect();

        let mut learnt = Vec::new();
        while learnt.len() < merges {
            let Some((n, Reverse(pair))) = heap.pop() else {
                break;
            };
            if pair_counts.get(&pair) != Some(&n) {
                continue; // stale
            }
            if n < 2 {
                break;
            }
            let mut changed: HashMap<(String, String), usize> = HashMap::new();
            let mut words: Vec<usize> = where_
                .remove(&pair)
                .unwrap_or_default()
                .into_iter()
                .collect();
            words.sort_unstable();
            for w in words {
                let (word, freq) = &mut vocab[w];
                for old in pairs(word) {
                    let count = pair_counts.get_mut(&old).expect("counted pair");
                    *count -= *freq;
                    changed.insert(old, *count);
                }
                *word = merge(word, &pair);
                for new in pairs(word) {
                    let count = pair_counts.entry(new.clone()).or_default();
                    *count += *freq;
                    changed.insert(new.clone(), *count);
                    where_.entry(new).or_default().insert(w);
                }
            }
            // The merged pair is among the changed ones, now at 0 (every word holding it was
            // in its `where_` set).
            for (p, n) in changed {
                if n == 0 {
                    pair_counts.remove(&p);
                } else {
                    heap.push((n, Reverse(p)));
                }
            }
            learnt.push(pair);
        }
        Self::from_merges(learnt)
    }

    fn from_merges(merges: Vec<(String, String)>) -> Self {
        let ranks = merges
            .iter()
            .enumerate()
            .map(|(i, pair)| (pair.clone(), i))
            .collect();
        Self { merges, ranks }
    }

    /// Number of merges.
    pub fn len(&self) -> usize {
        self.merges.len()
    }

    /// Whether there are no merges (every word splits into characters).
    pub fn is_empty(&self) -> bool {
        self.merges.is_empty()
    }

    /// The pieces of `word`: its characters merged in the learnt order, every piece but the
    /// last followed by [`CONTINUATION`].
    pub fn split(&self, word: &str) -> Vec<String> {
        if word.is_empty() {
            return Vec::new();
        }
        let mut symbols = symbols(word);
        loop {
            let best = pairs(&symbols)
                .filter_map(|pair| self.ranks.get(&pair).map(|&rank| (rank, pair)))
                .min();
            match best {
                Some((_, pair)) => symbols = merge(&symbols, &pair),
                None => break,
            }
        }
        let last = symbols.len() - 1;
        symbols
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                if i == last {
                    s.trim_end_matches(END_OF_WORD).to_string()
                } else {
                    s + CONTINUATION
                }
            })
            .collect()
    }

    /// The pieces of every token of `tokens`, in order.
    pub fn encode<S: AsRef<str>>(&self, tokens: &[S]) -> Vec<String> {
        tokens.iter().flat_map(|t| self.split(t.as_ref())).collect()
    }

    /// Writes the merges as JSON.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        write_json(path, self)
    }

    /// Reads merges written by [`save`](Self::save).
    pub fn load(path: &Path) -> Result<Self, String> {
        let bpe: Bpe = read_json(path)?;
        Ok(Self::from_merges(bpe.merges))
    }
}

/// Joins pieces back into words: a piece ending in [`CONTINUATION`] is glued to the next.
///
/// `["mannschaft@@", "s@@", "satzung", "."]` → `["mannschaftssatzung", "."]`.
pub fn join_subwords<S: AsRef<str>>(pieces: &[S]) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for piece in pieces {
        match piece.as_ref().strip_suffix(CONTINUATION) {
            Some(start) => word.push_str(start),
            None => {
                word.push_str(piece.as_ref());
                words.push(std::mem::take(&mut word));
            }
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The characters of `word`, the last one marked as the end of the word.
fn symbols(word: &str) -> Vec<String> {
    let mut symbols: Vec<String> = word.chars().map(String::from).collect();
    if let Some(last) = symbols.last_mut() {
        last.push_str(END_OF_WORD);
    }
    symbols
}

/// The adjacent pairs of `symbols`.
fn pairs(symbols: &[String]) -> impl Iterator<Item = (String, String)> + '_ {
    symbols.windows(2).map(|w| (w[0].clone(), w[1].clone()))
}

/// `symbols` with every occurrence of `pair` (left to right, not overlapping) merged.
fn merge(symbols: &[String], pair: &(String, String)) -> Vec<String> {
    let mut merged = Vec::with_capacity(symbols.len());
    let mut i = 0;
    while i < symbols.len() {
        if i + 1 < symbols.len() && symbols[i] == pair.0 && symbols[i + 1] == pair.1 {
            merged.push(format!("{}{}", pair.0, pair.1));
            i += 2;
        } else {
            merged.push(symbols[i].clone());
            i += 1;
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_the_most_frequent_pairs_first() {
        // Sennrich et al.'s example: low ×5, lower ×2, newest ×6, widest ×3.
        let corpus: Vec<&str> = std::iter::repeat_n("low", 5)
            .chain(std::iter::repeat_n("lower", 2))
            .chain(std::iter::repeat_n("newest", 6))
            .chain(std::iter::repeat_n("widest", 3))
            .collect();
        let bpe = Bpe::learn(corpus, 4);
        // e+s and s+t</w> both occur 9 times: the pair that sorts first wins.
        let expected = [("e", "s"), ("es", "t</w>"), ("l", "o"), ("e", "w")];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(bpe.merges, expected);
        assert_eq!(bpe.split("lowest"), ["lo@@", "w@@", "est"]);
        assert_eq!(bpe.split("newer"), ["n@@", "ew@@", "e@@", "r"]);
        assert_eq!(bpe.split("low"), ["lo@@", "w"]);
    }

    #[test]
    fn stops_when_no_pair_repeats() {
        let bpe = Bpe::learn(["ab", "cd"], 10);
        assert!(bpe.is_empty());
        assert_eq!(bpe.split("ab"), ["a@@", "b"]);
    }

    #[test]
    fn join_undoes_split() {
        let words = ["mannschaftssatzung", "der", ".", "zeit", "x"];
        let corpus = [
            "mann",
            "mannschaft",
            "satzung",
            "satzung",
            "mann",
            "zeit",
            "zeit",
        ];
        let bpe = Bpe::learn(corpus.iter().copied().cycle().take(70), 30);
        let pieces = bpe.encode(&words);
        assert!(pieces.len() > words.len());
        assert_eq!(join_subwords(&pieces), words);
    }

    #[test]
    fn learning_agrees_with_recounting_from_scratch() {
        // The incremental pair counts must pick what a full recount picks at every merge.
        let text = "der die das den dem des einer eines einem einen diese dieser dieses \
                    zeitung zeitungen zeiten zeit mannschaft mannschaften schaft schaffen";
        let words: Vec<&str> = text.split_whitespace().collect();
        let corpus: Vec<&str> = words
            .iter()
            .enumerate()
            .flat_map(|(i, w)| std::iter::repeat_n(*w, 1 + i % 4))
            .collect();
        let bpe = Bpe::learn(corpus.iter().copied(), 25);
        let mut vocab: Vec<(Vec<String>, usize)> = words
            .iter()
            .enumerate()
            .map(|(i, w)| (symbols(w), 1 + i % 4))
            .collect();
        for learnt in &bpe.merges {
            let mut counts: HashMap<(String, String), usize> = HashMap::new();
            for (word, n) in &vocab {
                for pair in pairs(word) {
                    *counts.entry(pair).or_default() += n;
                }
            }
            let best = counts
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
                .expect("a pair");
            assert_eq!(&best.0, learnt);
            for (word, _) in &mut vocab {
                *word = merge(word, learnt);
            }
        }
        assert_eq!(bpe.len(), 25, "every merge checked");
    }
}

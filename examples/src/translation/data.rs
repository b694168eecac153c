//! Sentence pairs from a TSV file: `source<TAB>target`, one pair a line (the Tatoeba/Anki
//! format; further columns, such as Tatoeba's attribution, are ignored).

use std::path::Path;

use crate::files::read_data;

/// A sentence and its translation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pair {
    /// The sentence to translate.
    pub source: String,
    /// Its translation.
    pub target: String,
}

/// Reads the sentence pairs of the TSV file at `path` (see [`parse`]).
pub fn read(path: &Path) -> Result<Vec<Pair>, String> {
    parse(&read_data(path)?, &path.display().to_string())
}

/// Parses TSV text of `source<TAB>target[<TAB>...]` lines, skipping empty lines and repeated
/// pairs. `origin` names the text in errors (`FILE:LINE: ...`).
pub fn parse(content: &str, origin: &str) -> Result<Vec<Pair>, String> {
    let mut pairs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in content.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.split('\t');
        let (source, target) = match (fields.next(), fields.next()) {
            (Some(s), Some(t)) if !s.trim().is_empty() && !t.trim().is_empty() => (s, t),
            _ => {
                return Err(format!(
                    "{origin}:{}: expected a source sentence, a TAB and its translation, got {line:?}",
                    i + 1
                ));
            }
        };
        let pair = Pair {
            source: source.trim().to_string(),
            target: target.trim().to_string(),
        };
        if seen.insert(pair.clone()) {
            pairs.push(pair);
        }
    }
    if pairs.is_empty() {
        return Err(format!("{origin}: expected sentence pairs, got none"));
    }
    Ok(pairs)
}

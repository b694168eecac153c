//! Labelled sentences from a TSV file: `source<TAB>label<TAB>text` (the UCI file) or
//! `label<TAB>text`, with or without a header row.

use std::path::Path;

/// One labelled sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Where the sentence comes from (`amazon`, `imdb`, `yelp`), when the file says.
    pub source: Option<String>,
    /// The class, as written in the file (`0`, `1`, `positive`, ...).
    pub label: String,
    /// The sentence.
    pub text: String,
}

/// Reads the labelled sentences of the TSV file at `path` (see [`parse`]).
pub fn read(path: &Path) -> Result<Vec<Example>, String> {
    let content =
        std::fs::read_to_string(path).map_err(|e| format!("--data {}: {e}", path.display()))?;
    parse(&content, &path.display().to_string())
}

/// Parses TSV text: every non-empty line has the same number of tab-separated columns, 3
/// (`source`, `label`, `text`) or 2 (`label`, `text`); a first line naming those columns is a
/// header. `origin` names the text in errors (`FILE:LINE: ...`).
pub fn parse(content: &str, origin: &str) -> Result<Vec<Example>, String> {
    let mut lines = content
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .peekable();
    let columns = match lines.peek() {
        Some((_, line)) => line.split('\t').count(),
        None => {
            return Err(format!(
                "{origin}: expected labelled sentences, got an empty file"
            ));
        }
    };
    if columns != 2 && columns != 3 {
        return Err(format!(
            "{origin}:1: expected 2 (label, text) or 3 (source, label, text) tab-separated columns, got {columns}"
        ));
    }
    if let Some((_, line)) = lines.peek() {
        let header: Vec<String> = line.split('\t').map(|c| c.trim().to_lowercase()).collect();
        if header == ["source", "label", "text"] || header == ["label", "text"] {
            lines.next();
        }
    }
    let mut examples = Vec::new();
    for (i, line) in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != columns {
            return Err(format!(
                "{origin}:{}: expected {columns} tab-separated columns like the first line, got {}",
                i + 1,
                fields.len()
            ));
        }
        let (source, label, text) = match fields[..] {
            [source, label, text] => (Some(source.trim().to_string()), label, text),
            [label, text] => (None, label, text),
            _ => unreachable!("2 or 3 columns"),
        };
        if label.trim().is_empty() || text.trim().is_empty() {
            return Err(format!(
                "{origin}:{}: expected a label and a non-empty text, got {line:?}",
                i + 1
            ));
        }
        examples.push(Example {
            source,
            label: label.trim().to_string(),
            text: text.to_string(),
        });
    }
    Ok(examples)
}

/// The distinct labels of `examples`, sorted (numerically when all are integers), so a class
/// index is a label's position.
pub fn classes(examples: &[Example]) -> Vec<String> {
    let mut labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
    labels.sort_by(|a, b| match (a.parse::<i64>(), b.parse::<i64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    });
    labels.dedup();
    labels
}

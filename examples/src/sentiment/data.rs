//! Labelled sentences from a TSV file: `source<TAB>label<TAB>text` (the UCI file) or
//! `label<TAB>text`, or the columns a header row names in any order (`sentence<TAB>label`).

use std::cmp::Ordering;
use std::path::Path;

use crate::files::read_data;

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
    parse(&read_data(path)?, &path.display().to_string())
}

/// The column names a header may use, each with the column it names (`sentence` is GLUE's
/// SST-2 name for the text).
const HEADER_NAMES: [(&str, Column); 4] = [
    ("source", Column::Source),
    ("label", Column::Label),
    ("text", Column::Text),
    ("sentence", Column::Text),
];

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Source,
    Label,
    Text,
}

/// Where each column is in a row.
#[derive(Debug, Clone, Copy)]
struct Layout {
    width: usize,
    source: Option<usize>,
    label: usize,
    text: usize,
}

impl Layout {
    /// The layout of a row of `columns`, when it names label and text once each and source at
    /// most once.
    fn of(columns: &[Column]) -> Option<Self> {
        let count = |column: Column| columns.iter().filter(|&&c| c == column).count();
        if count(Column::Label) != 1 || count(Column::Text) != 1 || count(Column::Source) > 1 {
            return None;
        }
        let at = |column: Column| columns.iter().position(|&c| c == column);
        Some(Self {
            width: columns.len(),
            source: at(Column::Source),
            label: at(Column::Label)?,
            text: at(Column::Text)?,
        })
    }
}

/// Parses TSV text: every non-empty line has the same number of tab-separated columns.
///
/// The header rule: the first non-empty line is a header when every one of its fields, trimmed
/// and lower-cased, is a column name (`source`, `label`, `text` or its synonym `sentence`);
/// a header must then name `label` and `text` once each and may name `source`, in any order,
/// and the rows follow its order (`sentence<TAB>label` reads). Any other first line is data,
/// and the columns are `label, text` (2) or `source, label, text` (3).
///
/// `origin` names the text in errors (`FILE:LINE: ...`).
pub fn parse(content: &str, origin: &str) -> Result<Vec<Example>, String> {
    let mut lines = content
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .peekable();
    let Some(&(first, first_line)) = lines.peek() else {
        return Err(format!(
            "{origin}: expected labelled sentences, got an empty file"
        ));
    };
    let layout = match read_header(first_line) {
        Some(header) => {
            lines.next();
            header.map_err(|e| format!("{origin}:{}: {e}", first + 1))?
        }
        None => match first_line.split('\t').count() {
            2 => Layout {
                width: 2,
                source: None,
                label: 0,
                text: 1,
            },
            3 => Layout {
                width: 3,
                source: Some(0),
                label: 1,
                text: 2,
            },
            n => {
                return Err(format!(
                    "{origin}:{}: expected 2 (label, text) or 3 (source, label, text) \
                     tab-separated columns, got {n}",
                    first + 1
                ));
            }
        },
    };
    let mut examples = Vec::new();
    for (i, line) in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != layout.width {
            return Err(format!(
                "{origin}:{}: expected {} tab-separated columns like the first line, got {}",
                i + 1,
                layout.width,
                fields.len()
            ));
        }
        let (label, text) = (fields[layout.label], fields[layout.text]);
        if label.trim().is_empty() || text.trim().is_empty() {
            return Err(format!(
                "{origin}:{}: expected a label and a non-empty text, got {line:?}",
                i + 1
            ));
        }
        examples.push(Example {
            source: layout.source.map(|at| fields[at].trim().to_string()),
            label: label.trim().to_string(),
            text: text.to_string(),
        });
    }
    Ok(examples)
}

/// `None` when `line` is data (a field that is not a column name); otherwise the layout the
/// header gives, or why it gives none.
fn read_header(line: &str) -> Option<Result<Layout, String>> {
    let names: Vec<String> = line.split('\t').map(|f| f.trim().to_lowercase()).collect();
    let columns: Vec<Column> = names
        .iter()
        .map(|name| {
            HEADER_NAMES
                .iter()
                .find(|(known, _)| known == name)
                .map(|&(_, column)| column)
        })
        .collect::<Option<_>>()?;
    Some(Layout::of(&columns).ok_or_else(|| {
        format!(
            "expected a header naming label and text (or sentence) once each and source at \
             most once, got {names:?}"
        )
    }))
}

/// The distinct labels of `examples` in a total, deterministic order, so a class index is a
/// label's position: integer labels first, by value (`9` before `10`; equal values such as
/// `1` and `01` by their text), then every other label by its text.
pub fn classes(examples: &[Example]) -> Vec<String> {
    let mut labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
    labels.sort_by(|a, b| label_order(a, b));
    // Only identical labels compare equal, so they sit side by side.
    labels.dedup();
    labels
}

/// The order of [`classes`]. Comparing integers by value and the rest by text, pair by pair,
/// is not a total order (`2 < 10` by value, `10 < 1a < 2` by text): sorting with it could
/// depend on the input's order and leave duplicates apart.
fn label_order(a: &str, b: &str) -> Ordering {
    let key = |label: &str| match label.parse::<i64>() {
        Ok(value) => (0, value),
        Err(_) => (1, 0),
    };
    key(a).cmp(&key(b)).then_with(|| a.cmp(b))
}

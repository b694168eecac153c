//! A time series from a `date,value` CSV file: values on a regular grid of dates, each
//! observed or missing.

use std::path::Path;

use super::date::Date;
use super::frequency::Frequency;
use crate::files::read_data;

/// The most grid points a series may span: a file with a few far-apart dates would otherwise
/// make a grid of billions of missing points.
const MAX_POINTS: usize = 10_000_000;

/// Values at regular dates: point `i` is at `frequency.date(start, i)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The date of the first point.
    pub start: Date,
    /// How far apart the points are.
    pub frequency: Frequency,
    /// Each point's value, `None` where it is missing (an empty or `NA`/`NaN` field, or a
    /// grid date absent from the file).
    pub values: Vec<Option<f64>>,
}

impl Series {
    /// The date of point `index` (past the end too: the dates of a forecast).
    pub fn date(&self, index: usize) -> Date {
        self.frequency.date(self.start, index)
    }

    /// Number of points, missing ones included.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the series has no point (never true of a parsed series).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Reads the series in the CSV file at `path` (see [`parse`]).
pub fn read(path: &Path) -> Result<Series, String> {
    parse(&read_data(path)?, &format!("--data {}", path.display()))
}

/// Parses CSV text of two columns, `date,value`: one row per date, in increasing order.
///
/// - The first non-empty line is a header when its first field is not a date.
/// - Dates: `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYYMMDD` or `YYYY-MM`. The frequency is the most
///   common gap between consecutive dates ([`Frequency::infer`]); dates absent from the grid
///   it defines are missing points, and a date off the grid is an error.
/// - Values: numbers; an empty field, `NA` or `NaN` is a missing value.
/// - Fields may be quoted with `"`.
///
/// `origin` names the text in errors (`ORIGIN:LINE: ...`).
pub fn parse(content: &str, origin: &str) -> Result<Series, String> {
    let mut rows: Vec<(usize, Date, Option<f64>)> = Vec::new();
    let mut lines = content
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .peekable();
    if let Some((_, first)) = lines.peek()
        && Date::parse(unquote(first.split(',').next().unwrap_or(""))).is_none()
    {
        lines.next();
    }
    for (i, line) in lines {
        let at = |column: usize| format!("{origin}:{} column {column}", i + 1);
        let fields: Vec<&str> = line.split(',').map(unquote).collect();
        let [date, value] = fields[..] else {
            return Err(format!(
                "{origin}:{}: expected 2 comma-separated columns (date,value), got {}",
                i + 1,
                fields.len()
            ));
        };
        let date = Date::parse(date).ok_or_else(|| {
            format!(
                "{} (date): expected a date YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or YYYY-MM, got \
                 {date:?}",
                at(1)
            )
        })?;
        let value = parse_value(value).ok_or_else(|| {
            format!(
                "{} (value): expected a finite number, or nothing (or NA) for a missing value, \
                 got {value:?}",
                at(2)
            )
        })?;
        if let Some(&(previous_line, previous, _)) = rows.last()
            && date <= previous
        {
            return Err(format!(
                "{origin}:{}: expected dates in increasing order, got {date} after {previous} \
                 (line {})",
                i + 1,
                previous_line + 1
            ));
        }
        rows.push((i, date, value));
    }
    if rows.is_empty() {
        return Err(format!(
            "{origin}: expected date,value rows, got none (an empty file or a header only)"
        ));
    }
    if rows.len() < 2 {
        return Err(format!(
            "{origin}: expected a series of at least 2 dated rows, got {}",
            rows.len()
        ));
    }
    let dates: Vec<Date> = rows.iter().map(|&(_, date, _)| date).collect();
    let frequency = Frequency::infer(&dates).expect("increasing dates have a positive gap");
    let start = dates[0];
    let mut values = Vec::new();
    for &(i, date, value) in &rows {
        let index = frequency
            .index(start, date)
            .filter(|&index| index >= values.len())
            .ok_or_else(|| {
                format!(
                    "{origin}:{}: expected a date on the {frequency} grid that starts at \
                     {start} (the frequency of most rows), got {date}",
                    i + 1
                )
            })?;
        if index >= MAX_POINTS {
            return Err(format!(
                "{origin}:{}: expected a series of at most {MAX_POINTS} {frequency} points, got \
                 {date}, point {} after {start}",
                i + 1,
                index + 1
            ));
        }
        values.resize(index, None);
        values.push(value);
    }
    Ok(Series {
        start,
        frequency,
        values,
    })
}

/// The field without surrounding blanks and double quotes.
fn unquote(field: &str) -> &str {
    let field = field.trim();
    field
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or(field)
        .trim()
}

/// `Some(None)` for a missing value, `Some(Some(x))` for a finite number, `None` otherwise.
fn parse_value(field: &str) -> Option<Option<f64>> {
    if field.is_empty() || field.eq_ignore_ascii_case("na") || field.eq_ignore_ascii_case("nan") {
        return Some(None);
    }
    field
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .map(Some)
}

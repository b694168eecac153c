//! The one error type of this crate: which argument was wrong, what was expected, what was given.

use core::fmt;

/// A bad configuration value or a bad forward argument.
///
/// The message always names the argument, the expected value and the actual value, e.g.
/// `input: expected feature size 4 (last dimension), got 5`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RnnError {
    /// The argument or config field that was wrong (`input`, `lengths`, `hidden_size`, ...).
    pub argument: String,
    /// What was expected.
    pub expected: String,
    /// What was given.
    pub actual: String,
}

impl RnnError {
    /// Creates an error for `argument`, with what was `expected` and what was `actual`ly given.
    pub fn new(
        argument: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        Self {
            argument: argument.into(),
            expected: expected.into(),
            actual: actual.into(),
        }
    }
}

impl fmt::Display for RnnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {}, got {}",
            self.argument, self.expected, self.actual
        )
    }
}

impl std::error::Error for RnnError {}

/// Checks the valid `lengths` of a padded batch of `batch` sequences of `seq` steps: one per
/// example, each in `1..=seq`. `argument` names them in the error (`lengths`,
/// `source_lengths`, ...).
pub fn check_lengths(
    argument: &str,
    lengths: &[usize],
    batch: usize,
    seq: usize,
) -> Result<(), RnnError> {
    if lengths.len() != batch {
        return Err(RnnError::new(
            argument,
            format!("one length per batch example ({batch})"),
            format!("{} lengths", lengths.len()),
        ));
    }
    if let Some((i, &len)) = lengths
        .iter()
        .enumerate()
        .find(|(_, l)| **l == 0 || **l > seq)
    {
        return Err(RnnError::new(
            format!("{argument}[{i}]"),
            format!("a length in 1..={seq} (the sequence length)"),
            len.to_string(),
        ));
    }
    Ok(())
}

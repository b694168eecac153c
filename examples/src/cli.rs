//! The command line the example programs share: parsers for their flags, and their exit
//! status. Each parser rejects a bad value while the command line is parsed, before any data
//! is read or any training starts, with an error that clap prefixes with the flag
//! (`invalid value '0' for '--beam <BEAM>': ...`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use rnn_tasks::{AttentionKind, CellKind, Pooling};

use crate::backend::Backend;

/// `lstm`, `gru`, `elman`, `mingru` or `minlstm` (the names of [`cell_name`]).
pub fn parse_cell(name: &str) -> Result<CellKind, String> {
    CellKind::ALL
        .into_iter()
        .find(|&kind| cell_name(kind) == name)
        .ok_or_else(|| {
            format!("expected lstm, gru, elman, mingru, minlstm, slstm or mlstm, got {name}")
        })
}

/// The flag value that [`parse_cell`] reads as `kind`.
pub fn cell_name(kind: CellKind) -> &'static str {
    match kind {
        CellKind::Lstm => "lstm",
        CellKind::Gru => "gru",
        CellKind::Elman => "elman",
        CellKind::MinGru => "mingru",
        CellKind::MinLstm => "minlstm",
        CellKind::Slstm => "slstm",
        CellKind::Mlstm => "mlstm",
    }
}

/// The flags of an `evaluate` mode that name the test split a saved model is scored on
/// (checked against the one its training held out, see
/// [`HeldOut::redraw`](crate::held_out::HeldOut::redraw)).
#[derive(clap::Args, Debug)]
pub struct HeldOutArgs {
    /// The data file the model was trained on, as `train --data` (default: the shipped one).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Seed of the split, as `train --seed` (default: the training run's, saved with the
    /// model).
    #[arg(long)]
    pub seed: Option<u64>,
    /// The split of a `--quick` run (default: as the training run, saved with the model).
    #[arg(long)]
    pub quick: bool,
}

/// `last`, `mean`, `max` or `attention`.
pub fn parse_pooling(name: &str) -> Result<Pooling, String> {
    match name {
        "last" => Ok(Pooling::Last),
        "mean" => Ok(Pooling::Mean),
        "max" => Ok(Pooling::Max),
        "attention" => Ok(Pooling::Attention),
        other => Err(format!(
            "expected last, mean, max or attention, got {other}"
        )),
    }
}

/// `luong` (Luong's general score), `luong-dot` or `bahdanau`.
pub fn parse_attention(name: &str) -> Result<AttentionKind, String> {
    match name {
        "luong" => Ok(AttentionKind::LuongGeneral),
        "luong-dot" => Ok(AttentionKind::LuongDot),
        "bahdanau" => Ok(AttentionKind::Bahdanau),
        other => Err(format!(
            "expected luong, luong-dot or bahdanau, got {other}"
        )),
    }
}

/// A count that must be at least 1 (`--beam`, `--epochs`, `--hidden`, `--patience`).
pub fn parse_positive(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("expected an integer of at least 1, got {value}")),
    }
}

/// A time budget in minutes, finite and positive (`--minutes 1.5`), as a [`Duration`].
pub fn parse_minutes(value: &str) -> Result<Duration, String> {
    let expected = "expected a positive, finite number of minutes";
    let minutes: f64 = value
        .parse()
        .map_err(|_| format!("{expected}, got {value}"))?;
    if !(minutes.is_finite() && minutes > 0.0) {
        return Err(format!("{expected}, got {value}"));
    }
    // A finite number of minutes can still overflow a Duration (about 3e17 minutes).
    Duration::try_from_secs_f64(minutes * 60.0)
        .map_err(|_| format!("{expected} that fits a time span, got {value}"))
}

/// A positive, finite number (`--learning-rate`, `--temperature`, `--clip`).
pub fn parse_positive_number(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!("expected a positive, finite number, got {value}")),
    }
}

/// A probability in [0, 1] (`--label-smoothing`).
pub fn parse_probability(value: &str) -> Result<f64, String> {
    parse_fraction(value, "[0, 1]", |p| (0.0..=1.0).contains(&p))
}

/// A probability in [0, 1): dropping everything is not a model (`--dropout`,
/// `--word-dropout`).
pub fn parse_dropout(value: &str) -> Result<f64, String> {
    parse_fraction(value, "[0, 1)", |p| (0.0..1.0).contains(&p))
}

/// A factor in (0, 1] that shrinks something step by step (`--lr-decay`).
pub fn parse_decay(value: &str) -> Result<f64, String> {
    parse_fraction(value, "(0, 1]", |f| f > 0.0 && f <= 1.0)
}

/// A number that `accept` accepts, with an error naming `range` (NaN is never accepted).
fn parse_fraction(value: &str, range: &str, accept: fn(f64) -> bool) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(p) if accept(p) => Ok(p),
        _ => Err(format!("expected a value in {range}, got {value}")),
    }
}

/// Sets a training program's data file `file` to `--data` when it was given (`data`), else
/// keeps the program's default, and prints the run's first line: the file and the backend.
pub fn announce_training(data: Option<PathBuf>, file: &mut PathBuf, backend: Backend) {
    if let Some(data) = data {
        *file = data;
    }
    println!("training on {} ({backend:?})", file.display());
}

/// A program's command line, parsed (clap's errors exit as clap's do). First restores the
/// default action of `SIGPIPE`, which Rust's runtime ignores: printing to a pipe closed early
/// (`forecast predict | head -3`) would otherwise panic in `println!`, where a command-line
/// program is expected to end quietly.
pub fn parse_args<C: clap::Parser>() -> C {
    #[cfg(unix)]
    // SAFETY: `signal` with a valid signal number and `SIG_DFL` only changes this process's
    // disposition of that signal. It runs first in `main`, before the program starts any
    // thread or installs any handler, so nothing relies on the ignored disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    C::parse()
}

/// The exit status of a program whose command returned `result`: success, or failure with
/// the error printed to stderr as `error: MESSAGE`.
pub fn exit_code(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_names_parse_back() {
        for kind in CellKind::ALL {
            assert_eq!(parse_cell(cell_name(kind)), Ok(kind));
        }
        assert_eq!(
            parse_cell("rnn"),
            Err("expected lstm, gru, elman, mingru, minlstm, slstm or mlstm, got rnn".to_string())
        );
    }
}

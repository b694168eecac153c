//! Autoregressive decoding: what it needs to know ([`DecodeConfig`], [`BeamSearchConfig`],
//! [`Sampling`]), what it returns ([`Decoded`]), the hypotheses it keeps and the greedy loop
//! every head runs.

mod greedy;
mod hypothesis;
mod sampling;

use burn::config::Config;
use burn::tensor::Tensor;
use rnn_core::RnnError;
use rnn_core::validate::check_positive;

pub(crate) use greedy::{Rows, Step, greedy};
pub(crate) use hypothesis::Hypothesis;
pub use sampling::{Sampler, Sampling};

/// Start, stop and length of autoregressive decoding.
#[derive(Config, Debug)]
pub struct DecodeConfig {
    /// The token fed at the first step (beginning of sequence).
    pub start_token: usize,
    /// The token that ends a sequence (end of sequence).
    pub end_token: usize,
    /// The most tokens generated per sequence, the end token included.
    pub max_length: usize,
}

impl DecodeConfig {
    /// Checks the tokens are in the vocabulary and `max_length` ≥ 1.
    pub fn validate(&self, vocab_size: usize) -> Result<(), RnnError> {
        for (argument, token) in [
            ("decode.start_token", self.start_token),
            ("decode.end_token", self.end_token),
        ] {
            if token >= vocab_size {
                return Err(RnnError::new(
                    argument,
                    format!("a token id in 0..{vocab_size} (the vocabulary size)"),
                    token.to_string(),
                ));
            }
        }
        check_positive("decode.max_length", self.max_length)
    }
}

/// Beam width and length normalisation of [`Seq2Seq::beam_search`](crate::Seq2Seq::beam_search).
#[derive(Config, Debug)]
pub struct BeamSearchConfig {
    /// Number of hypotheses kept per example (≥ 1; 1 takes greedy decoding's path, but for
    /// tokens whose running sums round to the same value).
    pub beam_size: usize,
    /// Hypotheses are ranked by `log_prob / length^length_penalty`: 0 ranks by total
    /// log-probability (favouring short outputs), 1 by the mean per token.
    #[config(default = 1.0)]
    pub length_penalty: f64,
    /// Whether greedy decoding's hypothesis competes with the beam's finished ones, so the
    /// result never scores below greedy's (plain beam search can prune the greedy path).
    /// `false` is textbook beam search.
    #[config(default = true)]
    pub keep_greedy: bool,
}

impl BeamSearchConfig {
    /// Checks `beam_size` ≥ 1 and the penalty is finite.
    pub fn validate(&self) -> Result<(), RnnError> {
        check_positive("beam.beam_size", self.beam_size)?;
        if !self.length_penalty.is_finite() {
            return Err(RnnError::new(
                "beam.length_penalty",
                "a finite value",
                self.length_penalty.to_string(),
            ));
        }
        Ok(())
    }

    /// The ranking score of a hypothesis of `length` tokens with total `log_prob`.
    pub fn score(&self, log_prob: f32, length: usize) -> f32 {
        log_prob / (length as f32).powf(self.length_penalty as f32)
    }
}

/// Sequences produced by a decoder, one per example.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The generated ids of each example, ending with the end token unless `max_length` was
    /// reached first; the start token is not included.
    pub tokens: Vec<Vec<usize>>,
    /// The model's total log-probability of each example's tokens.
    pub log_probs: Vec<f32>,
    /// The score each result was ranked by (beam search: the length-normalised
    /// log-probability; greedy: the log-probability).
    pub scores: Vec<f32>,
    /// `[batch, target, source]`: the attention weights that produced each token (row `t` for
    /// `tokens[b][t]`), zero past each example's tokens and at padded source positions.
    pub attention: Tensor<3>,
}

/// Checks the log-probabilities of the examples still decoding at `step` have no NaN, and
/// names the first example that has one. `values` holds the same number of values for each
/// of `examples` (its rows of log-probabilities, or one [`row_sums`] value per row), in
/// their order; each of `examples` is the example (its index in the batch) whose values
/// those are, or `None` for values to ignore (a sequence that ended).
///
/// A NaN or +inf logit makes its whole row of log-probabilities NaN (the normaliser sums over
/// the row). Nothing can be ranked by NaN: argmax, top-k and sampling would each return an
/// arbitrary token (or none), so decoding stops with this error instead.
pub(crate) fn check_log_probs(
    values: &[f32],
    examples: impl ExactSizeIterator<Item = Option<usize>>,
    step: usize,
) -> Result<(), RnnError> {
    let per_example = values.len() / examples.len();
    let nan = values
        .chunks(per_example)
        .zip(examples)
        .find_map(|(rows, example)| example.filter(|_| rows.iter().any(|v| v.is_nan())));
    match nan {
        Some(example) => Err(RnnError::new(
            "logits",
            "finite values",
            format!("NaN at step {step} of example {example}"),
        )),
        None => Ok(()),
    }
}

/// A decoding batch drops its ended rows once they are at least one in this many of its rows
/// (in beam search, its done examples' slots): dropping them copies the state and what the
/// decoder attends to of every row that goes on, which costs as much as computing a few
/// ended rows for a few steps.
const DROP_ENDED_ROWS_AT: usize = 8;

/// The rows of a decoding batch to keep, given each row's sequence (`None` once it ended):
/// the positions of those still decoding when the ended ones are at least one in
/// [`DROP_ENDED_ROWS_AT`] of the rows; `None` while the batch keeps every row.
pub(crate) fn rows_to_keep(rows: &[Option<usize>]) -> Option<Vec<usize>> {
    let ended = rows.iter().filter(|r| r.is_none()).count();
    (ended * DROP_ENDED_ROWS_AT >= rows.len())
        .then(|| (0..rows.len()).filter(|&i| rows[i].is_some()).collect())
}

/// Keeps the rows `rows` of `values` (one value per row of a decoding batch), in that order.
pub(crate) fn keep_rows<T: Default>(values: &mut Vec<T>, rows: &[usize]) {
    *values = rows
        .iter()
        .map(|&r| std::mem::take(&mut values[r]))
        .collect();
}

/// The sum of each row of `log_probs: [n, vocab]`, read back from the device (`n` values):
/// NaN exactly where the row has a NaN, as log-probabilities are at most 0 (no `inf - inf`).
/// A smaller transfer than the rows themselves, for [`check_log_probs`].
pub(crate) fn row_sums(log_probs: Tensor<2>) -> Vec<f32> {
    log_probs.sum_dim(1).into_data().iter::<f32>().collect()
}

//! The greedy decoding loop, shared by every autoregressive head: feed the previous tokens,
//! pick the next ones, stop at the end token or the length limit.

use burn::tensor::{Device, Int, Tensor};
use rnn_core::{RnnError, RnnState, log_softmax};

use super::sampling::Sampler;
use super::{DecodeConfig, Hypothesis, check_log_probs, row_sums};
use crate::tokens::from_ids;

/// What one decoder step gives for `n` rows.
pub(crate) struct Step<S> {
    /// `[n, vocab]` the logits of each row's next token.
    pub logits: Tensor<2>,
    /// `[n, source]` the step's attention weights, for heads that attend.
    pub attention: Option<Tensor<2>>,
    /// The decoder's state after the step.
    pub state: S,
}

/// What a decoder carries from step to step for each of its rows (its state, and what it
/// attends to): the greedy loop keeps only the rows of the sequences still decoding.
pub(crate) trait Rows {
    /// The rows `rows` (`[n]` indices), in that order.
    fn select_rows(self, rows: Tensor<1, Int>) -> Self;
}

impl Rows for RnnState<3> {
    /// Parts `[layers, n, size]`.
    fn select_rows(self, rows: Tensor<1, Int>) -> Self {
        self.map(|part| part.select(1, rows.clone()))
    }
}

impl<A: Rows, B: Rows> Rows for (A, B) {
    fn select_rows(self, rows: Tensor<1, Int>) -> Self {
        (self.0.select_rows(rows.clone()), self.1.select_rows(rows))
    }
}

/// Decodes `batch` sequences from `state`, one token per `step` (previous tokens `[n]` and
/// state → [`Step`]), until every sequence has produced the end token or
/// `decode.max_length` tokens. A sequence leaves the batch when it ends: each step runs the
/// `n` rows of those still decoding, in batch order.
///
/// Each token is the most likely one (picked on the device), or drawn by `sampler` when
/// given (on the host, from every row read back). Either way, the rows are checked for NaN
/// first ([`check_log_probs`]).
pub(crate) fn greedy<S: Rows>(
    decode: &DecodeConfig,
    batch: usize,
    device: &Device,
    mut state: S,
    mut sampler: Option<Sampler>,
    mut step: impl FnMut(Tensor<1, Int>, S) -> Result<Step<S>, RnnError>,
) -> Result<Vec<Hypothesis>, RnnError> {
    let mut hypotheses = vec![Hypothesis::default(); batch];
    // The sequences still decoding, and their previous tokens.
    let mut active: Vec<usize> = (0..batch).collect();
    let mut next = vec![decode.start_token; batch];
    for t in 0..decode.max_length {
        let out = step(from_ids(&next, device), state)?;
        state = out.state;
        let log_probs = log_softmax(out.logits, 1);
        // Each row's (token, log-probability).
        let picked: Vec<(usize, f32)> = match sampler.as_mut() {
            Some(sampler) => {
                let rows: Vec<f32> = log_probs.into_data().iter::<f32>().collect();
                check_log_probs(&rows, &active, t)?;
                rows.chunks(rows.len() / active.len())
                    .map(|row| {
                        let token = sampler.choose(row);
                        (token, row[token])
                    })
                    .collect()
            }
            None => {
                // The maximum of a NaN row is not NaN on every backend: check the row sums.
                check_log_probs(&row_sums(log_probs.clone()), &active, t)?;
                let (best, ids) = log_probs.max_dim_with_indices(1);
                let best = best.into_data().iter::<f32>().collect::<Vec<_>>();
                let ids = ids.into_data().iter::<i64>().collect::<Vec<_>>();
                ids.into_iter()
                    .zip(best)
                    .map(|(id, best)| (id as usize, best))
                    .collect()
            }
        };
        let weights: Option<Vec<f32>> =
            out.attention.map(|w| w.into_data().iter::<f32>().collect());
        let width = weights.as_ref().map_or(0, |w| w.len() / active.len());
        // Positions in `active` of the sequences that go on, and their tokens.
        let mut going_on = Vec::with_capacity(active.len());
        next.clear();
        for (i, (token, log_prob)) in picked.into_iter().enumerate() {
            let row = weights
                .as_ref()
                .map_or(&[][..], |w| &w[i * width..(i + 1) * width]);
            hypotheses[active[i]].push(token, log_prob, row);
            if token != decode.end_token {
                going_on.push(i);
                next.push(token);
            }
        }
        if going_on.is_empty() {
            break;
        }
        if going_on.len() < active.len() {
            state = state.select_rows(from_ids(&going_on, device));
            active = going_on.iter().map(|&i| active[i]).collect();
        }
    }
    Ok(hypotheses)
}

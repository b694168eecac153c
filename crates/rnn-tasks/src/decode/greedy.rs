//! The greedy decoding loop, shared by every autoregressive head: feed the previous tokens,
//! pick the next ones, stop at the end token or the length limit.

use burn::tensor::{Device, Int, Tensor};
use rnn_core::{RnnError, RnnState, log_softmax};

use super::sampling::Sampler;
use super::{DecodeConfig, Hypothesis, check_log_probs, keep_rows, row_sums, rows_to_keep};
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
/// attends to): the greedy loop drops the rows of the sequences that ended.
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
/// `decode.max_length` tokens. Sequences leave the batch after they end (see
/// [`rows_to_keep`]): each step runs `n` rows, those of the sequences still decoding and
/// of a few that ended (whose results are not read), in batch order.
///
/// Each token is the most likely one (picked on the device), or drawn by `sampler` when
/// given (on the host, from every row read back). Either way, the rows of the sequences still
/// decoding are checked for NaN first ([`check_log_probs`]).
pub(crate) fn greedy<S: Rows>(
    decode: &DecodeConfig,
    batch: usize,
    device: &Device,
    mut state: S,
    mut sampler: Option<Sampler>,
    mut step: impl FnMut(Tensor<1, Int>, S) -> Result<Step<S>, RnnError>,
) -> Result<Vec<Hypothesis>, RnnError> {
    let mut hypotheses = vec![Hypothesis::default(); batch];
    // Each row's sequence (`None` once it has ended), and its previous token.
    let mut rows: Vec<Option<usize>> = (0..batch).map(Some).collect();
    let mut next = vec![decode.start_token; batch];
    for t in 0..decode.max_length {
        let out = step(from_ids(&next, device), state)?;
        state = out.state;
        let log_probs = log_softmax(out.logits, 1);
        // Each row's (token, log-probability); `None` for the ended ones.
        let picked: Vec<Option<(usize, f32)>> = match sampler.as_mut() {
            Some(sampler) => {
                let values: Vec<f32> = log_probs.into_data().iter::<f32>().collect();
                check_log_probs(&values, rows.iter().copied(), t)?;
                // Ended sequences draw no random numbers: a seed gives the same sequences
                // whenever the batch drops them.
                values
                    .chunks(values.len() / rows.len())
                    .zip(&rows)
                    .map(|(row, sequence)| {
                        sequence.map(|_| {
                            let token = sampler.pick(row);
                            (token, row[token])
                        })
                    })
                    .collect()
            }
            None => {
                // The maximum of a NaN row is not NaN on every backend: check the row sums.
                check_log_probs(&row_sums(log_probs.clone()), rows.iter().copied(), t)?;
                let (best, ids) = log_probs.max_dim_with_indices(1);
                let best = best.into_data().iter::<f32>().collect::<Vec<_>>();
                let ids = ids.into_data().iter::<i64>().collect::<Vec<_>>();
                ids.into_iter()
                    .zip(best)
                    .zip(&rows)
                    .map(|((id, best), sequence)| sequence.map(|_| (id as usize, best)))
                    .collect()
            }
        };
        let weights: Option<Vec<f32>> =
            out.attention.map(|w| w.into_data().iter::<f32>().collect());
        let width = weights.as_ref().map_or(0, |w| w.len() / rows.len());
        for (i, pick) in picked.into_iter().enumerate() {
            let (Some(sequence), Some((token, log_prob))) = (rows[i], pick) else {
                continue;
            };
            let row = weights
                .as_ref()
                .map_or(&[][..], |w| &w[i * width..(i + 1) * width]);
            hypotheses[sequence].push(token, log_prob, row);
            next[i] = token;
            if token == decode.end_token {
                rows[i] = None;
            }
        }
        if rows.iter().all(Option::is_none) {
            break;
        }
        if let Some(going_on) = rows_to_keep(&rows) {
            state = state.select_rows(from_ids(&going_on, device));
            keep_rows(&mut rows, &going_on);
            keep_rows(&mut next, &going_on);
        }
    }
    Ok(hypotheses)
}

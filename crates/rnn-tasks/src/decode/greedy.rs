//! The greedy decoding loop, shared by every autoregressive head: feed the previous tokens,
//! pick the next ones, stop at the end token or the length limit.

use burn::tensor::{Device, Int, Tensor};
use rnn_core::{RnnError, log_softmax};

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

/// Decodes `batch` sequences from `state`, one token per `step` (previous tokens `[batch]`
/// and state → [`Step`]), until every sequence has produced the end token or
/// `decode.max_length` tokens.
///
/// Each token is the most likely one (picked on the device), or drawn by `sampler` when
/// given (on the host, from every row read back). Either way, the rows of the sequences still
/// decoding are checked for NaN first ([`check_log_probs`]).
pub(crate) fn greedy<S>(
    decode: &DecodeConfig,
    batch: usize,
    device: &Device,
    mut state: S,
    mut sampler: Option<Sampler>,
    mut step: impl FnMut(Tensor<1, Int>, S) -> Result<Step<S>, RnnError>,
) -> Result<Vec<Hypothesis>, RnnError> {
    let mut hypotheses = vec![Hypothesis::default(); batch];
    let mut next = vec![decode.start_token; batch];
    let mut done = vec![false; batch];
    for t in 0..decode.max_length {
        let out = step(from_ids(&next, device), state)?;
        state = out.state;
        let log_probs = log_softmax(out.logits, 1);
        // Each sequence's (token, log-probability); `None` for the finished ones.
        let picked: Vec<Option<(usize, f32)>> = match sampler.as_mut() {
            Some(sampler) => {
                let rows: Vec<f32> = log_probs.into_data().iter::<f32>().collect();
                check_log_probs(&rows, &done, t)?;
                // Finished sequences draw no random numbers: a seed gives the same sequences
                // as it always has.
                rows.chunks(rows.len() / batch)
                    .zip(&done)
                    .map(|(row, &done)| {
                        (!done).then(|| {
                            let token = sampler.choose(row);
                            (token, row[token])
                        })
                    })
                    .collect()
            }
            None => {
                // The maximum of a NaN row is not NaN on every backend: check the row sums.
                check_log_probs(&row_sums(log_probs.clone()), &done, t)?;
                let (best, ids) = log_probs.max_dim_with_indices(1);
                let best = best.into_data().iter::<f32>().collect::<Vec<_>>();
                let ids = ids.into_data().iter::<i64>().collect::<Vec<_>>();
                ids.into_iter()
                    .zip(best)
                    .zip(&done)
                    .map(|((id, best), &done)| (!done).then_some((id as usize, best)))
                    .collect()
            }
        };
        let weights: Option<Vec<f32>> =
            out.attention.map(|w| w.into_data().iter::<f32>().collect());
        let width = weights.as_ref().map_or(0, |w| w.len() / batch);
        for (b, pick) in picked.into_iter().enumerate() {
            let Some((token, log_prob)) = pick else {
                continue;
            };
            let row = weights
                .as_ref()
                .map_or(&[][..], |w| &w[b * width..(b + 1) * width]);
            hypotheses[b].push(token, log_prob, row);
            done[b] = token == decode.end_token;
            next[b] = token;
        }
        if done.iter().all(|&d| d) {
            break;
        }
    }
    Ok(hypotheses)
}

//! Beam search for [`Seq2Seq`]: K hypotheses per example, decoded as one batch of
//! `batch * K` rows; the bookkeeping (finished beams, back-pointers) happens on the host.

use burn::tensor::{Int, Tensor, TensorData};
use rnn_core::{RnnError, log_softmax, topk_with_indices};

use super::Seq2Seq;
use crate::decode::{
    BeamSearchConfig, DecodeConfig, Decoded, Hypothesis, check_log_probs, keep_rows, row_sums,
    rows_to_keep,
};
use crate::tokens::from_ids;

impl Seq2Seq {
    /// Beam search: keeps the `beam.beam_size` best hypotheses of each example at every step,
    /// ranked by the length-normalised log-probability ([`BeamSearchConfig::score`]); an
    /// example stops when it has `beam_size` finished hypotheses (ending with the end token)
    /// or at `decode.max_length`, and returns its best one.
    ///
    /// As in fairseq, a hypothesis ending with the end token is finished when it ranks among
    /// the `beam_size` best candidates of its step; `2 * beam_size` candidates are drawn so
    /// `beam_size` unfinished ones continue. With `beam_size = 1` this takes greedy decoding's
    /// path (but for tokens whose running sums round to the same value). Decode on an
    /// inference device, as [`greedy`](Self::greedy) says.
    /// Plain beam search can prune the greedy path and end worse than greedy decoding; with
    /// `beam.keep_greedy` (the default) the greedy hypothesis competes with the finished ones,
    /// so the result never scores below greedy's.
    ///
    /// # Panics
    /// On bad arguments or NaN logits, with the message of
    /// [`try_beam_search`](Self::try_beam_search).
    pub fn beam_search(
        &self,
        source: Tensor<2, Int>,
        source_lengths: Option<&[usize]>,
        decode: &DecodeConfig,
        beam: &BeamSearchConfig,
    ) -> Decoded {
        self.try_beam_search(source, source_lengths, decode, beam)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`beam_search`](Self::beam_search), returning an error that names the bad argument, or
    /// the step and example where the model's logits were NaN, as
    /// [`try_greedy`](Self::try_greedy).
    pub fn try_beam_search(
        &self,
        source: Tensor<2, Int>,
        source_lengths: Option<&[usize]>,
        decode: &DecodeConfig,
        beam: &BeamSearchConfig,
    ) -> Result<Decoded, RnnError> {
        beam.validate()?;
        decode.validate(self.target_vocab_size())?;
        let k = beam.beam_size;
        let [batch, source_len] = source.dims();
        let device = source.device();
        let vocab = self.target_vocab_size();
        let (memory, state) = self.encode(source, source_lengths)?;
        let greedy = beam
            .keep_greedy
            .then(|| self.greedy_hypotheses(&memory, state.clone(), decode))
            .transpose()?;
        // Row i * k + j is beam j of the example in slot i. A done example's slot is emptied,
        // its rows computed but not read, until the batch drops the empty slots' rows (as
        // greedy decoding does, see `rows_to_keep`), so later steps compute only the
        // rows of the examples still decoding and a few done ones (as fairseq's generator
        // drops finished sentences).
        let mut slots: Vec<Option<usize>> = (0..batch).map(Some).collect();
        let expand: Vec<usize> = (0..batch * k).map(|row| row / k).collect();
        let expand = from_ids(&expand, &device);
        let mut memory = memory.select(expand.clone());
        let mut state = state.select(expand);
        let mut beams = vec![Hypothesis::default(); batch * k];
        // Only the first beam of each example is live at the start (the others are copies).
        let mut scores: Vec<f32> = (0..batch * k)
            .map(|row| if row % k == 0 { 0.0 } else { f32::NEG_INFINITY })
            .collect();
        let mut next = vec![decode.start_token; batch * k];
        let mut finished: Vec<Vec<Hypothesis>> = vec![Vec::new(); batch];
        let candidates = (2 * k).min(k * vocab);
        for step in 0..decode.max_length {
            let rows = slots.len() * k;
            let (logits, weights, s) = self.decode_step(&memory, from_ids(&next, &device), state);
            let log_probs = log_softmax(logits, 1);
            // Top-k orders NaN differently on each backend: refuse NaN rows before ranking.
            check_log_probs(&row_sums(log_probs.clone()), slots.iter().copied(), step)?;
            let carried = TensorData::new(scores.clone(), [rows, 1]);
            let carried = Tensor::<2>::from_data(carried, (&device, log_probs.dtype()));
            let totals = log_probs + carried;
            let (top, index) =
                topk_with_indices(totals.reshape([slots.len(), k * vocab]), candidates, 1);
            let top: Vec<f32> = top.into_data().iter::<f32>().collect();
            let index: Vec<i64> = index.into_data().iter::<i64>().collect();
            let weights: Vec<f32> = weights.into_data().iter::<f32>().collect();
            let last = step + 1 == decode.max_length;

            // Each row's parent row, hypothesis, score and token for the next step.
            let mut parents = Vec::with_capacity(rows);
            let mut next_beams = Vec::with_capacity(rows);
            let mut next_scores = Vec::with_capacity(rows);
            let mut next_tokens = Vec::with_capacity(rows);
            for (i, slot) in slots.iter_mut().enumerate() {
                let first = parents.len();
                if let Some(b) = *slot {
                    for rank in 0..candidates {
                        let (total, flat) =
                            (top[i * candidates + rank], index[i * candidates + rank]);
                        // Dead rows score -inf; some backends' top-k report those as
                        // (f32::MIN, -1).
                        let dead = total <= f32::MIN || flat < 0;
                        if dead || parents.len() - first == k || (last && rank >= k) {
                            break;
                        }
                        let flat = flat as usize;
                        let (parent, token) = (i * k + flat / vocab, flat % vocab);
                        let row = &weights[parent * source_len..(parent + 1) * source_len];
                        let mut hypothesis = beams[parent].extend(token, 0.0, row);
                        hypothesis.log_prob = total;
                        if token == decode.end_token {
                            if rank < k {
                                finished[b].push(hypothesis);
                            }
                        } else if last {
                            finished[b].push(hypothesis);
                        } else {
                            parents.push(parent);
                            next_beams.push(hypothesis);
                            next_scores.push(total);
                            next_tokens.push(token);
                        }
                    }
                    let live = parents.len() - first;
                    if last || finished[b].len() >= k || live == 0 {
                        *slot = None;
                        parents.truncate(first);
                        next_beams.truncate(first);
                        next_scores.truncate(first);
                        next_tokens.truncate(first);
                    }
                }
                // Spare rows, and a done example's, are dead copies.
                for _ in parents.len() - first..k {
                    parents.push(i * k);
                    next_beams.push(Hypothesis::default());
                    next_scores.push(f32::NEG_INFINITY);
                    next_tokens.push(decode.end_token);
                }
            }
            if slots.iter().all(Option::is_none) {
                break;
            }
            if let Some(going_on) = rows_to_keep(&slots) {
                let kept: Vec<usize> = going_on.iter().flat_map(|&i| i * k..(i + 1) * k).collect();
                memory = memory.select(from_ids(&kept, &device));
                slots = going_on.iter().map(|&i| slots[i]).collect();
                keep_rows(&mut parents, &kept);
                keep_rows(&mut next_beams, &kept);
                keep_rows(&mut next_scores, &kept);
                keep_rows(&mut next_tokens, &kept);
            }
            state = s.select(from_ids(&parents, &device));
            beams = next_beams;
            scores = next_scores;
            next = next_tokens;
        }

        let mut greedy = greedy.map(Vec::into_iter);
        let mut best = Vec::with_capacity(batch);
        let mut best_scores = Vec::with_capacity(batch);
        for candidates in finished {
            let (score, hypothesis) = candidates
                .into_iter()
                .chain(greedy.as_mut().and_then(Iterator::next))
                .map(|h| (beam.score(h.log_prob, h.tokens.len()), h))
                .fold(
                    None,
                    |best: Option<(f32, Hypothesis)>, (score, h)| match best {
                        Some((s, b)) if s >= score => Some((s, b)),
                        _ => Some((score, h)),
                    },
                )
                .expect("every example finishes at least one hypothesis");
            best.push(hypothesis);
            best_scores.push(score);
        }
        Ok(Hypothesis::into_decoded(
            best,
            best_scores,
            source_len,
            &device,
        ))
    }
}

//! An output sequence under construction, as greedy decoding and beam search keep it.

use burn::tensor::{Device, Tensor, TensorData};

use super::Decoded;

/// A partial or finished output sequence, kept on the host.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hypothesis {
    /// The tokens so far.
    pub tokens: Vec<usize>,
    /// Their total log-probability.
    pub log_prob: f32,
    /// The attention row `[source]` of every token (empty rows for heads without attention).
    pub attention: Vec<Vec<f32>>,
}

impl Hypothesis {
    /// Appends `token` (of log-probability `log_prob`, attention `row`).
    pub fn push(&mut self, token: usize, log_prob: f32, row: &[f32]) {
        self.tokens.push(token);
        self.log_prob += log_prob;
        self.attention.push(row.to_vec());
    }

    /// This hypothesis followed by `token`, as [`push`](Self::push), leaving this one as is
    /// (a beam's hypothesis can have several continuations).
    pub fn extend(&self, token: usize, log_prob: f32, row: &[f32]) -> Self {
        let mut next = self.clone();
        next.push(token, log_prob, row);
        next
    }

    /// One hypothesis per example, with the `scores` they were ranked by, as [`Decoded`]
    /// (attention `[batch, longest, source_len]`).
    pub fn into_decoded(
        hypotheses: Vec<Hypothesis>,
        scores: Vec<f32>,
        source_len: usize,
        device: &Device,
    ) -> Decoded {
        let batch = hypotheses.len();
        let longest = hypotheses.iter().map(|h| h.tokens.len()).max().unwrap_or(1);
        let mut attention = vec![0.0f32; batch * longest * source_len];
        for (b, h) in hypotheses.iter().enumerate() {
            for (t, row) in h.attention.iter().enumerate() {
                let start = (b * longest + t) * source_len;
                attention[start..start + source_len].copy_from_slice(row);
            }
        }
        Decoded {
            log_probs: hypotheses.iter().map(|h| h.log_prob).collect(),
            tokens: hypotheses.into_iter().map(|h| h.tokens).collect(),
            scores,
            attention: Tensor::from_data(
                TensorData::new(attention, [batch, longest, source_len]),
                device,
            ),
        }
    }
}

//! Greedy decoding of a [`Seq2Seq`]: the most likely token at every step.

use burn::tensor::{Int, Tensor};
use rnn_core::RnnError;

use super::Seq2Seq;
use super::decoder::DecoderState;
use crate::attention::AttentionMemory;
use crate::decode::{DecodeConfig, Decoded, Hypothesis, Step, greedy};

impl Seq2Seq {
    /// Greedy decoding: the most likely token at every step, until the end token or
    /// `decode.max_length`, for `source: [batch, source]` with valid `source_lengths`.
    ///
    /// Decode with the model on an inference device (`model.valid()` of a trained one):
    /// on an autodiff device the model's dropout is active, as in training, and the output
    /// random.
    ///
    /// # Panics
    /// On bad arguments or NaN logits, with the message of [`try_greedy`](Self::try_greedy).
    pub fn greedy(
        &self,
        source: Tensor<2, Int>,
        source_lengths: Option<&[usize]>,
        decode: &DecodeConfig,
    ) -> Decoded {
        self.try_greedy(source, source_lengths, decode)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`greedy`](Self::greedy), returning an error that names the bad argument, or the step
    /// and example where the model's logits were NaN (`logits: expected finite values, got
    /// NaN at step 3 of example 0`; steps count from 0).
    pub fn try_greedy(
        &self,
        source: Tensor<2, Int>,
        source_lengths: Option<&[usize]>,
        decode: &DecodeConfig,
    ) -> Result<Decoded, RnnError> {
        decode.validate(self.target_vocab_size())?;
        let source_len = source.dims()[1];
        let device = source.device();
        let (memory, state) = self.encode(source, source_lengths)?;
        let hypotheses = self.greedy_hypotheses(&memory, state, decode)?;
        let scores = hypotheses.iter().map(|h| h.log_prob).collect();
        Ok(Hypothesis::into_decoded(
            hypotheses, scores, source_len, &device,
        ))
    }

    /// Greedy decoding from an encoded batch: one hypothesis per example, or the error of
    /// [`check_log_probs`](crate::decode::check_log_probs) when the logits of an unfinished
    /// example are NaN.
    pub(crate) fn greedy_hypotheses(
        &self,
        memory: &AttentionMemory,
        state: DecoderState,
        decode: &DecodeConfig,
    ) -> Result<Vec<Hypothesis>, RnnError> {
        let batch = memory.values.dims()[0];
        let device = memory.values.device();
        // The memory's rows go with the state's: those of the sentences still decoding.
        let rows = (memory.clone(), state);
        greedy(
            decode,
            batch,
            &device,
            rows,
            None,
            |tokens, (memory, state)| {
                let (logits, weights, state) = self.decode_step(&memory, tokens, state);
                Ok(Step {
                    logits,
                    attention: Some(weights),
                    state: (memory, state),
                })
            },
        )
    }
}

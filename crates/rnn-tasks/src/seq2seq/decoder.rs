//! The two halves of a [`Seq2Seq`] pass: encoding the source (attention memory and the
//! decoder's initial state), and one decoder step.

use burn::tensor::{Int, Tensor};
use rnn_core::validate::check_not_empty;
use rnn_core::{RnnError, RnnState, dropout_layer};

use super::Seq2Seq;
use crate::attention::{Attention, AttentionMemory};
use crate::decode::Rows;
use crate::encoder::encode;
use crate::sequence_encoder::last_layer;
use crate::tokens::check_tokens;

/// The decoder's state between steps.
#[derive(Debug, Clone)]
pub(crate) struct DecoderState {
    /// The recurrent state, parts `[num_layers, n, size]` (`h`: the decoder's state size,
    /// `c`: its hidden size).
    pub rnn: RnnState<3>,
    /// The previous attentional state `h̃` `[n, attentional]` (input feeding only).
    pub feed: Option<Tensor<2>>,
}

impl DecoderState {
    /// The state of the rows `rows` (`[n]` indices), e.g. to follow beam back-pointers.
    pub fn select(self, rows: Tensor<1, Int>) -> Self {
        Self {
            rnn: self.rnn.map(|t| t.select(1, rows.clone())),
            feed: self.feed.map(|f| f.select(0, rows)),
        }
    }
}

impl Rows for DecoderState {
    fn select_rows(self, rows: Tensor<1, Int>) -> Self {
        self.select(rows)
    }
}

impl Seq2Seq {
    /// Encodes `source: [batch, source]`: the attention memory and the decoder's initial state.
    pub(crate) fn encode(
        &self,
        source: Tensor<2, Int>,
        source_lengths: Option<&[usize]>,
    ) -> Result<(AttentionMemory, DecoderState), RnnError> {
        let [batch, seq] = source.dims();
        check_not_empty("source", [batch, seq])?;
        check_tokens("source", &source, self.source_vocab_size())?;
        let device = source.device();
        let x = self.source_embedding.forward(source);
        let x_dtype = x.dtype();
        let encoded = encode(
            &self.encoder,
            &self.dropout,
            x,
            source_lengths,
            "source_lengths",
        )?;
        let memory = self.attention.memory(encoded.output, encoded.pad);
        let summary = encoded.state.map(|part| last_layer(&self.encoder, part));
        // The bridge reads `c` where the encoder has one of `h`'s kind (not the mLSTM's memory).
        let cell = summary.cell.filter(|_| self.encoder.has_cell_state());
        let content = self.bridge.forward(summary.hidden, cell);
        let attentional = self.combine.weight.dims()[1];
        Ok((
            memory,
            DecoderState {
                rnn: self
                    .decoder
                    .try_initial_state(content.hidden, content.cell)?,
                feed: self
                    .input_feeding
                    .then(|| Tensor::zeros([batch, attentional], (&device, x_dtype))),
            },
        ))
    }

    /// One decoder step for `tokens: [n]` (the previous tokens): logits `[n, vocab]`,
    /// attention weights `[n, source]` and the next state.
    pub(crate) fn decode_step(
        &self,
        memory: &AttentionMemory,
        tokens: Tensor<1, Int>,
        state: DecoderState,
    ) -> (Tensor<2>, Tensor<2>, DecoderState) {
        let embedded = dropout_layer(
            &self.dropout,
            self.target_embedding.forward(tokens.unsqueeze_dim(1)),
        )
        .squeeze_dim::<2>(1);
        // Bahdanau attends from the previous state, before the step, and reads the context.
        let early = match self.attention {
            Attention::Bahdanau(_) => {
                let [layers, _, _] = state.rnn.hidden.dims();
                let query = state
                    .rnn
                    .hidden
                    .clone()
                    .narrow(0, layers - 1, 1)
                    .squeeze_dim::<2>(0);
                Some(self.attention.attend(query, memory))
            }
            Attention::Luong(_) => None,
        };
        let mut inputs = vec![embedded];
        inputs.extend(early.as_ref().map(|(context, _)| context.clone()));
        inputs.extend(state.feed);
        let (s, rnn) = self.decoder.step(Tensor::cat(inputs, 1), Some(state.rnn));
        let (context, weights) = early.unwrap_or_else(|| self.attention.attend(s.clone(), memory));
        let (attentional, logits) = self.predict(s, context);
        let feed = self.input_feeding.then_some(attentional);
        (logits, weights, DecoderState { rnn, feed })
    }
}

//! Sequence to sequence with attention: an encoder, a bridge to the decoder's initial state,
//! and a decoder that attends over the encoder outputs at every step.
//!
//! One idea per file: the configuration ([`Seq2SeqConfig`], `config.rs`), the model and its
//! teacher-forced training forward (here), encoding the source and one decoder step
//! (`decoder.rs`), greedy decoding (`greedy.rs`) and beam search (`beam.rs`).

mod beam;
mod config;
mod decoder;
mod greedy;

use burn::module::Module;
use burn::nn::{Dropout, Embedding, Linear};
use burn::tensor::{Distribution, Int, Tensor};
use rnn_core::validate::check_not_empty;
use rnn_core::{AnyRnn, RnnError, dropout_layer, linear_layer, tanh};

use crate::attention::{Attention, AttentionMemory};
use crate::bridge::Bridge;
use crate::output::OutputLayer;
use crate::tokens::check_tokens;

pub use config::Seq2SeqConfig;
use decoder::DecoderState;

/// What the training forward of [`Seq2Seq`] returns.
#[derive(Debug, Clone)]
pub struct Seq2SeqOutput {
    /// `[batch, target, target_vocab]` logits of each next token.
    pub logits: Tensor<3>,
    /// `[batch, target, source]` attention weights of each step (0 at padded source positions).
    pub attention: Tensor<3>,
}

/// Encoder–decoder with attention (Bahdanau 2015; Luong 2015), for translation and other
/// sequence transduction.
///
/// At each target step `t` the decoder reads the embedding of the previous token (plus, for
/// Bahdanau, the context of the previous state, and with input feeding `h̃_{t-1}`), steps its
/// recurrent state `s_t`, attends over the encoder outputs to get the context `c_t`, forms the
/// attentional state `h̃_t = tanh(W_c [s_t; c_t])` and predicts `softmax(W_o h̃_t)`. The
/// decoder starts from `tanh(W [enc_fwd; enc_bwd])` of the encoder's final states (merged as
/// the encoder merges its outputs).
///
/// ```
/// use burn::tensor::{Device, Int, Tensor};
/// use rnn_core::CellKind;
/// use rnn_tasks::{
///     AttentionKind, BeamSearchConfig, DecodeConfig, RecurrentConfig, Seq2SeqConfig,
/// };
///
/// let device = Device::default();
/// let model = Seq2SeqConfig::new(
///     30, // source vocabulary
///     40, // target vocabulary
///     RecurrentConfig::new(16).with_bidirectional(true),
///     RecurrentConfig::new(24).with_cell(CellKind::Gru),
/// )
/// .with_embedding_size(8)
/// .with_attention(AttentionKind::Bahdanau)
/// .init(&device);
/// // Two source sentences (the second has 2 tokens) and teacher-forced target inputs.
/// let source = Tensor::<2, Int>::from_ints([[4, 5, 6], [7, 8, 0]], &device);
/// let target_in = Tensor::<2, Int>::from_ints([[1, 9, 10, 11], [1, 12, 13, 0]], &device);
/// let out = model.forward(source.clone(), Some(&[3, 2]), target_in);
/// assert_eq!(out.logits.dims(), [2, 4, 40]);
/// assert_eq!(out.attention.dims(), [2, 4, 3]);
///
/// let decode = DecodeConfig::new(1, 2, 10); // start 1, end 2, at most 10 tokens
/// let greedy = model.greedy(source.clone(), Some(&[3, 2]), &decode);
/// let beam = model.beam_search(source, Some(&[3, 2]), &decode, &BeamSearchConfig::new(4));
/// assert_eq!(greedy.tokens.len(), 2);
/// let [batch, _, source] = beam.attention.dims(); // [batch, longest output, source]
/// assert_eq!([batch, source], [2, 3]);
/// ```
#[derive(Module, Debug)]
pub struct Seq2Seq {
    /// Source token embeddings.
    pub source_embedding: Embedding,
    /// Target token embeddings.
    pub target_embedding: Embedding,
    /// The encoder.
    pub encoder: AnyRnn,
    /// Encoder final states → decoder initial state.
    pub bridge: Bridge,
    /// The decoder.
    pub decoder: AnyRnn,
    /// Attention over the encoder outputs.
    pub attention: Attention,
    /// `W_c`: `[s_t; c_t]` → attentional state `h̃_t`.
    pub combine: Linear,
    /// `W_o`: `h̃_t` → logits over the target vocabulary (own weights, or the target
    /// embedding's).
    pub output: OutputLayer,
    /// Dropout on embeddings and before the output layer.
    pub dropout: Dropout,
    /// Whether `h̃_{t-1}` is fed to the decoder.
    #[module(skip)]
    pub input_feeding: bool,
    /// Probability of feeding the true previous token in [`forward`](Self::forward).
    #[module(skip)]
    pub teacher_forcing: f64,
}

impl Seq2Seq {
    /// Training forward: logits for every position of `target_input: [batch, target]` (each
    /// row the start token then the target shifted right) given `source: [batch, source]`
    /// with valid `source_lengths`. Each step feeds the true previous token with probability
    /// `teacher_forcing` (else the model's own prediction, per example).
    ///
    /// Padded target positions give logits too; mask them in the loss
    /// ([`masked_cross_entropy`](crate::masked_cross_entropy)).
    ///
    /// # Panics
    /// On bad arguments, with the message of [`try_forward`](Self::try_forward).
    pub fn forward(
        &self,
        source: Tensor<2, Int>,
        source_lengths: Option<&[usize]>,
        target_input: Tensor<2, Int>,
    ) -> Seq2SeqOutput {
        self.try_forward(source, source_lengths, target_input)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`forward`](Self::forward), returning an error that names the bad argument.
    pub fn try_forward(
        &self,
        source: Tensor<2, Int>,
        source_lengths: Option<&[usize]>,
        target_input: Tensor<2, Int>,
    ) -> Result<Seq2SeqOutput, RnnError> {
        let [batch, steps] = target_input.dims();
        check_not_empty("target_input", [batch, steps])?;
        check_tokens("target_input", &target_input, self.target_vocab_size())?;
        if batch != source.dims()[0] {
            return Err(RnnError::new(
                "target_input",
                format!("a batch of {} (the source batch)", source.dims()[0]),
                batch.to_string(),
            ));
        }
        let (memory, mut state) = self.encode(source, source_lengths)?;
        let parallel = matches!(self.attention, Attention::Luong(_)) && !self.input_feeding;
        if parallel && self.teacher_forcing >= 1.0 {
            return self.forward_parallel(&memory, state, target_input);
        }
        let device = target_input.device();
        let mut logits = Vec::with_capacity(steps);
        let mut weights = Vec::with_capacity(steps);
        let mut predicted: Option<Tensor<1, Int>> = None;
        for t in 0..steps {
            let teacher = target_input.clone().narrow(1, t, 1).squeeze_dim::<1>(1);
            let tokens = match predicted.take() {
                Some(predicted) if self.teacher_forcing < 1.0 => {
                    let own = Tensor::<1>::random([batch], Distribution::Default, &device)
                        .greater_equal_elem(self.teacher_forcing);
                    teacher.mask_where(own, predicted)
                }
                _ => teacher,
            };
            let (l, w, s) = self.decode_step(&memory, tokens, state);
            state = s;
            if self.teacher_forcing < 1.0 {
                predicted = Some(l.clone().argmax(1).squeeze_dim(1));
            }
            logits.push(l);
            weights.push(w);
        }
        Ok(Seq2SeqOutput {
            logits: Tensor::stack(logits, 1),
            attention: Tensor::stack(weights, 1),
        })
    }

    /// The teacher-forced forward when no step depends on the previous one's attention
    /// (Luong attention without input feeding): the decoder runs over the whole target in one
    /// sequence call (its input projection hoisted) and attention covers all steps in one
    /// batched matmul. Computes what the step-by-step loop computes.
    fn forward_parallel(
        &self,
        memory: &AttentionMemory,
        state: DecoderState,
        target_input: Tensor<2, Int>,
    ) -> Result<Seq2SeqOutput, RnnError> {
        let embedded = dropout_layer(&self.dropout, self.target_embedding.forward(target_input));
        let states = self
            .decoder
            .try_forward(embedded, Some(state.rnn), None)?
            .output;
        let (context, attention) = self.attention.attend_all(states.clone(), memory);
        let (_, logits) = self.predict(states, context);
        Ok(Seq2SeqOutput { logits, attention })
    }

    /// The attentional state `h̃ = tanh(W_c [s; c])` and the logits `W_o h̃`, for decoder
    /// states `s` and contexts `c` (`[.., hidden]`, `[.., key]`).
    fn predict<const D: usize>(&self, s: Tensor<D>, context: Tensor<D>) -> (Tensor<D>, Tensor<D>) {
        let attentional = tanh(linear_layer(
            &self.combine,
            Tensor::cat(vec![s, context], D - 1),
        ));
        let logits = self.output.forward(
            dropout_layer(&self.dropout, attentional.clone()),
            &self.target_embedding,
        );
        (attentional, logits)
    }

    /// Number of source tokens.
    pub fn source_vocab_size(&self) -> usize {
        self.source_embedding.weight.dims()[0]
    }

    /// Number of target tokens.
    pub fn target_vocab_size(&self) -> usize {
        self.target_embedding.weight.dims()[0]
    }
}

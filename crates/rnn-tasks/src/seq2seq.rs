//! Sequence to sequence with attention: an encoder, a bridge to the decoder's initial state,
//! and a decoder that attends over the encoder outputs at every step.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use rnn_core::{AnyRnn, RnnError, RnnState, check_lengths};

use crate::RecurrentConfig;
use crate::attention::{Attention, AttentionKind, AttentionMemory};
use crate::bridge::Bridge;
use crate::checks::{check_not_empty, check_positive, check_probability};
use crate::decode::{DecodeConfig, Decoded, check_log_probs, row_sums};
use crate::mask::padding_mask;
use crate::output::OutputLayer;
use crate::recurrent::final_hidden;
use crate::tokens::{check_tokens, from_ids};

/// Configuration of a [`Seq2Seq`] model.
#[derive(Config, Debug)]
pub struct Seq2SeqConfig {
    /// Number of source tokens.
    pub source_vocab_size: usize,
    /// Number of target tokens.
    pub target_vocab_size: usize,
    /// The encoder (may be stacked and bidirectional).
    pub encoder: RecurrentConfig,
    /// The decoder (unidirectional; its layers need not match the encoder's).
    pub decoder: RecurrentConfig,
    /// Size of the source and target embeddings.
    #[config(default = 64)]
    pub embedding_size: usize,
    /// The attention score function.
    #[config(default = "AttentionKind::LuongGeneral")]
    pub attention: AttentionKind,
    /// Hidden size of Bahdanau attention; `None`: the decoder's hidden size.
    pub attention_size: Option<usize>,
    /// Luong's input feeding: the previous attentional state `h̃_{t-1}` is part of the
    /// decoder's input at step `t`.
    #[config(default = true)]
    pub input_feeding: bool,
    /// Dropout on embeddings and before the output layer (training only).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Tie the output layer to the target embedding: `logits = h̃ Eᵀ + b` (Press & Wolf 2017).
    /// The attentional state `h̃` then has `embedding_size` units instead of the decoder's
    /// hidden size.
    #[config(default = false)]
    pub tie_embeddings: bool,
    /// Probability that a training step feeds the true previous target token rather than the
    /// model's own prediction (1: full teacher forcing; below 1: scheduled sampling).
    #[config(default = 1.0)]
    pub teacher_forcing: f64,
}

impl Seq2SeqConfig {
    /// Creates the model, or says which field is invalid.
    pub fn try_init(&self, device: &Device) -> Result<Seq2Seq, RnnError> {
        check_positive("source_vocab_size", self.source_vocab_size)?;
        check_positive("target_vocab_size", self.target_vocab_size)?;
        check_positive("embedding_size", self.embedding_size)?;
        check_positive("attention_size", self.attention_size.unwrap_or(1))?;
        check_probability("dropout", self.dropout)?;
        if !(0.0..=1.0).contains(&self.teacher_forcing) {
            return Err(RnnError::new(
                "teacher_forcing",
                "a probability in [0, 1]",
                self.teacher_forcing.to_string(),
            ));
        }
        self.decoder.check_unidirectional("decoder")?;
        let hidden = self.decoder.hidden_size;
        let keys = self.encoder.output_size();
        let attentional = if self.tie_embeddings {
            self.embedding_size
        } else {
            hidden
        };
        let bahdanau = self.attention == AttentionKind::Bahdanau;
        let decoder_input = self.embedding_size
            + if bahdanau { keys } else { 0 }
            + if self.input_feeding { attentional } else { 0 };
        let encoder = self
            .encoder
            .try_init_as("encoder", self.embedding_size, device)?;
        let decoder = self.decoder.try_init_as("decoder", decoder_input, device)?;
        let attention = Attention::try_new(
            self.attention,
            hidden,
            keys,
            self.attention_size.unwrap_or(hidden),
            device,
        )?;
        let bridge = Bridge::new(
            keys,
            self.decoder.num_layers,
            hidden,
            decoder.has_cell_state(),
            device,
        );
        Ok(Seq2Seq {
            source_embedding: EmbeddingConfig::new(self.source_vocab_size, self.embedding_size)
                .init(device),
            target_embedding: EmbeddingConfig::new(self.target_vocab_size, self.embedding_size)
                .init(device),
            encoder,
            bridge,
            decoder,
            attention,
            combine: LinearConfig::new(hidden + keys, attentional).init(device),
            output: if self.tie_embeddings {
                OutputLayer::tied(attentional, self.target_vocab_size, device)
            } else {
                OutputLayer::linear(attentional, self.target_vocab_size, device)
            },
            dropout: DropoutConfig::new(self.dropout).init(),
            input_feeding: self.input_feeding,
            teacher_forcing: self.teacher_forcing,
        })
    }

    /// Creates the model.
    ///
    /// # Panics
    /// If the config is invalid; the message names the field.
    pub fn init(&self, device: &Device) -> Seq2Seq {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// What the training forward of [`Seq2Seq`] returns.
#[derive(Debug, Clone)]
pub struct Seq2SeqOutput {
    /// `[batch, target, target_vocab]` logits of each next token.
    pub logits: Tensor<3>,
    /// `[batch, target, source]` attention weights of each step (0 at padded source positions).
    pub attention: Tensor<3>,
}

/// The decoder's state between steps.
#[derive(Debug, Clone)]
pub(crate) struct DecoderState {
    /// The recurrent state, parts `[num_layers, n, hidden]`.
    pub rnn: RnnState<3>,
    /// The previous attentional state `h̃` `[n, hidden]` (input feeding only).
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

/// Encoder–decoder with attention (Bahdanau 2015; Luong 2015), for translation and other
/// sequence transduction.
///
/// At each target step `t` the decoder reads the embedding of the previous token (plus, for
/// Bahdanau, the context of the previous state, and with input feeding `h̃_{t-1}`), steps its
/// recurrent state `s_t`, attends over the encoder outputs to get the context `c_t`, forms the
/// attentional state `h̃_t = tanh(W_c [s_t; c_t])` and predicts `softmax(W_o h̃_t)`. The
/// decoder starts from `tanh(W [enc_fwd; enc_bwd])` of the encoder's final states.
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
        let embedded = self
            .dropout
            .forward(self.target_embedding.forward(target_input));
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
        let attentional = self
            .combine
            .forward(Tensor::cat(vec![s, context], D - 1))
            .tanh();
        let logits = self.output.forward(
            self.dropout.forward(attentional.clone()),
            &self.target_embedding,
        );
        (attentional, logits)
    }

    /// Greedy decoding: the most likely token at every step, until the end token or
    /// `decode.max_length`, for `source: [batch, source]` with valid `source_lengths`.
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
    /// [`check_log_probs`] when the logits of an unfinished example are NaN.
    pub(crate) fn greedy_hypotheses(
        &self,
        memory: &AttentionMemory,
        mut state: DecoderState,
        decode: &DecodeConfig,
    ) -> Result<Vec<Hypothesis>, RnnError> {
        let [batch, source_len, _] = memory.values.dims();
        let device = memory.values.device();
        let mut hypotheses = vec![Hypothesis::default(); batch];
        let mut next = vec![decode.start_token; batch];
        let mut done = vec![false; batch];
        for step in 0..decode.max_length {
            let (logits, weights, s) = self.decode_step(memory, from_ids(&next, &device), state);
            state = s;
            let log_probs = log_softmax(logits, 1);
            // The maximum of a NaN row is not NaN on every backend: check the row sums.
            check_log_probs(&row_sums(log_probs.clone()), &done, step)?;
            let (best, ids) = log_probs.max_dim_with_indices(1);
            let best: Vec<f32> = best.into_data().iter::<f32>().collect();
            let ids: Vec<i64> = ids.into_data().iter::<i64>().collect();
            let weights: Vec<f32> = weights.into_data().iter::<f32>().collect();
            for b in 0..batch {
                if done[b] {
                    continue;
                }
                let token = ids[b] as usize;
                let row = &weights[b * source_len..(b + 1) * source_len];
                hypotheses[b] = hypotheses[b].extend(token, best[b], row);
                done[b] = token == decode.end_token;
                next[b] = token;
            }
            if done.iter().all(|&d| d) {
                break;
            }
        }
        Ok(hypotheses)
    }

    /// Number of source tokens.
    pub fn source_vocab_size(&self) -> usize {
        self.source_embedding.weight.dims()[0]
    }

    /// Number of target tokens.
    pub fn target_vocab_size(&self) -> usize {
        self.target_embedding.weight.dims()[0]
    }

    /// Encodes `source: [batch, source]`: the attention memory and the decoder's initial state.
    pub(crate) fn encode(
        &self,
        source: Tensor<2, Int>,
        source_lengths: Option<&[usize]>,
    ) -> Result<(AttentionMemory, DecoderState), RnnError> {
        let [batch, seq] = source.dims();
        check_not_empty("source", [batch, seq])?;
        check_tokens("source", &source, self.source_vocab_size())?;
        if let Some(lengths) = source_lengths {
            check_lengths("source_lengths", lengths, batch, seq)?;
        }
        let device = source.device();
        let x = self.dropout.forward(self.source_embedding.forward(source));
        let encoded = self.encoder.try_forward(x, None, source_lengths)?;
        let pad = source_lengths
            .filter(|l| l.iter().any(|&len| len < seq))
            .map(|l| padding_mask(l, seq, &device));
        let memory = self.attention.memory(encoded.output, pad);
        let directions = self.encoder.num_directions();
        let summary = final_hidden(encoded.state.hidden, directions);
        let cell_summary = encoded.state.cell.map(|c| final_hidden(c, directions));
        let hidden = self.combine.weight.dims()[1];
        Ok((
            memory,
            DecoderState {
                rnn: self.bridge.forward(summary, cell_summary),
                feed: self
                    .input_feeding
                    .then(|| Tensor::zeros([batch, hidden], &device)),
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
        let embedded = self
            .dropout
            .forward(self.target_embedding.forward(tokens.unsqueeze_dim(1)))
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

/// A partial or finished output sequence, kept on the host.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hypothesis {
    /// The tokens so far.
    pub tokens: Vec<usize>,
    /// Their total log-probability.
    pub log_prob: f32,
    /// The attention row `[source]` of every token.
    pub attention: Vec<Vec<f32>>,
}

impl Hypothesis {
    /// This hypothesis followed by `token` (of log-probability `log_prob`, attention `row`).
    pub fn extend(&self, token: usize, log_prob: f32, row: &[f32]) -> Self {
        let mut next = self.clone();
        next.tokens.push(token);
        next.log_prob += log_prob;
        next.attention.push(row.to_vec());
        next
    }

    /// One hypothesis per example, with the `scores` they were ranked by, as [`Decoded`].
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

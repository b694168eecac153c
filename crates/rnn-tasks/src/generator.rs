//! One-to-many: a sequence generated from a vector (or from nothing but a learned start).

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor};
use rnn_core::validate::{check_dropout, check_not_empty, check_positive, check_shape};
use rnn_core::{AnyRnn, RnnError, RnnState, check_lengths, dropout_layer, linear_layer};

use crate::bridge::{Bridge, LearnedState};
use crate::decode::{Sampling, Step, greedy};
use crate::tokens::check_tokens;
use crate::{DecodeConfig, RecurrentConfig};

/// Configuration of a [`SequenceGenerator`].
#[derive(Config, Debug)]
pub struct SequenceGeneratorConfig {
    /// Number of tokens in the vocabulary.
    pub vocab_size: usize,
    /// Size of the token embeddings.
    pub embedding_size: usize,
    /// The decoder (unidirectional).
    pub decoder: RecurrentConfig,
    /// Size of the conditioning vector the initial state is projected from (an image or
    /// feature vector); `None`: a learned initial state, the same for every sequence.
    pub condition_size: Option<usize>,
    /// Dropout on the embeddings and before the output layer (training only).
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl SequenceGeneratorConfig {
    /// Creates the generator, or says which field is invalid.
    pub fn try_init(&self, device: &Device) -> Result<SequenceGenerator, RnnError> {
        check_positive("vocab_size", self.vocab_size)?;
        check_positive("embedding_size", self.embedding_size)?;
        check_positive("condition_size", self.condition_size.unwrap_or(1))?;
        check_dropout("dropout", self.dropout)?;
        self.decoder.check_unidirectional("decoder")?;
        let decoder = self
            .decoder
            .try_init_as("decoder", self.embedding_size, device)?;
        let sizes = self.decoder.state_sizes();
        Ok(SequenceGenerator {
            embedding: EmbeddingConfig::new(self.vocab_size, self.embedding_size).init(device),
            initial: match self.condition_size {
                Some(size) => {
                    InitialState::Conditioned(Bridge::try_new(size, None, sizes, device)?)
                }
                None => InitialState::Learned(LearnedState::try_new(sizes, device)?),
            },
            decoder,
            output: LinearConfig::new(sizes.hidden, self.vocab_size).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
        })
    }

    /// Creates the generator.
    ///
    /// # Panics
    /// If the config is invalid; the message names the field.
    pub fn init(&self, device: &Device) -> SequenceGenerator {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Where a [`SequenceGenerator`]'s initial state comes from.
#[derive(Module, Debug)]
pub enum InitialState {
    /// Learned, the same for every sequence.
    Learned(LearnedState),
    /// Projected from a conditioning vector.
    Conditioned(Bridge),
}

/// What [`SequenceGenerator::generate`] returns.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Each sequence's ids, ending with the end token unless `max_length` was reached first.
    pub tokens: Vec<Vec<usize>>,
    /// The model's total log-probability of each sequence (at temperature 1).
    pub log_probs: Vec<f32>,
}

/// One-to-many head: an initial state from a vector (or learned), then a decoder that emits
/// one token per step and reads it back as the next input.
///
/// Train with teacher forcing ([`forward`](Self::forward) on `[start, y_1, .., y_{n-1}]`,
/// loss against `[y_1, .., y_n]`); generate with [`generate`](Self::generate).
///
/// ```
/// use burn::tensor::{Device, Distribution, Int, Tensor};
/// use rnn_tasks::{DecodeConfig, RecurrentConfig, Sampling, SequenceGeneratorConfig};
///
/// let device = Device::default();
/// // Captions over 50 tokens from 10-feature vectors, through an LSTM of 32 units.
/// let model = SequenceGeneratorConfig::new(50, 16, RecurrentConfig::new(32))
///     .with_condition_size(Some(10))
///     .init(&device);
/// let features = Tensor::<2>::random([2, 10], Distribution::Default, &device);
/// let inputs = Tensor::<2, Int>::from_ints([[1, 7, 9], [1, 4, 0]], &device);
/// let logits = model.forward(inputs, Some(features.clone()), Some(&[3, 2]));
/// assert_eq!(logits.dims(), [2, 3, 50]);
///
/// let decode = DecodeConfig::new(1, 2, 20); // start 1, end 2, at most 20 tokens
/// let sampling = Sampling::Random { temperature: 0.8, top_k: Some(10), seed: 42 };
/// let out = model.generate(Some(features), 2, &decode, &sampling);
/// assert_eq!(out.tokens.len(), 2);
/// assert!(out.tokens.iter().all(|t| t.len() <= 20));
/// ```
#[derive(Module, Debug)]
pub struct SequenceGenerator {
    /// Token embeddings `[vocab, embedding]`.
    pub embedding: Embedding,
    /// The initial state.
    pub initial: InitialState,
    /// The decoder.
    pub decoder: AnyRnn,
    /// Decoder output → logits over the vocabulary.
    pub output: Linear,
    /// Dropout on embeddings and decoder outputs.
    pub dropout: Dropout,
}

impl SequenceGenerator {
    /// Teacher-forced logits `[batch, seq, vocab]` for `inputs: [batch, seq]` (each sequence
    /// starting with the start token) from `condition: [batch, condition_size]` (`None` for a
    /// learned start), with valid `lengths`.
    ///
    /// # Panics
    /// On bad arguments, with the message of [`try_forward`](Self::try_forward).
    pub fn forward(
        &self,
        inputs: Tensor<2, Int>,
        condition: Option<Tensor<2>>,
        lengths: Option<&[usize]>,
    ) -> Tensor<3> {
        self.try_forward(inputs, condition, lengths)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`forward`](Self::forward), returning an error that names the bad argument.
    pub fn try_forward(
        &self,
        inputs: Tensor<2, Int>,
        condition: Option<Tensor<2>>,
        lengths: Option<&[usize]>,
    ) -> Result<Tensor<3>, RnnError> {
        let [batch, seq] = inputs.dims();
        check_not_empty("inputs", [batch, seq])?;
        check_tokens("inputs", &inputs, self.vocab_size())?;
        if let Some(lengths) = lengths {
            check_lengths("lengths", lengths, batch, seq)?;
        }
        let state = self.initial_state(condition, batch)?;
        let x = dropout_layer(&self.dropout, self.embedding.forward(inputs));
        let out = self.decoder.try_forward(x, Some(state), lengths)?;
        Ok(linear_layer(
            &self.output,
            dropout_layer(&self.dropout, out.output),
        ))
    }

    /// Generates `batch` sequences, from `condition: [batch, condition_size]` (`None` for a
    /// learned start), picking tokens by `sampling` until the end token or `max_length`.
    ///
    /// # Panics
    /// On bad arguments or NaN logits, with the message of
    /// [`try_generate`](Self::try_generate).
    pub fn generate(
        &self,
        condition: Option<Tensor<2>>,
        batch: usize,
        decode: &DecodeConfig,
        sampling: &Sampling,
    ) -> Generated {
        self.try_generate(condition, batch, decode, sampling)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`generate`](Self::generate), returning an error that names the bad argument, or the
    /// step and example where the model's logits were NaN (`logits: expected finite values,
    /// got NaN at step 3 of example 0`; steps count from 0).
    pub fn try_generate(
        &self,
        condition: Option<Tensor<2>>,
        batch: usize,
        decode: &DecodeConfig,
        sampling: &Sampling,
    ) -> Result<Generated, RnnError> {
        check_positive("batch", batch)?;
        decode.validate(self.vocab_size())?;
        let sampler = Some(sampling.sampler()?);
        let device = self.output.weight.device();
        let state = self.initial_state(condition, batch)?;
        let hypotheses = greedy(decode, batch, &device, state, sampler, |tokens, state| {
            let x = self
                .embedding
                .forward(tokens.unsqueeze_dim(1))
                .squeeze_dim::<2>(1);
            let (h, state) = self.decoder.try_step(x, Some(state))?;
            Ok(Step {
                logits: linear_layer(&self.output, h),
                attention: None,
                state,
            })
        })?;
        Ok(Generated {
            log_probs: hypotheses.iter().map(|h| h.log_prob).collect(),
            tokens: hypotheses.into_iter().map(|h| h.tokens).collect(),
        })
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.embedding.weight.dims()[0]
    }

    /// The decoder's initial state for `batch` sequences, from `condition` or learned.
    fn initial_state(
        &self,
        condition: Option<Tensor<2>>,
        batch: usize,
    ) -> Result<RnnState<3>, RnnError> {
        let content = self.initial_content(condition, batch)?;
        self.decoder.try_initial_state(content.hidden, content.cell)
    }

    /// What the decoder's initial state is set from (see [`AnyRnn::initial_state`]).
    fn initial_content(
        &self,
        condition: Option<Tensor<2>>,
        batch: usize,
    ) -> Result<RnnState<3>, RnnError> {
        match (&self.initial, condition) {
            (InitialState::Learned(start), None) => Ok(start.expand(batch)),
            (InitialState::Conditioned(bridge), Some(condition)) => {
                check_shape(
                    "condition",
                    &[batch, bridge.hidden.weight.dims()[0]],
                    &condition.dims(),
                    "[batch, condition_size]",
                )?;
                Ok(bridge.forward(condition, None))
            }
            (InitialState::Learned(_), Some(c)) => Err(RnnError::new(
                "condition",
                "None (the generator has a learned start state)",
                format!("a tensor of shape {:?}", c.dims()),
            )),
            (InitialState::Conditioned(bridge), None) => Err(RnnError::new(
                "condition",
                format!(
                    "a [batch, {}] conditioning vector",
                    bridge.hidden.weight.dims()[0]
                ),
                "None",
            )),
        }
    }
}

//! Many-to-one: a whole sequence in, one prediction out (sentiment, topic, ...).

use burn::config::Config;
use burn::module::Module;
use burn::nn::Dropout;
use burn::tensor::{Device, Tensor, TensorData};
use rnn_core::validate::check_positive;
use rnn_core::{AnyRnn, CellState, RnnError};

use crate::encoder::{encode, try_init_reader};
use crate::head_constructors::head_constructors;
use crate::input::{InputConfig, InputLayer, SequenceInput};
use crate::mask::fill_padded;
use crate::pooling::{AttentionPooling, Pooling};
use crate::sequence_encoder::last_layer;
use crate::{Mlp, RecurrentConfig, SequenceEncoder};

/// Configuration of a [`SequenceClassifier`].
#[derive(Config, Debug)]
pub struct SequenceClassifierConfig {
    /// Tokens (with vocabulary and embedding size) or raw features.
    pub input: InputConfig,
    /// The encoder.
    pub encoder: RecurrentConfig,
    /// Number of classes (logits per example).
    pub num_classes: usize,
    /// How encoder outputs are pooled into one vector.
    #[config(default = "Pooling::Last")]
    pub pooling: Pooling,
    /// Size of the attention pooling's hidden layer; `None`: the encoder's output size.
    pub attention_size: Option<usize>,
    /// Sizes of the hidden ReLU layers between pooling and logits.
    #[config(default = "Vec::new()")]
    pub mlp_hidden: Vec<usize>,
    /// Dropout on the embeddings and before every layer of the MLP (training only).
    #[config(default = 0.0)]
    pub dropout: f64,
}

head_constructors!(SequenceClassifierConfig, SequenceClassifier, "classifier");

impl SequenceClassifierConfig {
    /// Checks the config and creates the classifier around the encoder that `encoder` makes
    /// for the input layer's features.
    fn try_build<E: SequenceEncoder>(
        &self,
        device: &Device,
        encoder: impl FnOnce(usize) -> Result<E, RnnError>,
    ) -> Result<SequenceClassifier<E>, RnnError> {
        check_positive("num_classes", self.num_classes)?;
        Mlp::check_hidden("mlp_hidden", &self.mlp_hidden)?;
        check_positive("attention_size", self.attention_size.unwrap_or(1))?;
        let (input, encoder, dropout) =
            try_init_reader(&self.input, self.dropout, device, encoder)?;
        let features = encoder.output_size();
        Ok(SequenceClassifier {
            input,
            encoder,
            attention: (self.pooling == Pooling::Attention).then(|| {
                AttentionPooling::new(features, self.attention_size.unwrap_or(features), device)
            }),
            mlp: Mlp::try_new(
                features,
                &self.mlp_hidden,
                self.num_classes,
                self.dropout,
                device,
            )?,
            dropout,
            pooling: self.pooling,
        })
    }
}

/// What [`SequenceClassifier::forward`] returns.
#[derive(Debug, Clone)]
pub struct ClassifierOutput {
    /// `[batch, num_classes]` unnormalised scores.
    pub logits: Tensor<2>,
    /// `[batch, features]` the pooled encoder outputs the MLP reads.
    pub pooled: Tensor<2>,
    /// `[batch, seq]` attention pooling weights (0 at padding); `None` for other poolings.
    pub attention: Option<Tensor<2>>,
}

/// Many-to-one head: input → encoder → pooling over valid steps → MLP → logits.
///
/// The encoder `E` is the [`AnyRnn`] the config describes, or any [`SequenceEncoder`] given
/// to [`SequenceClassifierConfig::init_with`] (a stacked network of any cell).
///
/// ```
/// use burn::tensor::{Device, Int, Tensor};
/// use rnn_core::CellKind;
/// use rnn_tasks::{InputConfig, Pooling, RecurrentConfig, SequenceClassifierConfig};
///
/// let device = Device::default();
/// // Tokens from a vocabulary of 100, embedded into 16 features, read by a bidirectional GRU
/// // of 32 units per direction, pooled by attention, into 3 classes.
/// let model = SequenceClassifierConfig::new(
///     InputConfig::tokens(100, 16),
///     RecurrentConfig::new(32).with_cell(CellKind::Gru).with_bidirectional(true),
///     3,
/// )
/// .with_pooling(Pooling::Attention)
/// .init(&device);
/// // A batch of 2 sequences padded to 4 tokens; the second has 2 valid tokens.
/// let tokens = Tensor::<2, Int>::from_ints([[5, 8, 13, 2], [7, 9, 0, 0]], &device);
/// let out = model.forward(tokens, Some(&[4, 2]));
/// assert_eq!(out.logits.dims(), [2, 3]);
/// assert_eq!(out.pooled.dims(), [2, 64]);
/// assert_eq!(out.attention.unwrap().dims(), [2, 4]);
/// ```
#[derive(Module, Debug)]
pub struct SequenceClassifier<E: SequenceEncoder = AnyRnn> {
    /// Embedding (tokens) or pass-through (features).
    pub input: InputLayer,
    /// The recurrent encoder.
    pub encoder: E,
    /// The attention pooling layer, when [`Pooling::Attention`].
    pub attention: Option<AttentionPooling>,
    /// Pooled vector → logits.
    pub mlp: Mlp,
    /// Dropout on the embedded inputs.
    pub dropout: Dropout,
    /// How outputs are pooled.
    #[module(skip)]
    pub pooling: Pooling,
}

impl<E: SequenceEncoder> SequenceClassifier<E> {
    /// Classifies `input` (token ids `[batch, seq]` or features `[batch, seq, features]`),
    /// whose examples have the valid `lengths` (`None`: all full length).
    ///
    /// # Panics
    /// On bad arguments, with the message of [`try_forward`](Self::try_forward).
    pub fn forward(
        &self,
        input: impl Into<SequenceInput>,
        lengths: Option<&[usize]>,
    ) -> ClassifierOutput {
        self.try_forward(input, lengths)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`forward`](Self::forward), returning an error that names the bad argument (`input`,
    /// `lengths`) instead of panicking.
    pub fn try_forward(
        &self,
        input: impl Into<SequenceInput>,
        lengths: Option<&[usize]>,
    ) -> Result<ClassifierOutput, RnnError> {
        let x = self.input.try_forward("input", input.into())?;
        let [batch, seq, _] = x.dims();
        let device = x.device();
        let encoded = encode(&self.encoder, &self.dropout, x, lengths, "lengths")?;
        let outputs = encoded.output;
        let (pooled, attention) = match self.pooling {
            Pooling::Last => {
                let h_n = encoded.state.output();
                (last_layer(&self.encoder, h_n), None)
            }
            Pooling::Mean => {
                // The encoder's outputs are already zero past each length.
                let counts: Vec<f32> = match lengths {
                    Some(l) => l.iter().map(|&len| len as f32).collect(),
                    None => vec![seq as f32; batch],
                };
                let counts = TensorData::new(counts, [batch, 1]);
                let counts = Tensor::<2>::from_data(counts, (&device, outputs.dtype()));
                (outputs.sum_dim(1).squeeze_dim::<2>(1) / counts, None)
            }
            Pooling::Max => {
                let outputs = match encoded.pad {
                    Some(pad) => fill_padded(outputs, pad, f32::NEG_INFINITY),
                    None => outputs,
                };
                (outputs.max_dim(1).squeeze_dim::<2>(1), None)
            }
            Pooling::Attention => {
                let attention = self
                    .attention
                    .as_ref()
                    .expect("attention pooling has its layer");
                let (pooled, weights) = attention.forward(outputs, encoded.pad.as_ref());
                (pooled, Some(weights))
            }
        };
        Ok(ClassifierOutput {
            logits: self.mlp.forward(pooled.clone()),
            pooled,
            attention,
        })
    }
}

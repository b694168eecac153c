//! Many-to-many, synchronised: one output per input step (tagging, time-series regression).

use burn::config::Config;
use burn::module::Module;
use burn::nn::Dropout;
use burn::tensor::{Device, Tensor};
use rnn_core::validate::check_positive;
use rnn_core::{AnyRnn, RnnError};

use crate::encoder::{encode, try_init_reader};
use crate::head_constructors::head_constructors;
use crate::input::{InputConfig, InputLayer, SequenceInput};
use crate::mask::fill_padded;
use crate::{Mlp, RecurrentConfig, SequenceEncoder};

/// Configuration of a [`SequenceTagger`].
#[derive(Config, Debug)]
pub struct SequenceTaggerConfig {
    /// Tokens (with vocabulary and embedding size) or raw features.
    pub input: InputConfig,
    /// The encoder (bidirectional for tagging, unidirectional for causal prediction).
    pub encoder: RecurrentConfig,
    /// Outputs per step: the number of tags (logits), or of regression targets.
    pub num_outputs: usize,
    /// Sizes of the hidden ReLU layers between the encoder and the outputs.
    #[config(default = "Vec::new()")]
    pub mlp_hidden: Vec<usize>,
    /// Dropout on the embeddings and before every output layer (training only).
    #[config(default = 0.0)]
    pub dropout: f64,
}

head_constructors!(SequenceTaggerConfig, SequenceTagger, "tagger");

impl SequenceTaggerConfig {
    /// Checks the config and creates the tagger around the encoder that `encoder` makes for
    /// the input layer's features.
    fn try_build<E: SequenceEncoder>(
        &self,
        device: &Device,
        encoder: impl FnOnce(usize) -> Result<E, RnnError>,
    ) -> Result<SequenceTagger<E>, RnnError> {
        check_positive("num_outputs", self.num_outputs)?;
        Mlp::check_hidden("mlp_hidden", &self.mlp_hidden)?;
        let (input, encoder, dropout) =
            try_init_reader(&self.input, self.dropout, device, encoder)?;
        Ok(SequenceTagger {
            output: Mlp::try_new(
                encoder.output_size(),
                &self.mlp_hidden,
                self.num_outputs,
                self.dropout,
                device,
            )?,
            input,
            encoder,
            dropout,
        })
    }
}

/// Synchronised many-to-many head: `y_t = O(h_t)` for every input step, where `h_t` is the
/// encoder output and `O` an MLP (a single linear map `V h_t + c` by default).
///
/// The encoder `E` is the [`AnyRnn`] the config describes, or any [`SequenceEncoder`] given
/// to [`SequenceTaggerConfig::init_with`] (a stacked network of any cell).
///
/// Train it with [`masked_cross_entropy`](crate::masked_cross_entropy) (tags) or
/// [`masked_mse`](crate::masked_mse) (regression), which ignore the padding.
///
/// ```
/// use burn::tensor::{Device, Distribution, Tensor};
/// use rnn_tasks::{InputConfig, RecurrentConfig, SequenceTaggerConfig};
///
/// let device = Device::default();
/// // 2 regression targets per step from 5 features per step, through an LSTM of 8 units.
/// let tagger = SequenceTaggerConfig::new(InputConfig::features(5), RecurrentConfig::new(8), 2)
///     .init(&device);
/// let x = Tensor::<3>::random([3, 6, 5], Distribution::Default, &device);
/// let y = tagger.forward(x, Some(&[6, 4, 1]));
/// assert_eq!(y.dims(), [3, 6, 2]); // zero past each length
/// ```
#[derive(Module, Debug)]
pub struct SequenceTagger<E: SequenceEncoder = AnyRnn> {
    /// Embedding (tokens) or pass-through (features).
    pub input: InputLayer,
    /// The recurrent encoder.
    pub encoder: E,
    /// Encoder output → per-step outputs.
    pub output: Mlp,
    /// Dropout on the embedded inputs.
    pub dropout: Dropout,
}

impl<E: SequenceEncoder> SequenceTagger<E> {
    /// Outputs `[batch, seq, num_outputs]` for `input` (ids `[batch, seq]` or features
    /// `[batch, seq, features]`) with valid `lengths`; exactly 0 at padded steps.
    ///
    /// # Panics
    /// On bad arguments, with the message of [`try_forward`](Self::try_forward).
    pub fn forward(&self, input: impl Into<SequenceInput>, lengths: Option<&[usize]>) -> Tensor<3> {
        self.try_forward(input, lengths)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`forward`](Self::forward), returning an error that names the bad argument.
    pub fn try_forward(
        &self,
        input: impl Into<SequenceInput>,
        lengths: Option<&[usize]>,
    ) -> Result<Tensor<3>, RnnError> {
        let x = self.input.try_forward("input", input.into())?;
        let encoded = encode(&self.encoder, &self.dropout, x, lengths, "lengths")?;
        let y = self.output.forward(encoded.output);
        Ok(match encoded.pad {
            Some(pad) => fill_padded(y, pad, 0.0),
            None => y,
        })
    }
}

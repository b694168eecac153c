//! The reading path the heads share: embedded tokens (or features) → dropout → recurrent
//! encoder, over a padded batch whose lengths are validated here into one [`Lengths`] for
//! the whole path. The classifier and the tagger read through [`InputLayer`];
//! [`Seq2Seq`](crate::Seq2Seq) embeds its source itself.

use burn::nn::{Dropout, DropoutConfig};
use burn::tensor::{Bool, Device, Tensor};
use rnn_core::validate::check_dropout;
use rnn_core::{Lengths, RnnError, dropout_layer};

use crate::SequenceEncoder;
use crate::input::{InputConfig, InputLayer};
use crate::mask::padding_mask;

/// Creates the reading path of a head whose config has the fields `input` and `dropout`,
/// around the encoder that `encoder` makes for the input layer's features (from the head's
/// config, or one given), or says which field is invalid.
pub(crate) fn try_init_reader<E: SequenceEncoder>(
    input: &InputConfig,
    dropout: f64,
    device: &Device,
    encoder: impl FnOnce(usize) -> Result<E, RnnError>,
) -> Result<(InputLayer, E, Dropout), RnnError> {
    input.validate("input")?;
    check_dropout("dropout", dropout)?;
    let encoder = encoder(input.size)?;
    if encoder.input_size() != input.size {
        return Err(RnnError::new(
            "encoder",
            format!("a network reading {} features (the input size)", input.size),
            format!("one reading {}", encoder.input_size()),
        ));
    }
    Ok((
        input.init(device),
        encoder,
        DropoutConfig::new(dropout).init(),
    ))
}

/// What [`encode`] returns; `S` is the encoder's state.
pub(crate) struct Encoded<S> {
    /// `[batch, seq, output_size]` the encoder's outputs, zero past each length.
    pub output: Tensor<3>,
    /// The encoder's final states, parts `[num_layers * num_directions, batch, ..]`.
    pub state: S,
    /// `[batch, seq]`: true at padded steps; `None` when nothing is padded.
    pub pad: Option<Tensor<2, Bool>>,
}

/// Runs `encoder` over `x: [batch, seq, features]` (after `dropout`) whose examples have the
/// valid `lengths` (`None`: all full length), checked first and named `argument` in errors.
pub(crate) fn encode<E: SequenceEncoder>(
    encoder: &E,
    dropout: &Dropout,
    x: Tensor<3>,
    lengths: Option<&[usize]>,
    argument: &str,
) -> Result<Encoded<E::State>, RnnError> {
    let [batch, seq, _] = x.dims();
    let device = x.device();
    let lengths = match lengths {
        // Named as the head's argument (`source_lengths`), checked once for every layer.
        Some(lengths) => Some(Lengths::try_for_batch(
            argument, lengths, batch, seq, &device,
        )?),
        None => None,
    };
    let pad = lengths
        .as_ref()
        .filter(|l| l.is_padded())
        .map(|l| padding_mask(l.lengths(), seq, &device))
        .transpose()?;
    let encoded = encoder.try_encode(dropout_layer(dropout, x), lengths.as_ref())?;
    Ok(Encoded {
        output: encoded.output,
        state: encoded.state,
        pad,
    })
}

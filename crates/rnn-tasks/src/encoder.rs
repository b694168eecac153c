//! The reading path the heads share: embedded tokens (or features) → dropout → recurrent
//! encoder, over a padded batch. The classifier and the tagger read through
//! [`InputLayer`]; [`Seq2Seq`](crate::Seq2Seq) embeds its source itself.

use burn::nn::{Dropout, DropoutConfig};
use burn::tensor::{Bool, Device, Tensor};
use rnn_core::validate::check_dropout;
use rnn_core::{AnyRnn, RnnError, RnnState, check_lengths};

use crate::RecurrentConfig;
use crate::input::{InputConfig, InputLayer};
use crate::mask::padding_mask_if_any;

/// Creates the reading path of a head whose config has the fields `input`, `encoder` and
/// `dropout`, or says which of them is invalid.
pub(crate) fn try_init_reader(
    input: &InputConfig,
    encoder: &RecurrentConfig,
    dropout: f64,
    device: &Device,
) -> Result<(InputLayer, AnyRnn, Dropout), RnnError> {
    input.validate("input")?;
    check_dropout("dropout", dropout)?;
    Ok((
        input.init(device),
        encoder.try_init_as("encoder", input.size, device)?,
        DropoutConfig::new(dropout).init(),
    ))
}

/// What [`encode`] returns.
pub(crate) struct Encoded {
    /// `[batch, seq, output_size]` the encoder's outputs, zero past each length.
    pub output: Tensor<3>,
    /// The encoder's final states, parts `[num_layers * num_directions, batch, ..]`.
    pub state: RnnState<3>,
    /// `[batch, seq]`: true at padded steps; `None` when nothing is padded.
    pub pad: Option<Tensor<2, Bool>>,
}

/// Runs `encoder` over `x: [batch, seq, features]` (after `dropout`) whose examples have the
/// valid `lengths` (`None`: all full length), checked first and named `argument` in errors.
pub(crate) fn encode(
    encoder: &AnyRnn,
    dropout: &Dropout,
    x: Tensor<3>,
    lengths: Option<&[usize]>,
    argument: &str,
) -> Result<Encoded, RnnError> {
    let [batch, seq, _] = x.dims();
    if let Some(lengths) = lengths {
        check_lengths(argument, lengths, batch, seq)?;
    }
    let pad = padding_mask_if_any(lengths, seq, &x.device());
    let encoded = encoder.try_forward(dropout.forward(x), None, lengths)?;
    Ok(Encoded {
        output: encoded.output,
        state: encoded.state,
        pad,
    })
}

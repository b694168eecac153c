//! Masks of padded positions and the softmax that gives them exactly zero weight.

use burn::tensor::activation::softmax;
use burn::tensor::{Bool, Device, Tensor, TensorData};
use rnn_core::validate::check_shape;
use rnn_core::{RnnError, check_lengths};

/// `[batch, seq]`: true at padded positions (`t >= lengths[b]`), one row per length. Fails
/// when a length is 0 (a row with nothing to attend to: its softmax would be NaN) or longer
/// than `seq`.
pub fn padding_mask(
    lengths: &[usize],
    seq: usize,
    device: &Device,
) -> Result<Tensor<2, Bool>, RnnError> {
    check_lengths("lengths", lengths, lengths.len(), seq)?;
    let pad: Vec<bool> = lengths
        .iter()
        .flat_map(|&len| (0..seq).map(move |t| t >= len))
        .collect();
    Ok(Tensor::from_data(
        TensorData::new(pad, [lengths.len(), seq]),
        device,
    ))
}

/// `x: [batch, seq, features]` with `value` at every padded step of `pad` (`[batch, seq]`).
pub(crate) fn fill_padded(x: Tensor<3>, pad: Tensor<2, Bool>, value: f32) -> Tensor<3> {
    let shape = x.shape();
    x.mask_fill(pad.unsqueeze_dim::<3>(2).expand(shape), value)
}

/// Softmax of `scores: [batch, .., seq]` over `seq`, with exactly 0 at the padded positions
/// of `pad` (`[batch, seq]`, true = padded, broadcast over the middle dimensions). A row
/// padded everywhere gets NaN weights, as in PyTorch ([`padding_mask`] refuses a length of 0).
///
/// # Panics
/// If `pad` is not `[batch, seq]` of `scores`, with a message naming both shapes.
pub fn masked_softmax<const D: usize>(
    scores: Tensor<D>,
    pad: Option<&Tensor<2, Bool>>,
) -> Tensor<D> {
    match pad {
        Some(pad) => {
            let [batch, seq] = pad.dims();
            let dims = scores.dims();
            check_shape(
                "pad",
                &[dims[0], dims[D - 1]],
                &[batch, seq],
                format_args!("[batch, seq] of scores {dims:?}"),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let mut shape = [1; D];
            (shape[0], shape[D - 1]) = (batch, seq);
            let pad = pad.clone().reshape(shape).expand(scores.shape());
            softmax(scores.mask_fill(pad, f32::NEG_INFINITY), D - 1)
        }
        None => softmax(scores, D - 1),
    }
}

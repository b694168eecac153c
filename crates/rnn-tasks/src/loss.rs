//! Losses over padded sequences: only the valid steps count.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};

use crate::mask::padding_mask;

/// Mean cross-entropy of `logits: [batch, seq, classes]` against `targets: [batch, seq]`
/// over the valid steps (`t < lengths[b]`; all steps when `None`). Targets at padded steps
/// are ignored (any value). Returns a scalar `[1]`.
pub fn masked_cross_entropy(
    logits: Tensor<3>,
    targets: Tensor<2, Int>,
    lengths: Option<&[usize]>,
) -> Tensor<1> {
    let [batch, seq, _] = logits.dims();
    let device = logits.device();
    let (targets, count) = match lengths {
        Some(lengths) => (
            targets.mask_fill(padding_mask(lengths, seq, &device), 0),
            lengths.iter().sum::<usize>(),
        ),
        None => (targets, batch * seq),
    };
    let picked = log_softmax(logits, 2)
        .gather(2, targets.unsqueeze_dim(2))
        .squeeze_dim::<2>(2);
    let picked = match lengths {
        Some(lengths) => picked.mask_fill(padding_mask(lengths, seq, &device), 0.0),
        None => picked,
    };
    picked.sum().neg() / count as f64
}

/// Mean squared error of `predictions` against `targets` (`[batch, seq, features]`) over the
/// valid steps. Returns a scalar `[1]`.
pub fn masked_mse(
    predictions: Tensor<3>,
    targets: Tensor<3>,
    lengths: Option<&[usize]>,
) -> Tensor<1> {
    let [batch, seq, features] = predictions.dims();
    let squared = (predictions - targets).powi_scalar(2);
    match lengths {
        Some(lengths) => {
            let pad = padding_mask(lengths, seq, &squared.device());
            let count = lengths.iter().sum::<usize>() * features;
            squared
                .mask_fill(
                    pad.unsqueeze_dim::<3>(2).expand([batch, seq, features]),
                    0.0,
                )
                .sum()
                / count as f64
        }
        None => squared.mean(),
    }
}

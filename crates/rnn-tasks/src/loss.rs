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
    label_smoothed_cross_entropy(logits, targets, lengths, 0.0)
}

/// [`masked_cross_entropy`] of `logits: [batch, seq, classes]` against `targets: [batch, seq]`
/// (valid steps `t < lengths[b]`) smoothed by `smoothing` ε in `[0, 1]` (Szegedy et al.
/// 2016): each step's target distribution is `1 - ε` on the true class plus `ε / classes`
/// on every class, as PyTorch's `cross_entropy(..., label_smoothing=ε)`. Per valid step the
/// loss is `-(1 - ε) log p_target - ε · mean_c log p_c`. Returns a scalar `[1]`.
///
/// # Panics
/// If `smoothing` is outside `[0, 1]`.
pub fn label_smoothed_cross_entropy(
    logits: Tensor<3>,
    targets: Tensor<2, Int>,
    lengths: Option<&[usize]>,
    smoothing: f64,
) -> Tensor<1> {
    assert!(
        (0.0..=1.0).contains(&smoothing),
        "smoothing: expected a value in [0, 1], got {smoothing}"
    );
    let [batch, seq, _] = logits.dims();
    let device = logits.device();
    let pad = lengths.map(|lengths| padding_mask(lengths, seq, &device));
    let count = lengths.map_or(batch * seq, |l| l.iter().sum::<usize>());
    let targets = match &pad {
        Some(pad) => targets.mask_fill(pad.clone(), 0),
        None => targets,
    };
    let log_probs = log_softmax(logits, 2);
    let picked = log_probs
        .clone()
        .gather(2, targets.unsqueeze_dim(2))
        .squeeze_dim::<2>(2);
    let per_step = if smoothing > 0.0 {
        picked * (1.0 - smoothing) + log_probs.mean_dim(2).squeeze_dim::<2>(2) * smoothing
    } else {
        picked
    };
    let per_step = match pad {
        Some(pad) => per_step.mask_fill(pad, 0.0),
        None => per_step,
    };
    per_step.sum().neg() / count as f64
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

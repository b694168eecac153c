//! Losses over padded sequences: only the valid steps count.
//!
//! Each loss has a `try_` form that returns an [`RnnError`] naming the bad argument, and a
//! plain form that panics with its message: a wrong `lengths` or an out-of-range target would
//! otherwise give NaN or a silently wrong mean.

use burn::tensor::{Int, Tensor};
use rnn_core::validate::check_shape;
use rnn_core::{RnnError, check_lengths, weighted_cross_entropy};

use crate::mask::{fill_padded, padding_mask};

/// Mean cross-entropy of `logits: [batch, seq, classes]` against `targets: [batch, seq]`
/// over the valid steps (`t < lengths[b]`; all steps when `None`). Targets at padded steps
/// are ignored (any value). Returns a scalar `[1]`.
///
/// # Panics
/// On bad arguments, with the message of [`try_masked_cross_entropy`].
pub fn masked_cross_entropy(
    logits: Tensor<3>,
    targets: Tensor<2, Int>,
    lengths: Option<&[usize]>,
) -> Tensor<1> {
    label_smoothed_cross_entropy(logits, targets, lengths, 0.0)
}

/// [`masked_cross_entropy`] of `logits: [batch, seq, classes]` against `targets: [batch, seq]`,
/// returning an error that names the bad argument: `logits` with an empty dimension,
/// `targets` of another `[batch, seq]`, `lengths` not one in `1..=seq` per example, or a
/// target at a valid step outside `0..classes`.
///
/// Reads `targets` back from the device once (a `[batch, seq]` transfer) to check the
/// class indices.
pub fn try_masked_cross_entropy(
    logits: Tensor<3>,
    targets: Tensor<2, Int>,
    lengths: Option<&[usize]>,
) -> Result<Tensor<1>, RnnError> {
    try_label_smoothed_cross_entropy(logits, targets, lengths, 0.0)
}

/// [`masked_cross_entropy`] of `logits: [batch, seq, classes]` against `targets: [batch, seq]`
/// (valid steps `t < lengths[b]`) smoothed by `smoothing` ε in `[0, 1]` (Szegedy et al.
/// 2016): each step's target distribution is `1 - ε` on the true class plus `ε / classes`
/// on every class, as PyTorch's `cross_entropy(..., label_smoothing=ε)`. Per valid step the
/// loss is `-(1 - ε) log p_target - ε · mean_c log p_c`. Returns a scalar `[1]`.
///
/// # Panics
/// On bad arguments (`smoothing` outside `[0, 1]` among them), with the message of
/// [`try_label_smoothed_cross_entropy`].
pub fn label_smoothed_cross_entropy(
    logits: Tensor<3>,
    targets: Tensor<2, Int>,
    lengths: Option<&[usize]>,
    smoothing: f64,
) -> Tensor<1> {
    try_label_smoothed_cross_entropy(logits, targets, lengths, smoothing)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// [`label_smoothed_cross_entropy`] of `logits: [batch, seq, classes]` against
/// `targets: [batch, seq]`, returning an error that names the bad argument: `smoothing`
/// outside `[0, 1]`, or any error of [`try_masked_cross_entropy`].
///
/// Computed by [`rnn_core::weighted_cross_entropy`] over the `batch * seq` rows (each valid
/// step weighing `1 / count`, a padded one 0): one fused operation on ndarray and flex. A
/// padded step is left out, as PyTorch's `ignore_index` leaves it: a logit masked to `-inf`
/// there (an impossible class), or NaN, does not reach the loss, and it gets no gradient.
///
/// Reads `targets` back from the device once (a `[batch, seq]` transfer) to check the
/// class indices.
pub fn try_label_smoothed_cross_entropy(
    logits: Tensor<3>,
    targets: Tensor<2, Int>,
    lengths: Option<&[usize]>,
    smoothing: f64,
) -> Result<Tensor<1>, RnnError> {
    // `smoothing` is checked by `weighted_cross_entropy`, with the same message.
    let [batch, seq, classes] = logits.dims();
    check_no_empty_dimension("logits", logits.dims(), "[batch, seq, classes]")?;
    check_shape(
        "targets",
        &[batch, seq],
        &targets.dims(),
        "the logits' [batch, seq]",
    )?;
    if let Some(lengths) = lengths {
        check_lengths("lengths", lengths, batch, seq)?;
    }
    let targets = checked_classes(&targets, lengths, classes)?;

    // Each valid step weighs 1 / count (the mean), a padded one 0 (its target any class).
    let count = lengths.map_or(batch * seq, |l| l.iter().sum::<usize>());
    let valid = |i: usize| lengths.is_none_or(|l| i % seq < l[i / seq]);
    let weights: Vec<f32> = (0..batch * seq)
        .map(|i| if valid(i) { 1.0 / count as f32 } else { 0.0 })
        .collect();
    let targets: Vec<usize> = targets
        .iter()
        .enumerate()
        .map(|(i, &t)| if valid(i) { t as usize } else { 0 })
        .collect();
    weighted_cross_entropy(
        logits.reshape([batch * seq, classes]),
        &targets,
        &weights,
        smoothing,
    )
}

/// Mean squared error of `predictions` against `targets` (`[batch, seq, features]`) over the
/// valid steps (`t < lengths[b]`; all steps when `None`). Returns a scalar `[1]`.
///
/// # Panics
/// On bad arguments, with the message of [`try_masked_mse`].
pub fn masked_mse(
    predictions: Tensor<3>,
    targets: Tensor<3>,
    lengths: Option<&[usize]>,
) -> Tensor<1> {
    try_masked_mse(predictions, targets, lengths).unwrap_or_else(|e| panic!("{e}"))
}

/// [`masked_mse`] of `predictions` against `targets` (`[batch, seq, features]`), returning an
/// error that names the bad argument: `predictions` with an empty dimension, `targets` of
/// another shape (which would otherwise broadcast), or `lengths` not one in `1..=seq` per
/// example.
pub fn try_masked_mse(
    predictions: Tensor<3>,
    targets: Tensor<3>,
    lengths: Option<&[usize]>,
) -> Result<Tensor<1>, RnnError> {
    let [batch, seq, features] = predictions.dims();
    check_no_empty_dimension("predictions", predictions.dims(), "[batch, seq, features]")?;
    // Burn would broadcast some mismatches instead of failing.
    check_shape(
        "targets",
        &predictions.dims(),
        &targets.dims(),
        "the predictions' shape",
    )?;
    if let Some(lengths) = lengths {
        check_lengths("lengths", lengths, batch, seq)?;
    }

    // The padded steps' differences are zeroed before squaring: a NaN or infinite target
    // there (NaN padding is common) then gives no NaN gradient either (`0 · NaN`).
    let difference = predictions - targets;
    Ok(match lengths {
        Some(lengths) => {
            let pad = padding_mask(lengths, seq, &difference.device())?;
            let count = lengths.iter().sum::<usize>() * features;
            fill_padded(difference, pad, 0.0).powi_scalar(2).sum() / count as f64
        }
        None => difference.powi_scalar(2).mean(),
    })
}

/// Checks a loss input of shape `dims` (laid out as `layout`) has no empty dimension: the
/// mean over no element is NaN.
fn check_no_empty_dimension(
    argument: &str,
    dims: [usize; 3],
    layout: &str,
) -> Result<(), RnnError> {
    if dims.contains(&0) {
        return Err(RnnError::new(
            argument,
            format!("a non-empty {layout} tensor"),
            format!("shape {dims:?}"),
        ));
    }
    Ok(())
}

/// The values of `targets: [batch, seq]` (row-major), once every target at a valid step
/// (`t < lengths[b]`; all when `None`) is checked to be a class index in `0..classes`;
/// padded steps may hold anything (a padding id, PyTorch's `-100`). `gather` would read past
/// the row or fail on the device instead.
///
/// Reads `targets` back from the device (one `[batch, seq]` transfer).
fn checked_classes(
    targets: &Tensor<2, Int>,
    lengths: Option<&[usize]>,
    classes: usize,
) -> Result<Vec<i64>, RnnError> {
    let seq = targets.dims()[1];
    let values: Vec<i64> = targets.clone().into_data().iter::<i64>().collect();
    let bad = values.iter().enumerate().find(|&(i, &class)| {
        let (b, t) = (i / seq, i % seq);
        let valid = lengths.is_none_or(|lengths| t < lengths[b]);
        valid && (class < 0 || class as u64 >= classes as u64)
    });
    match bad {
        Some((i, class)) => Err(RnnError::new(
            format!("targets[{}, {}]", i / seq, i % seq),
            format!("a class index in 0..{classes} (the logits' last dimension)"),
            class.to_string(),
        )),
        None => Ok(values),
    }
}

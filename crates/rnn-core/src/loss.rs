//! The weighted, label-smoothed cross-entropy of rows of logits: the computation under
//! rnn-tasks' sequence losses, fused into one operation on the CPU backends.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Bool, Int, Tensor, TensorData};

use crate::RnnError;
use crate::fused::cross_entropy::{Rows, cross_entropy};

/// `Σ_r weights[r] · ℓ_r` over the rows of `logits: [rows, classes]`, where row `r`'s loss
/// against class `targets[r]` with label smoothing ε (`smoothing`, in `[0, 1]`) is
/// `ℓ_r = -(1 - ε) log p_r[targets[r]] - ε · mean_c log p_r[c]` (`p_r` the softmax of the
/// row): PyTorch's `cross_entropy(..., label_smoothing=ε)` per row. Returns `[1]`.
///
/// On ndarray and flex (`f32`, with or without autodiff) this is one operation (a fused CPU
/// kernel, with one graph node and a hand-written backward pass); elsewhere Burn's tensor
/// operations compute the same. A row of weight 0 (padding) is left out, as PyTorch's
/// `ignore_index` leaves it: it contributes nothing and gets a zero gradient, whatever its
/// logits (a class masked to `-inf`, NaN).
///
/// Errors name the argument: `targets` or `weights` not one per row, a target outside
/// `0..classes`, `smoothing` outside `[0, 1]`.
pub fn weighted_cross_entropy(
    logits: Tensor<2>,
    targets: &[usize],
    weights: &[f32],
    smoothing: f64,
) -> Result<Tensor<1>, RnnError> {
    let [rows, classes] = logits.dims();
    if !(0.0..=1.0).contains(&smoothing) {
        return Err(RnnError::new(
            "smoothing",
            "a value in [0, 1]",
            smoothing.to_string(),
        ));
    }
    for (name, len) in [("targets", targets.len()), ("weights", weights.len())] {
        if len != rows {
            return Err(RnnError::new(
                name,
                format!("one per row of the logits ({rows})"),
                len.to_string(),
            ));
        }
    }
    if let Some((r, &t)) = targets.iter().enumerate().find(|&(_, &t)| t >= classes) {
        return Err(RnnError::new(
            format!("targets[{r}]"),
            format!("a class index in 0..{classes} (the logits' last dimension)"),
            t.to_string(),
        ));
    }
    let spec = Rows {
        targets: targets.into(),
        weights: weights.into(),
        smoothing: smoothing as f32,
    };
    Ok(cross_entropy(&logits, &spec)
        .unwrap_or_else(|| cross_entropy_in_tensor_ops(logits, targets, weights, smoothing)))
}

/// [`weighted_cross_entropy`] composed of Burn's tensor operations on any backend (a dozen
/// element-wise passes over the logits each way): what it runs where the fused kernel
/// cannot, and the reference that tests and benchmarks compare the kernel with. Takes valid
/// arguments (see [`weighted_cross_entropy`]'s errors).
///
/// # Panics
/// If `targets` or `weights` is not one per row.
pub fn cross_entropy_in_tensor_ops(
    logits: Tensor<2>,
    targets: &[usize],
    weights: &[f32],
    smoothing: f64,
) -> Tensor<1> {
    let [rows, classes] = logits.dims();
    let device = logits.device();
    // Rows of weight 0 are left out: their logits are read as zeros (`0 · NaN` would be NaN,
    // in the loss and through `log_softmax`'s backward pass in the gradient).
    let logits = if weights.contains(&0.0) {
        let left_out: Vec<bool> = weights.iter().map(|&w| w == 0.0).collect();
        let left_out = Tensor::<2, Bool>::from_data(TensorData::new(left_out, [rows, 1]), &device);
        logits.mask_fill(left_out.expand([rows, classes]), 0.0)
    } else {
        logits
    };
    let log_probs = log_softmax(logits, 1);
    let targets: Vec<i64> = targets.iter().map(|&t| t as i64).collect();
    let targets = Tensor::<2, Int>::from_data(TensorData::new(targets, [rows, 1]), &device);
    let picked = log_probs.clone().gather(1, targets).squeeze_dim::<1>(1);
    let per_row = if smoothing > 0.0 {
        picked * (1.0 - smoothing) + log_probs.mean_dim(1).squeeze_dim::<1>(1) * smoothing
    } else {
        picked
    };
    let weights = TensorData::new(weights.to_vec(), [rows]);
    let weights = Tensor::<1>::from_data(weights, (&device, per_row.dtype()));
    (per_row * weights).sum().neg()
}

//! Checks of configuration values and arguments, shared by every config of this crate and of
//! the crates built on it, so that one kind of mistake always gets the same message: the
//! argument, what was expected, what was given.

use burn::tensor::{DType, Device, Tensor};

use crate::RnnError;

/// Checks a size or count is positive: `hidden_size: expected a value > 0, got 0`.
pub fn check_positive(argument: impl core::fmt::Display, value: usize) -> Result<(), RnnError> {
    if value == 0 {
        return Err(RnnError::new(argument.to_string(), "a value > 0", "0"));
    }
    Ok(())
}

/// Checks an argument's last dimension has `expected` features (`input: expected feature size
/// 4 (last dimension), got 5`).
pub fn check_feature_size(
    argument: impl core::fmt::Display,
    expected: usize,
    actual: usize,
) -> Result<(), RnnError> {
    if actual != expected {
        return Err(RnnError::new(
            argument.to_string(),
            format!("feature size {expected} (last dimension)"),
            actual.to_string(),
        ));
    }
    Ok(())
}

/// Checks an argument's shape (`pad: expected shape [2, 5] ([batch, source] of values), got
/// [2, 4]`); `layout` says what the dimensions are.
pub fn check_shape(
    argument: impl core::fmt::Display,
    expected: &[usize],
    actual: &[usize],
    layout: impl core::fmt::Display,
) -> Result<(), RnnError> {
    if actual != expected {
        return Err(RnnError::new(
            argument.to_string(),
            format!("shape {expected:?} ({layout})"),
            format!("{actual:?}"),
        ));
    }
    Ok(())
}

/// Checks a tensor argument has the `expected` shape (as [`check_shape`]), the input's `dtype`
/// and lives on the input's `device` (autodiff or not): a tensor of another dtype or backend
/// would fail deep inside Burn or the fused kernels otherwise.
pub fn check_tensor<const D: usize>(
    argument: impl core::fmt::Display,
    tensor: &Tensor<D>,
    expected: &[usize],
    layout: impl core::fmt::Display,
    dtype: DType,
    device: &Device,
) -> Result<(), RnnError> {
    check_shape(&argument, expected, &tensor.dims(), layout)?;
    if tensor.dtype() != dtype {
        return Err(RnnError::new(
            argument.to_string(),
            format!("dtype {dtype:?} (the input's)"),
            format!("{:?}", tensor.dtype()),
        ));
    }
    if !same_device(&tensor.device(), device) {
        return Err(RnnError::new(
            argument.to_string(),
            format!("a tensor on the input's device ({device:?})"),
            format!("a tensor on {:?}", tensor.device()),
        ));
    }
    Ok(())
}

/// Whether `a` and `b` are the same device, with autodiff or without (Burn lifts a tensor
/// of the inner device into the autodiff graph).
pub(crate) fn same_device(a: &Device, b: &Device) -> bool {
    a.clone().without_autodiff() == b.clone().without_autodiff()
}

/// Checks `parts` is positive and divides `whole`, which `of` names (`num_heads: expected a
/// divisor of hidden_size 6, got 4`).
pub fn check_divisor(
    argument: impl core::fmt::Display,
    parts: usize,
    whole: usize,
    of: &str,
) -> Result<(), RnnError> {
    check_positive(&argument, parts)?;
    if !whole.is_multiple_of(parts) {
        return Err(RnnError::new(
            argument.to_string(),
            format!("a divisor of {of} {whole}"),
            parts.to_string(),
        ));
    }
    Ok(())
}

/// Checks a dropout rate is in `[0, 1)` (1 would drop everything, and rescale by `1 / 0`).
pub fn check_dropout(argument: &str, value: f64) -> Result<(), RnnError> {
    if !(value.is_finite() && (0.0..1.0).contains(&value)) {
        return Err(RnnError::new(
            argument,
            "a probability in [0, 1)",
            value.to_string(),
        ));
    }
    Ok(())
}

/// Checks a probability is in `[0, 1]` (NaN is not).
pub fn check_probability(argument: &str, value: f64) -> Result<(), RnnError> {
    if !(0.0..=1.0).contains(&value) {
        return Err(RnnError::new(
            argument,
            "a probability in [0, 1]",
            value.to_string(),
        ));
    }
    Ok(())
}

/// Checks a projection size (PyTorch's `proj_size`): 0 (none) or below `hidden_size`.
pub fn check_proj_size(proj_size: usize, hidden_size: usize) -> Result<(), RnnError> {
    if proj_size >= hidden_size && proj_size > 0 {
        return Err(RnnError::new(
            "proj_size",
            format!("0 (no projection) or a size below hidden_size ({hidden_size})"),
            proj_size.to_string(),
        ));
    }
    Ok(())
}

/// Checks a `[batch, seq]` shape has at least one example and one step; `argument` names the
/// tensor in the error (`input: expected a non-empty batch and sequence, got shape [2, 0]`).
pub fn check_not_empty(argument: &str, dims: [usize; 2]) -> Result<(), RnnError> {
    if dims.contains(&0) {
        return Err(RnnError::new(
            argument,
            "a non-empty batch and sequence",
            format!("shape {dims:?}"),
        ));
    }
    Ok(())
}

//! Small validations shared by the heads' configs and forwards.

use rnn_core::RnnError;

/// Checks a `[batch, seq]` token tensor is not empty; `argument` names it in the error.
pub(crate) fn check_not_empty(argument: &str, dims: [usize; 2]) -> Result<(), RnnError> {
    if dims.contains(&0) {
        return Err(RnnError::new(
            argument,
            "a non-empty batch and sequence",
            format!("shape {dims:?}"),
        ));
    }
    Ok(())
}

/// Checks a config size is positive.
pub(crate) fn check_positive(argument: &str, value: usize) -> Result<(), RnnError> {
    if value == 0 {
        return Err(RnnError::new(argument, "a value > 0", "0"));
    }
    Ok(())
}

/// Checks a dropout rate is in `[0, 1)`.
pub(crate) fn check_probability(argument: &str, value: f64) -> Result<(), RnnError> {
    if !(value.is_finite() && (0.0..1.0).contains(&value)) {
        return Err(RnnError::new(
            argument,
            "a probability in [0, 1)",
            value.to_string(),
        ));
    }
    Ok(())
}

//! Where a series is cut for training, early stopping and testing, so that nothing of the test
//! stretch reaches the model or its normalisation.
//!
//! ```text
//! points:  0 ................................ valid_start ...... test_start ...... len
//!          |<------------ training ------------>|<- validation ->|<---- test ---->|
//!                                                    (horizon)        (horizon)
//! ```
//!
//! A window of `window` points ending at its forecast origin `o` (inputs `o+1-window..=o`)
//! predicts the `horizon` points after it. Training windows end before the validation stretch
//! and learn only targets in the training stretch; validation windows end before the test
//! stretch and are scored only on targets in the validation stretch; the test forecast starts
//! from the window just before the test stretch. The normalisation's scale is a statistic of
//! the points before the test stretch (training and validation).

use std::ops::Range;

use super::naive::seasonal_naive_scale;

/// The cut of a series of `len` points for windows of `window` points and a forecast
/// `horizon`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holdout {
    /// Points in the series.
    pub len: usize,
    /// Points a model reads.
    pub window: usize,
    /// Points it forecasts, and the length of the validation and the test stretch.
    pub horizon: usize,
}

impl Holdout {
    /// The cut, or an error saying how many points it needs (a window, at least one training
    /// target, the validation and the test stretch) and how many the series has.
    pub fn new(len: usize, window: usize, horizon: usize) -> Result<Self, String> {
        // Saturating: flags as large as usize::MAX are errors, not overflows.
        let needed = window
            .saturating_add(horizon.saturating_mul(2))
            .saturating_add(1);
        if len < needed {
            return Err(format!(
                "expected a series of at least {needed} points (a window of {window}, a \
                 training target, {horizon} validation and {horizon} test points), got {len}"
            ));
        }
        Ok(Self {
            len,
            window,
            horizon,
        })
    }

    /// The first point of the test stretch: the last `horizon` points are the test.
    pub fn test_start(&self) -> usize {
        self.len - self.horizon
    }

    /// The first point of the validation stretch, the `horizon` points before the test.
    pub fn valid_start(&self) -> usize {
        self.test_start() - self.horizon
    }

    /// The forecast origins (last input points) of the training windows: every window that
    /// ends before the validation stretch and has a target before it.
    pub fn train_origins(&self) -> Range<usize> {
        self.window - 1..self.valid_start() - 1
    }

    /// The forecast origins of the validation windows: from just before the validation stretch
    /// to its second-last point (the last window with a validation target).
    pub fn valid_origins(&self) -> Range<usize> {
        self.valid_start() - 1..self.test_start() - 1
    }

    /// The forecast origin of the test forecast: the last point before the test stretch.
    pub fn test_origin(&self) -> usize {
        self.test_start() - 1
    }

    /// The normalisation's scale: the in-sample seasonal-naive MAE (with `period`) of the
    /// points before the test stretch, which is also MASE's scale. `None` when no pair of
    /// points a period apart is observed there, when all such pairs are equal (a constant
    /// series has no scale), or when their differences overflow (values near `f64::MAX`,
    /// whose inputs would be `inf / inf`, NaN).
    pub fn scale(&self, values: &[Option<f64>], period: usize) -> Option<f64> {
        seasonal_naive_scale(&values[..self.test_start()], period)
            .filter(|&s| s > 0.0 && s.is_finite())
    }
}

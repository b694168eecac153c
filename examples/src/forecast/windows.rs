//! What the model reads and predicts: a window of the series relative to its last observed
//! value, in units of the training part's scale, with an explicit missing-value channel; and
//! the points after it as corrections of the window's seasonal-naive forecast.
//!
//! A trend carries a series outside the range of its training part (CO2 rises year after
//! year): a network reading or predicting normalised levels would have to extrapolate.
//! Relative to the window's anchor (its last observed value), the inputs stay in the range of
//! the training windows; the targets are the differences between the values and the
//! seasonal-naive forecast made from the window, so an output of 0 is that baseline and the
//! network learns what the baseline misses (the year-on-year change, mostly).

use super::holdout::Holdout;
use super::model::ForecastItem;
use super::naive::seasonal_naive;

/// Input features per point: the value and the missing flag.
pub const FEATURES: usize = 2;

/// How values become model inputs and targets, and outputs become values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Encoding {
    /// The unit of inputs and targets (the training part's scale).
    pub scale: f64,
    /// The seasonal period of the baseline the targets correct.
    pub period: usize,
    /// Points forecast after a window.
    pub horizon: usize,
}

/// A window's inputs and the forecast its outputs correct.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedWindow {
    /// `[points, FEATURES]` row-major: per point `(value - anchor) / scale` and 0, or 0 and 1
    /// when the value is missing (missing values are flagged, never filled in); the anchor is
    /// the window's last observed value.
    pub inputs: Vec<f32>,
    /// `[horizon]` the seasonal-naive forecast of the points after the window
    /// ([`seasonal_naive`] of the window's values).
    pub baseline: Vec<f64>,
}

impl Encoding {
    /// The model inputs of the points `window`, `None` when none of them is observed.
    pub fn encode(&self, window: &[Option<f64>]) -> Option<EncodedWindow> {
        let anchor = window.iter().rev().find_map(|&v| v)?;
        let inputs = window
            .iter()
            .flat_map(|value| match value {
                Some(v) => [((v - anchor) / self.scale) as f32, 0.0],
                None => [0.0, 1.0],
            })
            .collect();
        let baseline = seasonal_naive(window, self.horizon, self.period)?;
        Some(EncodedWindow { inputs, baseline })
    }

    /// The values of the model's `outputs` for a window whose seasonal-naive forecast is
    /// `baseline`: the inverse of the targets' encoding.
    pub fn decode(&self, outputs: &[f32], baseline: &[f64]) -> Vec<f64> {
        outputs
            .iter()
            .zip(baseline)
            .map(|(&o, &b)| b + f64::from(o) * self.scale)
            .collect()
    }

    /// The training (or validation) item of the window of `values` that ends at `origin` with
    /// `window` points, predicting the points after it; targets at `visible_end` and beyond
    /// (another part of the split) or missing are masked out of the loss. `None` when no
    /// input or no target is observed.
    pub fn item(
        &self,
        values: &[Option<f64>],
        origin: usize,
        window: usize,
        visible_end: usize,
    ) -> Option<ForecastItem> {
        let encoded = self.encode(&values[origin + 1 - window..=origin])?;
        let (targets, mask): (Vec<f32>, Vec<f32>) = (origin + 1..origin + 1 + self.horizon)
            .zip(&encoded.baseline)
            .map(|(t, baseline)| match values.get(t).copied().flatten() {
                Some(v) if t < visible_end => (((v - baseline) / self.scale) as f32, 1.0),
                _ => (0.0, 0.0),
            })
            .unzip();
        mask.contains(&1.0).then_some(ForecastItem {
            inputs: encoded.inputs,
            targets,
            mask,
        })
    }

    /// The training and the validation items of `values` cut by `holdout` (see
    /// [`Holdout::train_origins`] and [`Holdout::valid_origins`]).
    pub fn split_windows(
        &self,
        values: &[Option<f64>],
        holdout: &Holdout,
    ) -> [Vec<ForecastItem>; 2] {
        let items = |origins: std::ops::Range<usize>, visible_end: usize| -> Vec<ForecastItem> {
            origins
                .filter_map(|origin| self.item(values, origin, holdout.window, visible_end))
                .collect()
        };
        [
            items(holdout.train_origins(), holdout.valid_start()),
            items(holdout.valid_origins(), holdout.test_start()),
        ]
    }
}

//! What the model reads and predicts: a window of the series relative to its last observed
//! value, in units of the training part's scale, with an explicit missing-value channel; and
//! the points after it as corrections of a base forecast (the window's seasonal-naive
//! forecast, or Holt-Winters smoothing's).
//!
//! A trend carries a series outside the range of its training part (CO2 rises year after
//! year): a network reading or predicting normalised levels would have to extrapolate.
//! Relative to the window's anchor (its last observed value), the inputs stay in the range of
//! the training windows; the targets are the differences between the values and the base
//! forecast made at the window's end, so an output of 0 is that forecast and the network
//! learns what it misses (for the seasonal-naive forecast, the year-on-year change, mostly).

use super::holdout::Holdout;
use super::model::ForecastItem;
use super::naive::seasonal_naive;
use super::smoothing::HoltWinters;

/// Input features per point: the value and the missing flag.
pub const FEATURES: usize = 2;

/// The forecast that the network's outputs correct: an output of 0 is this forecast.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Base {
    /// [`seasonal_naive`] of the window's values.
    #[default]
    SeasonalNaive,
    /// [`HoltWinters::forecast`] from all the points up to the window's end, with these
    /// parameters (fitted on the training stretch).
    HoltWinters(HoltWinters),
}

/// Which forecast the network corrects, before it is fitted (see [`Base`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BaseKind {
    /// The seasonal-naive forecast of the window.
    #[default]
    SeasonalNaive,
    /// Holt-Winters smoothing (damped trend, additive season) fitted on the training stretch.
    HoltWinters,
}

impl Base {
    /// The base of `kind` for `values` cut by `holdout` with the seasonal `period`: Holt-Winters
    /// is fitted on the training stretch alone (the points before the validation stretch), so
    /// that early stopping judges it on points it was not fitted on. Fails when it cannot be
    /// fitted there (see [`HoltWinters::fit`]).
    pub fn fit(
        kind: BaseKind,
        values: &[Option<f64>],
        holdout: &Holdout,
        period: usize,
    ) -> Result<Self, String> {
        match kind {
            BaseKind::SeasonalNaive => Ok(Self::SeasonalNaive),
            BaseKind::HoltWinters => {
                let training = &values[..holdout.valid_start()];
                HoltWinters::fit(training, period)
                    .map(Self::HoltWinters)
                    .map_err(|e| {
                        format!(
                            "--base holt-winters on the {} points before the validation \
                             stretch: {e}",
                            training.len()
                        )
                    })
            }
        }
    }
}

/// How values become model inputs and targets, and outputs become values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Encoding {
    /// The unit of inputs and targets (the training part's scale).
    pub scale: f64,
    /// The seasonal period of the base forecast.
    pub period: usize,
    /// Points forecast after a window.
    pub horizon: usize,
    /// The forecast the targets correct.
    pub base: Base,
}

/// A window's inputs and the forecast its outputs correct.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedWindow {
    /// `[points, FEATURES]` row-major: per point `(value - anchor) / scale` and 0, or 0 and 1
    /// when the value is missing (missing values are flagged, never filled in); the anchor is
    /// the window's last observed value.
    pub inputs: Vec<f32>,
    /// `[horizon]` the base forecast of the points after the window (see [`Base`]).
    pub baseline: Vec<f64>,
}

impl Encoding {
    /// The model inputs of the last `window` points of `history` and the base forecast after
    /// them, `None` when none of those points is observed (or, for Holt-Winters, none of the
    /// first period of `history`).
    ///
    /// # Panics
    /// When `history` is shorter than `window`.
    pub fn encode(&self, history: &[Option<f64>], window: usize) -> Option<EncodedWindow> {
        let window = &history[history.len() - window..];
        let anchor = window.iter().rev().find_map(|&v| v)?;
        let inputs = window
            .iter()
            .flat_map(|value| match value {
                Some(v) => [((v - anchor) / self.scale) as f32, 0.0],
                None => [0.0, 1.0],
            })
            .collect();
        let baseline = match self.base {
            Base::SeasonalNaive => seasonal_naive(window, self.horizon, self.period)?,
            Base::HoltWinters(smoothing) => {
                smoothing.forecast(history, self.period, self.horizon)?
            }
        };
        Some(EncodedWindow { inputs, baseline })
    }

    /// The values of the model's `outputs` for a window whose base forecast is `baseline`: the
    /// inverse of the targets' encoding.
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
        let encoded = self.encode(&values[..=origin], window)?;
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

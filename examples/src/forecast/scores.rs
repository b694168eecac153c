//! How far a forecast is from the truth: MAE, RMSE and MASE over the observed points.

/// The errors of a forecast.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scores {
    /// Mean absolute error, in the series' units.
    pub mae: f64,
    /// Root mean squared error, in the series' units.
    pub rmse: f64,
    /// MAE divided by the in-sample seasonal-naive MAE of the points before the test stretch
    /// ([`seasonal_naive_scale`](super::naive::seasonal_naive_scale)): below 1 beats that
    /// baseline's typical one-season error.
    pub mase: f64,
}

impl Scores {
    /// The scores of `forecast` against `truth` (as long) over the points where `truth` is
    /// observed, with the MASE `scale`; `None` when no point is observed.
    pub fn of(truth: &[Option<f64>], forecast: &[f64], scale: f64) -> Option<Self> {
        let errors: Vec<f64> = truth
            .iter()
            .zip(forecast)
            .filter_map(|(&truth, &forecast)| Some(forecast - truth?))
            .collect();
        if errors.is_empty() {
            return None;
        }
        let n = errors.len() as f64;
        let mae = errors.iter().map(|e| e.abs()).sum::<f64>() / n;
        Some(Self {
            mae,
            rmse: (errors.iter().map(|e| e * e).sum::<f64>() / n).sqrt(),
            mase: mae / scale,
        })
    }
}

//! Holt-Winters exponential smoothing with a damped additive trend and additive seasonality
//! (ETS(A,Ad,A) in Hyndman's taxonomy): a level, a trend and one seasonal offset per phase of
//! the period, each updated from the one-step error of every observed point. With
//! `--base holt-winters` its forecast is what the network corrects, in place of the seasonal-
//! naive forecast (the hybrid of Smyl's ES-RNN, which won the M4 competition): the smoothed
//! seasonal shape and level are less noisy than last season's values alone.
//!
//! Missing points are skipped explicitly: the state moves on by its own forecast, no value is
//! made up. The smoothing parameters are fitted by minimising the mean squared one-step error
//! (a grid, then a pattern search), statsmodels' `ExponentialSmoothing`'s default criterion;
//! the initial state is not fitted, it comes from the first two periods.

/// The smoothing parameters of ETS(A,Ad,A).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HoltWinters {
    /// The level's smoothing, in `[0, 1]`.
    pub alpha: f64,
    /// The trend's smoothing, in `[0, 1]`.
    pub beta: f64,
    /// The seasonal offsets' smoothing, in `[0, 1]`.
    pub gamma: f64,
    /// The trend's damping per step, in `[PHI_MIN, 1]` (1: an undamped linear trend).
    pub phi: f64,
}

/// The strongest damping [`HoltWinters::fit`] considers.
pub const PHI_MIN: f64 = 0.6;

/// The lower ends of alpha, beta, gamma and phi (each at most 1): the fit's search box and
/// what [`HoltWinters::check`] accepts.
const LOWER: [f64; 4] = [0.0, 0.0, 0.0, PHI_MIN];

/// The filter's state after a point.
struct State {
    level: f64,
    trend: f64,
    /// The seasonal offset of each phase, indexed by point index modulo the period.
    season: Vec<f64>,
}

/// The state after the first period and the index of the first point not yet in it, or `None`
/// when the first period has no observed value.
///
/// The trend is the mean change per point between the values one period apart in the first
/// two periods (0 when no such pair is observed), so that neither a partial second period nor
/// a missing value mixes the seasonal shape into it; the trend line passes through the mean of
/// the first period's observed values at the mean of their positions, and each offset is a
/// value's distance from that line (0 where the value is missing).
fn initial_state(values: &[Option<f64>], period: usize) -> Option<(State, usize)> {
    let first = &values[..period.min(values.len())];
    let observed: Vec<(f64, f64)> = first
        .iter()
        .enumerate()
        .filter_map(|(i, v)| Some((i as f64, (*v)?)))
        .collect();
    if observed.is_empty() {
        return None;
    }
    let count = observed.len() as f64;
    let (position, mean) = observed
        .iter()
        .fold((0.0, 0.0), |(p, m), (i, v)| (p + i / count, m + v / count));
    let changes: Vec<f64> = first
        .iter()
        .zip(values.get(period..).unwrap_or_default())
        .filter_map(|(&earlier, &later)| Some((later? - earlier?) / period as f64))
        .collect();
    let trend = if changes.is_empty() {
        0.0
    } else {
        changes.iter().sum::<f64>() / changes.len() as f64
    };
    let season = first
        .iter()
        .enumerate()
        .map(|(i, v)| v.map_or(0.0, |v| v - (mean + trend * (i as f64 - position))))
        .chain(std::iter::repeat(0.0))
        .take(period)
        .collect();
    let level = mean + trend * (first.len() as f64 - 1.0 - position);
    Some((
        State {
            level,
            trend,
            season,
        },
        first.len(),
    ))
}

impl HoltWinters {
    /// Runs the filter over `values` with seasonal `period`: the state after the last point,
    /// and the sum of squared one-step errors over the observed points after the first period
    /// with their count. `None` when the first period has no observed value.
    fn filter(&self, values: &[Option<f64>], period: usize) -> Option<(State, f64, usize)> {
        let (mut state, start) = initial_state(values, period)?;
        let (mut squared_errors, mut count) = (0.0, 0);
        for (t, value) in values.iter().enumerate().skip(start) {
            let phase = t % period;
            let damped_trend = self.phi * state.trend;
            let Some(value) = *value else {
                state.level += damped_trend;
                state.trend = damped_trend;
                continue;
            };
            let error = value - (state.level + damped_trend + state.season[phase]);
            squared_errors += error * error;
            count += 1;
            // The component form of Hyndman & Athanasopoulos, "Forecasting: Principles and
            // Practice", 8.3 (the season against the level predicted before this point).
            let level = self.alpha * (value - state.season[phase])
                + (1.0 - self.alpha) * (state.level + damped_trend);
            state.season[phase] = self.gamma * (value - state.level - damped_trend)
                + (1.0 - self.gamma) * state.season[phase];
            state.trend = self.beta * (level - state.level) + (1.0 - self.beta) * damped_trend;
            state.level = level;
        }
        Some((state, squared_errors, count))
    }

    /// The forecast of the `horizon` points after `history` (seasonal `period`): the final
    /// level, plus the trend damped step by step, plus the offset of each point's phase.
    /// `None` when the first period of `history` has no observed value.
    pub fn forecast(
        &self,
        history: &[Option<f64>],
        period: usize,
        horizon: usize,
    ) -> Option<Vec<f64>> {
        let (state, ..) = self.filter(history, period)?;
        let mut damping = 0.0;
        Some(
            (1..=horizon)
                .map(|h| {
                    damping += self.phi.powi(h as i32);
                    state.level
                        + damping * state.trend
                        + state.season[(history.len() - 1 + h) % period]
                })
                .collect(),
        )
    }

    /// The mean squared one-step error of the filter on `values` (seasonal `period`) over the
    /// observed points after the first period, which [`fit`](Self::fit) minimises; `None` when
    /// there is none, or no observed point in the first period.
    pub fn one_step_mse(&self, values: &[Option<f64>], period: usize) -> Option<f64> {
        let (_, squared_errors, count) = self.filter(values, period)?;
        (count > 0).then(|| squared_errors / count as f64)
    }

    /// The parameters with the least mean squared one-step error on `values` (seasonal
    /// `period`): the best of a coarse grid, refined by a pattern search (each parameter
    /// moved by a step while that lowers the error, the steps halved until they are below
    /// 0.001). Fails when `values` has no observed point in its first period or none after
    /// it, or when the errors overflow.
    pub fn fit(values: &[Option<f64>], period: usize) -> Result<Self, String> {
        let first = period.min(values.len());
        if values[..first].iter().all(Option::is_none) {
            return Err(format!(
                "expected an observed value among the first {period} points (the first period, \
                 which starts the smoothing), got none among {first}"
            ));
        }
        if values[first..].iter().all(Option::is_none) {
            return Err(format!(
                "expected an observed value after the first {period} points (the first \
                 period), got none among {}",
                values.len() - first
            ));
        }
        let mse = |p: &[f64; 4]| {
            Self::from_array(*p)
                .one_step_mse(values, period)
                .unwrap_or(f64::INFINITY)
        };
        let alphas = [0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95];
        let betas = [0.0, 0.05, 0.1, 0.2, 0.3, 0.5];
        let gammas = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
        let phis = [PHI_MIN, 0.7, 0.8, 0.9, 0.95, 0.98, 1.0];
        let mut best = ([0.0; 4], f64::INFINITY);
        for &alpha in &alphas {
            for &beta in &betas {
                for &gamma in &gammas {
                    for &phi in &phis {
                        let candidate = [alpha, beta, gamma, phi];
                        let error = mse(&candidate);
                        if error < best.1 {
                            best = (candidate, error);
                        }
                    }
                }
            }
        }
        if !best.1.is_finite() {
            let largest = values.iter().flatten().fold(0.0_f64, |m, v| m.max(v.abs()));
            return Err(format!(
                "expected one-step errors of finite size, got an overflow (values up to \
                 {largest:e} in size)"
            ));
        }
        let mut step = 0.05;
        while step >= 0.001 {
            let mut improved = false;
            for k in 0..4 {
                for direction in [-1.0, 1.0] {
                    let mut candidate = best.0;
                    candidate[k] = (candidate[k] + direction * step).clamp(LOWER[k], 1.0);
                    let error = mse(&candidate);
                    if error < best.1 {
                        best = (candidate, error);
                        improved = true;
                    }
                }
            }
            if !improved {
                step /= 2.0;
            }
        }
        Ok(Self::from_array(best.0))
    }

    /// Checks the parameters are in their ranges (`alpha`, `beta`, `gamma` in `[0, 1]`, `phi`
    /// in `[PHI_MIN, 1]`), e.g. when read back from a file: outside them the filter diverges.
    pub fn check(&self) -> Result<(), String> {
        let values = [self.alpha, self.beta, self.gamma, self.phi];
        match ["alpha", "beta", "gamma", "phi"]
            .into_iter()
            .zip(values)
            .zip(LOWER)
            .map(|((name, value), lower)| (name, value, lower))
            .find(|(_, value, lower)| !(*lower..=1.0).contains(value))
        {
            Some((name, value, lower)) => Err(format!(
                "expected a Holt-Winters {name} in [{lower}, 1], got {value}"
            )),
            None => Ok(()),
        }
    }

    fn from_array([alpha, beta, gamma, phi]: [f64; 4]) -> Self {
        Self {
            alpha,
            beta,
            gamma,
            phi,
        }
    }
}

//! The seasonal-naive forecast, the baseline every forecast is compared with, and the scale of
//! MASE (Hyndman & Koehler 2006): its in-sample mean absolute error.

/// The seasonal-naive forecast of the `horizon` points after `history`: each point repeats
/// the value one seasonal `period` earlier, the last observed season's value
/// (`ŷ[T+h] = y[T+h-m⌈h/m⌉]`; with `period` 1, the last value). A missing value falls back one
/// more period, and further; when no period back is observed, the last observed value of
/// `history`. `None` when `history` has no observed value.
pub fn seasonal_naive(history: &[Option<f64>], horizon: usize, period: usize) -> Option<Vec<f64>> {
    let last_observed = history.iter().rev().find_map(|&v| v)?;
    let end = history.len();
    Some(
        (1..=horizon)
            .map(|h| {
                let first_back = period * h.div_ceil(period);
                (first_back..)
                    .step_by(period)
                    .take_while(|&back| back < end + h)
                    .find_map(|back| history[end + h - 1 - back])
                    .unwrap_or(last_observed)
            })
            .collect(),
    )
}

/// The mean absolute error of the in-sample seasonal-naive forecast of `values`,
/// `mean |y[t] - y[t-period]|` over the pairs where both are observed: the scale that makes an
/// error a MASE. `None` when no pair is observed.
pub fn seasonal_naive_scale(values: &[Option<f64>], period: usize) -> Option<f64> {
    let differences: Vec<f64> = values
        .iter()
        .zip(values.iter().skip(period))
        .filter_map(|(&earlier, &later)| Some((later? - earlier?).abs()))
        .collect();
    (!differences.is_empty()).then(|| differences.iter().sum::<f64>() / differences.len() as f64)
}

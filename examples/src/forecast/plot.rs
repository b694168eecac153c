//! The forecast figure: the end of the history, the held-out truth, the model's forecast (and
//! its ensemble members' when there are several) and the seasonal-naive baseline, as a PNG
//! image.

use std::path::Path;

use plotters::prelude::*;

use super::series::Series;
use crate::heatmap::require_font;

/// What [`forecast_plot`] draws.
pub struct ForecastFigure<'a> {
    /// The title over the plot.
    pub title: &'a str,
    /// The whole series (history and test stretch).
    pub series: &'a Series,
    /// The first point of the test stretch.
    pub test_start: usize,
    /// Seasonal periods of history shown before the test stretch.
    pub periods_shown: usize,
    /// The seasonal period in points.
    pub period: usize,
    /// The model's forecast of the test stretch.
    pub forecast: &'a [f64],
    /// The forecasts of the ensemble's members, whose mean is `forecast` (drawn thin when
    /// there are several).
    pub members: &'a [Vec<f64>],
    /// The seasonal-naive forecast of the test stretch.
    pub naive: &'a [f64],
}

/// Writes `figure` as a 1000 × 500 PNG image at `path`.
pub fn forecast_plot(path: &Path, figure: &ForecastFigure) -> Result<(), String> {
    require_font()?;
    let series = figure.series;
    let first = figure.test_start.saturating_sub(
        figure
            .periods_shown
            .saturating_mul(figure.period.max(figure.forecast.len())),
    );
    let end = figure.test_start + figure.forecast.len();
    let observed = |range: std::ops::Range<usize>| -> Vec<Vec<(f64, f64)>> {
        // Runs of observed points: a missing value breaks the line instead of being bridged.
        let mut runs = vec![Vec::new()];
        for i in range {
            match series.values[i] {
                Some(v) => runs.last_mut().expect("a run").push((i as f64, v)),
                None => runs.push(Vec::new()),
            }
        }
        runs.retain(|run| !run.is_empty());
        runs
    };
    let along_test = |values: &[f64]| -> Vec<(f64, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(h, &v)| ((figure.test_start + h) as f64, v))
            .collect()
    };
    let history = observed(first..figure.test_start);
    let truth = observed(figure.test_start..end);
    let (forecast, naive) = (along_test(figure.forecast), along_test(figure.naive));
    let members: Vec<Vec<(f64, f64)>> = match figure.members {
        [] | [_] => Vec::new(),
        several => several.iter().map(|m| along_test(m)).collect(),
    };
    let all_values = history
        .iter()
        .chain(&truth)
        .chain(&members)
        .flatten()
        .chain(&forecast)
        .chain(&naive)
        .map(|&(_, v)| v);
    let (low, high) = all_values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let margin = ((high - low) * 0.05).max(1e-9);
    let draw_error = |e: DrawingAreaErrorKind<_>| format!("{}: {e}", path.display());

    let root = BitMapBackend::new(path, (1000, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_error)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(figure.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(first as f64..(end - 1) as f64, low - margin..high + margin)
        .map_err(draw_error)?;
    let date_label = |x: &f64| series.date(x.round().max(0.0) as usize).to_string();
    chart
        .configure_mesh()
        .x_labels(8)
        .x_label_formatter(&date_label)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(draw_error)?;
    let members_label = format!("{} members", members.len());
    let lines = [
        (members_label.as_str(), RGBColor(150, 185, 245), 1, members),
        ("history", BLACK, 2, history),
        ("held-out truth", RGBColor(0, 140, 0), 2, truth),
        ("forecast", RGBColor(20, 70, 220), 2, vec![forecast]),
        ("seasonal naive", RGBColor(220, 60, 20), 2, vec![naive]),
    ];
    for (label, color, width, runs) in lines {
        let style = ShapeStyle::from(color).stroke_width(width);
        for (i, run) in runs.into_iter().enumerate() {
            let drawn = chart
                .draw_series(LineSeries::new(run, style))
                .map_err(draw_error)?;
            if i == 0 {
                drawn
                    .label(label)
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
            }
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(draw_error)?;
    root.present().map_err(draw_error)
}

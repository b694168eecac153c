//! Training a forecaster: the series cut into training, validation and test stretches, windows
//! in units of the training part's scale, burn-train with early stopping on the validation
//! loss, the model and its setup saved, the test stretch forecast and scored against the
//! seasonal-naive baseline, and the figure drawn.

use std::path::PathBuf;
use std::time::Duration;

use super::forecaster::{ForecastSetup, Forecaster};
use super::frequency::Frequency;
use super::holdout::Holdout;
use super::model::{ForecastBatcher, ForecastItem, ForecastModel};
use super::naive::seasonal_naive;
use super::options::{ForecastOptions, model_config};
use super::plot::{ForecastFigure, forecast_plot};
use super::scores::Scores;
use super::series;
use crate::files::{save_model, write_json};
use crate::heatmap::require_font;
use crate::training::{Monitor, TrainingPlan, fit_on_loss, loader};

/// Training and validation windows a `--quick` run keeps (the most recent ones).
const QUICK_WINDOWS: [usize; 2] = [64, 8];

/// What a training run measured.
#[derive(Debug, Clone)]
pub struct ForecastReport {
    /// Points in the series, and how many of them are missing.
    pub points: [usize; 2],
    /// The inferred frequency.
    pub frequency: Frequency,
    /// What the model was trained for.
    pub setup: ForecastSetup,
    /// Training and validation windows.
    pub windows: [usize; 2],
    /// The dates of the test stretch, first and last.
    pub test_dates: [String; 2],
    /// Observed points in the test stretch (those scored).
    pub test_observed: usize,
    /// The model's test scores.
    pub model: Scores,
    /// The seasonal-naive forecast's test scores.
    pub seasonal_naive: Scores,
    /// The epoch whose weights were kept.
    pub best_epoch: usize,
    /// Epochs run.
    pub epochs_run: usize,
    /// Training wall time.
    pub train_time: Duration,
    /// The figure written (`out/forecast.png`).
    pub figure: PathBuf,
}

/// The test stretch's truth and forecasts, written to `out/test.json`.
#[derive(serde::Serialize)]
struct TestForecast<'a> {
    dates: Vec<String>,
    truth: &'a [Option<f64>],
    forecast: &'a [f64],
    seasonal_naive: &'a [f64],
    scores: [(&'static str, Scores); 2],
}

/// Trains a forecaster on `options.data`, writes it to `options.out`, and measures it on the
/// held-out test stretch (see [`Holdout`]).
pub fn train(options: &ForecastOptions) -> Result<ForecastReport, String> {
    // A missing font stops the run now rather than after the training.
    require_font()?;
    let data = format!("--data {}", options.data.display());
    let series = series::read(&options.data)?;
    let period = options.period.unwrap_or(series.frequency.period());
    let horizon = options.horizon.unwrap_or(period);
    let window = options
        .window
        .unwrap_or(period.max(horizon).saturating_mul(2));
    let holdout = Holdout::new(series.len(), window, horizon)
        .map_err(|e| format!("{data}: {e} (see --window and --horizon)"))?;
    let scale = holdout.scale(&series.values, period).ok_or_else(|| {
        format!(
            "{data}: expected observed values one period ({period} points) apart that differ, \
             before the test stretch (the normalisation's scale), got none"
        )
    })?;
    let setup = ForecastSetup {
        frequency: series.frequency,
        period,
        horizon,
        window,
        scale,
    };
    let encoding = setup.encoding();
    let [mut train_items, mut valid_items] = encoding.split_windows(&series.values, &holdout);
    if train_items.is_empty() || valid_items.is_empty() {
        return Err(format!(
            "{data}: expected observed values in the training and the validation stretch, got \
             {} training and {} validation windows with an observed target",
            train_items.len(),
            valid_items.len()
        ));
    }
    if options.quick {
        let [train, valid] = QUICK_WINDOWS;
        train_items.drain(..train_items.len().saturating_sub(train));
        valid_items.truncate(valid);
    }
    let windows = [train_items.len(), valid_items.len()];

    let device = options.backend.device();
    device.seed(options.seed);
    let config = model_config(options, horizon);
    let model = ForecastModel {
        regressor: config
            .try_init(&device.clone().autodiff())
            .map_err(|e| e.to_string())?,
    };
    let batches = |items: Vec<ForecastItem>, shuffle: bool| {
        loader(
            ForecastBatcher,
            items,
            options.batch_size,
            shuffle.then_some(options.seed),
        )
    };
    let plan = TrainingPlan::new(
        &options.out,
        options.quick,
        options.epochs,
        options.learning_rate,
        Monitor::Loss,
        options.patience,
    );
    let trained = fit_on_loss(
        model,
        batches(train_items, true),
        batches(valid_items, false),
        &plan,
    )?;

    save_model(&options.out, trained.model.clone(), &config)?;
    write_json(&options.out.join("setup.json"), &setup)?;

    let forecaster = Forecaster::new(trained.model, setup.clone(), device);
    let history = &series.values[..holdout.test_start()];
    let truth = &series.values[holdout.test_start()..];
    let forecast = forecaster.forecast(history)?;
    let naive = seasonal_naive(history, horizon, period).expect("the scale needs observed values");
    let no_truth = || format!("{data}: expected an observed value in the test stretch, got none");
    let model_scores = Scores::of(truth, &forecast, scale).ok_or_else(no_truth)?;
    let naive_scores = Scores::of(truth, &naive, scale).ok_or_else(no_truth)?;

    let figure = options.out.join("forecast.png");
    let name = options
        .data
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned());
    forecast_plot(
        &figure,
        &ForecastFigure {
            title: &format!("{name}: the last {horizon} points held out"),
            series: &series,
            test_start: holdout.test_start(),
            periods_shown: 4,
            period,
            forecast: &forecast,
            naive: &naive,
        },
    )?;
    let dates: Vec<String> = (holdout.test_start()..series.len())
        .map(|i| series.date(i).to_string())
        .collect();
    write_json(
        &options.out.join("test.json"),
        &TestForecast {
            dates: dates.clone(),
            truth,
            forecast: &forecast,
            seasonal_naive: &naive,
            scores: [("model", model_scores), ("seasonal naive", naive_scores)],
        },
    )?;
    Ok(ForecastReport {
        points: [
            series.len(),
            series.values.iter().filter(|v| v.is_none()).count(),
        ],
        frequency: series.frequency,
        setup,
        windows,
        test_dates: [dates[0].clone(), dates[dates.len() - 1].clone()],
        test_observed: truth.iter().flatten().count(),
        model: model_scores,
        seasonal_naive: naive_scores,
        best_epoch: trained.best_epoch,
        epochs_run: trained.epochs_run,
        train_time: trained.elapsed,
        figure,
    })
}

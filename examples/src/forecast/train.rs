//! Training a forecaster: the series cut into training, validation and test stretches, windows
//! in units of the training part's scale, an ensemble of members each trained with burn-train
//! and early stopping on the validation loss, the members and their setup saved, the test
//! stretch forecast and scored against the seasonal-naive baseline (and the base forecast the
//! network corrects), and the figure drawn.

use std::path::PathBuf;
use std::time::Duration;

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Device, Tensor};
use rnn_tasks::SequenceClassifierConfig;

use super::ensemble::{mean_output, member_dir, member_seeds};
use super::forecaster::{ForecastSetup, Forecaster};
use super::frequency::Frequency;
use super::holdout::Holdout;
use super::model::{ForecastBatcher, ForecastItem, ForecastModel, masked_mean_squared_error};
use super::naive::seasonal_naive;
use super::options::{ForecastOptions, model_config};
use super::plot::{ForecastFigure, forecast_plot};
use super::scores::Scores;
use super::series;
use super::windows::Base;
use crate::files::{save_model, write_json};
use crate::heatmap::require_font;
use crate::training::{Monitor, Trained, TrainingPlan, fit_on_loss, loader};

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
    /// The ensemble's members, in the order of the setup's seeds.
    pub members: Vec<MemberReport>,
    /// The ensemble's validation loss: the masked mean squared error of the mean of the
    /// members' outputs on the validation windows.
    pub validation_mse: f64,
    /// The ensemble's test scores.
    pub model: Scores,
    /// The seasonal-naive forecast's test scores.
    pub seasonal_naive: Scores,
    /// The test scores of the base forecast the network corrects, alone, when it is not the
    /// seasonal-naive forecast (`--base holt-winters`).
    pub base: Option<Scores>,
    /// Training wall time, all members together.
    pub train_time: Duration,
    /// The figure written (`out/forecast.png`).
    pub figure: PathBuf,
}

/// What the training of one member of the ensemble measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MemberReport {
    /// The seed of its weights and its batch order.
    pub seed: u64,
    /// The epoch whose weights were kept.
    pub best_epoch: usize,
    /// Epochs run.
    pub epochs_run: usize,
    /// Training wall time in seconds.
    pub train_seconds: f64,
    /// Its validation loss: the masked mean squared error of its outputs on the validation
    /// windows, in units of the scale squared.
    pub validation_mse: f64,
    /// Its forecast of the test stretch.
    pub forecast: Vec<f64>,
    /// Its test scores.
    pub scores: Scores,
}

/// The test stretch's truth and forecasts, written to `out/test.json`: `forecast` and the
/// `model` scores are the ensemble's, `members` the forecasts and scores of each member.
#[derive(serde::Serialize)]
struct TestForecast<'a> {
    dates: Vec<String>,
    truth: &'a [Option<f64>],
    forecast: &'a [f64],
    seasonal_naive: &'a [f64],
    scores: Vec<(&'static str, Scores)>,
    members: &'a [MemberReport],
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
            "{data}: expected observed values one period ({period} points) apart that differ \
             by a finite amount, before the test stretch (the normalisation's scale), got none"
        )
    })?;
    let base = Base::fit(options.base, &series.values, &holdout, period)
        .map_err(|e| format!("{data}: {e}"))?;
    let setup = ForecastSetup {
        frequency: series.frequency,
        period,
        horizon,
        window,
        scale,
        seeds: member_seeds(options.seed, options.ensemble),
        highway: options.highway,
        base,
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
    let config = model_config(options, horizon);
    let valid_batch = ForecastBatcher.batch(valid_items.clone(), &device);
    let highway = setup.highway_window();
    let mut trained = Vec::with_capacity(setup.seeds.len());
    for (k, &seed) in setup.seeds.iter().enumerate() {
        println!("member {} of {} (seed {seed})", k + 1, setup.seeds.len());
        let member = train_member(
            options,
            (&config, highway),
            seed,
            &device,
            &train_items,
            &valid_items,
        )?;
        save_model(
            &member_dir(&options.out, seed),
            member.model.clone(),
            &config,
        )?;
        trained.push(member);
    }
    write_json(&options.out.join("setup.json"), &setup)?;

    let validation_mse = |output: Tensor<2>| -> f64 {
        let loss = masked_mean_squared_error(
            output,
            valid_batch.targets.clone(),
            valid_batch.mask.clone(),
        );
        f64::from(loss.into_scalar::<f32>())
    };
    let valid_outputs: Vec<Tensor<2>> = trained
        .iter()
        .map(|member| member.model.forecast(valid_batch.inputs.clone()))
        .collect();
    let ensemble_validation =
        validation_mse(mean_output(valid_outputs.clone()).expect("at least one member"));

    let forecaster = Forecaster::new(
        trained.iter().map(|member| member.model.clone()).collect(),
        setup.clone(),
        device,
    )?;
    let history = &series.values[..holdout.test_start()];
    let truth = &series.values[holdout.test_start()..];
    let forecast = forecaster.forecast(history)?;
    let member_forecasts = forecaster.member_forecasts(history)?;
    let naive = seasonal_naive(history, horizon, period).expect("the scale needs observed values");
    let no_truth = || format!("{data}: expected an observed value in the test stretch, got none");
    let model_scores = Scores::of(truth, &forecast, scale).ok_or_else(no_truth)?;
    let naive_scores = Scores::of(truth, &naive, scale).ok_or_else(no_truth)?;
    let base_scores = match base {
        Base::SeasonalNaive => None,
        Base::HoltWinters(smoothing) => {
            let forecast = smoothing
                .forecast(history, period, horizon)
                .expect("fitted on this history's start");
            Some(Scores::of(truth, &forecast, scale).ok_or_else(no_truth)?)
        }
    };
    let members = (0..trained.len())
        .map(|k| {
            Ok(MemberReport {
                seed: setup.seeds[k],
                best_epoch: trained[k].best_epoch,
                epochs_run: trained[k].epochs_run,
                train_seconds: trained[k].elapsed.as_secs_f64(),
                validation_mse: validation_mse(valid_outputs[k].clone()),
                scores: Scores::of(truth, &member_forecasts[k], scale).ok_or_else(no_truth)?,
                forecast: member_forecasts[k].clone(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;

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
            members: &member_forecasts,
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
            scores: [("model", model_scores), ("seasonal naive", naive_scores)]
                .into_iter()
                .chain(base_scores.map(|scores| ("holt-winters", scores)))
                .collect(),
            members: &members,
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
        members,
        validation_mse: ensemble_validation,
        model: model_scores,
        seasonal_naive: naive_scores,
        base: base_scores,
        train_time: trained.iter().map(|member| member.elapsed).sum(),
        figure,
    })
}

/// Trains the member of the ensemble that starts from `seed` (its initial weights and its
/// batch order) on the same windows as the others, with early stopping on the validation
/// loss, with a highway from a window of `highway` points if given; burn-train's logs and
/// checkpoints go to the member's directory.
fn train_member(
    options: &ForecastOptions,
    (config, highway): (&SequenceClassifierConfig, Option<usize>),
    seed: u64,
    device: &Device,
    train_items: &[ForecastItem],
    valid_items: &[ForecastItem],
) -> Result<Trained<ForecastModel>, String> {
    device.seed(seed);
    let model = ForecastModel::init(config, highway, &device.clone().autodiff())?;
    let batches = |items: &[ForecastItem], shuffle: bool| {
        loader(
            ForecastBatcher,
            items.to_vec(),
            options.batch_size,
            shuffle.then_some(seed),
        )
    };
    let plan = TrainingPlan::new(
        &member_dir(&options.out, seed),
        options.quick,
        options.epochs,
        options.learning_rate,
        Monitor::Loss,
        options.patience,
    );
    fit_on_loss(
        model,
        batches(train_items, true),
        batches(valid_items, false),
        &plan,
    )
}

//! Time-series forecasting (many-to-many regression) on weekly or monthly series.
//!
//! `forecast` (or `forecast train`) trains an ensemble of recurrent forecasters with
//! burn-train, holds out the last `H` points, and prints the test MAE, RMSE and MASE of each
//! member, of the ensemble (the mean of the members' forecasts) and of the seasonal-naive
//! forecast; `forecast predict --data FILE` forecasts the `H` points after a series with the
//! saved ensemble.

use std::path::PathBuf;
use std::process::ExitCode;

use burn_rnn_examples::backend::Backend;
use burn_rnn_examples::cli::{
    announce_training, cell_name, exit_code, parse_args, parse_cell, parse_dropout, parse_positive,
};
use burn_rnn_examples::forecast::ensemble::parse_members;
use burn_rnn_examples::forecast::scores::Scores;
use burn_rnn_examples::forecast::windows::Base;
use burn_rnn_examples::forecast::{BaseKind, ForecastOptions, Forecaster, series, train};
use clap::{Args, Parser, Subcommand};
use rnn_tasks::CellKind;

#[derive(Parser)]
#[command(about = "Time-series forecasting with a recurrent network")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    train: TrainArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Train on the series, save the model, print the test scores (the default).
    Train(TrainArgs),
    /// Forecast the points after a series with a saved ensemble (the mean of its members'
    /// forecasts): one `DATE<TAB>VALUE` line each.
    #[command(alias = "forecast")]
    Predict {
        /// The series, a `date,value` CSV (default: the shipped weekly CO2 file).
        #[arg(long)]
        data: Option<PathBuf>,
        /// The training run's output directory.
        #[arg(long, default_value = "runs/forecast")]
        model: PathBuf,
        /// The backend.
        #[arg(long, value_enum, default_value_t = Backend::default())]
        backend: Backend,
    },
}

#[derive(Args, Clone)]
struct TrainArgs {
    /// The series: a `date,value` CSV, header optional, an empty value (or NA) where missing
    /// (default: the shipped weekly CO2 file).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Where the model, its setup, the figure and the training logs go.
    #[arg(long, default_value = "runs/forecast")]
    out: PathBuf,
    /// The backend.
    #[arg(long, value_enum, default_value_t = Backend::default())]
    backend: Backend,
    /// A few windows, a tiny model and one epoch, to check the pipeline.
    #[arg(long)]
    quick: bool,
    /// Seed of the weights and the batch order of the ensemble's first member (the others:
    /// seed + 1, seed + 2, ...).
    #[arg(long, default_value_t = ForecastOptions::default().seed)]
    seed: u64,
    /// Members of the ensemble: models trained alike from consecutive seeds, whose forecasts
    /// are averaged (1: a single model).
    #[arg(long, default_value_t = ForecastOptions::default().ensemble, value_parser = parse_members)]
    ensemble: usize,
    /// The most epochs (training stops earlier when the validation loss stalls).
    #[arg(long, default_value_t = ForecastOptions::default().epochs, value_parser = parse_positive)]
    epochs: usize,
    /// Epochs without a lower validation loss before training stops.
    #[arg(long, default_value_t = ForecastOptions::default().patience, value_parser = parse_positive)]
    patience: usize,
    /// Points to forecast; also the length of the test and of the validation stretch
    /// (default: one seasonal period).
    #[arg(long, value_parser = parse_positive)]
    horizon: Option<usize>,
    /// The seasonal period in points (default: 52 weekly, 12 monthly, 7 daily, 4 quarterly,
    /// else 1).
    #[arg(long, value_parser = parse_positive)]
    period: Option<usize>,
    /// Points the model reads (default: twice the larger of period and horizon).
    #[arg(long, value_parser = parse_positive)]
    window: Option<usize>,
    /// Recurrent cell: lstm, gru, elman, mingru, minlstm, slstm or mlstm.
    #[arg(long, value_parser = parse_cell, default_value = cell_name(ForecastOptions::default().cell))]
    cell: CellKind,
    /// Hidden units of the encoder and of the layer after it.
    #[arg(long, default_value_t = ForecastOptions::default().hidden, value_parser = parse_positive)]
    hidden: usize,
    /// Dropout on the inputs and before the output layers.
    #[arg(long, default_value_t = ForecastOptions::default().dropout, value_parser = parse_dropout)]
    dropout: f64,
    /// Add a linear map from the window's values to the forecast, beside the network
    /// (LSTNet's autoregressive highway).
    #[arg(long)]
    highway: bool,
    /// The forecast the network corrects: the window's seasonal-naive forecast, or
    /// Holt-Winters smoothing (damped trend, additive season) fitted on the training stretch.
    #[arg(long, value_enum, default_value_t = BaseKind::default())]
    base: BaseKind,
}

fn main() -> ExitCode {
    let cli = parse_args::<Cli>();
    let result = match cli.command {
        Some(Command::Predict {
            data,
            model,
            backend,
        }) => predict(data, model, backend),
        Some(Command::Train(args)) => run_training(args),
        None => run_training(cli.train),
    };
    exit_code(result)
}

fn run_training(args: TrainArgs) -> Result<(), String> {
    let mut options = ForecastOptions {
        out: args.out,
        backend: args.backend,
        quick: args.quick,
        seed: args.seed,
        ensemble: args.ensemble,
        epochs: args.epochs,
        patience: args.patience,
        horizon: args.horizon,
        period: args.period,
        window: args.window,
        cell: args.cell,
        hidden: args.hidden,
        dropout: args.dropout,
        highway: args.highway,
        base: args.base,
        ..ForecastOptions::default()
    };
    announce_training(args.data, &mut options.data, options.backend);
    let report = train(&options)?;
    let setup = &report.setup;
    let [points, missing] = report.points;
    let [train_windows, valid_windows] = report.windows;
    println!(
        "{points} {} points ({missing} missing), period {}, window {}, horizon {}; \
         {train_windows} training / {valid_windows} validation windows; {} members, {:.0} s of \
         training",
        report.frequency,
        setup.period,
        setup.window,
        setup.horizon,
        report.members.len(),
        report.train_time.as_secs_f64()
    );
    println!(
        "test: {} to {} ({} observed points), MASE scale {:.4}",
        report.test_dates[0], report.test_dates[1], report.test_observed, setup.scale
    );
    if let Base::HoltWinters(smoothing) = setup.base {
        println!(
            "base: Holt-Winters fitted on the training stretch, alpha {:.3}, beta {:.3}, gamma \
             {:.3}, phi {:.3}",
            smoothing.alpha, smoothing.beta, smoothing.gamma, smoothing.phi
        );
    }
    let row = |name: &str, epochs: &str, validation: String, scores: Scores| {
        println!(
            "{name:<16} {epochs:>10} {validation:>10} {:>10.4} {:>10.4} {:>8.4}",
            scores.mae, scores.rmse, scores.mase
        );
    };
    println!(
        "{:<16} {:>10} {:>10} {:>10} {:>10} {:>8}",
        "", "best epoch", "valid MSE", "MAE", "RMSE", "MASE"
    );
    for member in &report.members {
        row(
            &format!("seed {}", member.seed),
            &format!("{} of {}", member.best_epoch, member.epochs_run),
            format!("{:.5}", member.validation_mse),
            member.scores,
        );
    }
    row(
        &format!("ensemble of {}", report.members.len()),
        "",
        format!("{:.5}", report.validation_mse),
        report.model,
    );
    row("seasonal naive", "", String::new(), report.seasonal_naive);
    if let Some(scores) = report.base {
        row("Holt-Winters", "", String::new(), scores);
    }
    println!("test MAE: {:.4}", report.model.mae);
    println!("figure: {}", report.figure.display());
    println!("model saved to {}", options.out.display());
    Ok(())
}

fn predict(data: Option<PathBuf>, model: PathBuf, backend: Backend) -> Result<(), String> {
    let forecaster = Forecaster::load(&model, backend)
        .map_err(|e| format!("--model {}: {e}", model.display()))?;
    let data = data.unwrap_or(ForecastOptions::default().data);
    let series = series::read(&data)?;
    for (date, value) in
        forecaster.forecast_series(&series, &format!("--data {}", data.display()))?
    {
        println!("{date}\t{value:.4}");
    }
    Ok(())
}

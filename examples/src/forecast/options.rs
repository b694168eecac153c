//! The options of a forecasting run, their defaults, and the model configuration they
//! describe.

use std::path::PathBuf;

use rnn_tasks::{CellKind, InputConfig, Pooling, RecurrentConfig, SequenceClassifierConfig};

use super::windows::{BaseKind, FEATURES};
use crate::backend::Backend;

/// Hidden units of a `--quick` run's model, which only proves the pipeline.
const QUICK_HIDDEN: usize = 8;

/// Everything a training run needs.
#[derive(Debug, Clone)]
pub struct ForecastOptions {
    /// The series (a `date,value` CSV, see [`series::parse`](super::series::parse)).
    pub data: PathBuf,
    /// Where the model and its setup are written.
    pub out: PathBuf,
    /// The backend.
    pub backend: Backend,
    /// A few windows, a tiny model and one epoch: proves the pipeline in seconds.
    pub quick: bool,
    /// Seed of the initial weights and the batch order of the ensemble's first member.
    pub seed: u64,
    /// Members of the ensemble, trained from the seeds `seed`, `seed + 1`, ...; the forecast
    /// is the mean of theirs.
    pub ensemble: usize,
    /// The most epochs.
    pub epochs: usize,
    /// Stop after this many epochs without a lower validation loss.
    pub patience: usize,
    /// Points forecast, and the length of the validation and test stretches; `None`: one
    /// seasonal period.
    pub horizon: Option<usize>,
    /// The seasonal period in points; `None`: from the frequency (52 weekly, 12 monthly, 7
    /// daily, 4 quarterly, else 1).
    pub period: Option<usize>,
    /// Points the model reads before a forecast; `None`: twice the larger of the period and
    /// the horizon.
    pub window: Option<usize>,
    /// Recurrent cell.
    pub cell: CellKind,
    /// Hidden units of the encoder and of the MLP layer after it.
    pub hidden: usize,
    /// Dropout on the inputs and before the MLP's layers (training only).
    pub dropout: f64,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Windows per batch.
    pub batch_size: usize,
    /// A linear highway from the window's values to the outputs, beside the network (see
    /// [`ForecastModel::highway`](super::model::ForecastModel::highway)).
    pub highway: bool,
    /// The forecast the network corrects.
    pub base: BaseKind,
}

impl Default for ForecastOptions {
    fn default() -> Self {
        Self {
            data: PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/data/timeseries/co2_weekly_mauna_loa.csv"
            )),
            out: PathBuf::from("runs/forecast"),
            backend: Backend::default(),
            quick: false,
            seed: 42,
            ensemble: 5,
            epochs: 100,
            patience: 10,
            horizon: None,
            period: None,
            window: None,
            cell: CellKind::Lstm,
            hidden: 64,
            dropout: 0.0,
            learning_rate: 3e-3,
            batch_size: 32,
            highway: false,
            base: BaseKind::SeasonalNaive,
        }
    }
}

/// The model configuration of `options` for a `horizon`: a unidirectional encoder over the
/// window's features, its final state through one hidden ReLU layer to `horizon` outputs
/// (a tiny model when `quick`).
pub(super) fn model_config(options: &ForecastOptions, horizon: usize) -> SequenceClassifierConfig {
    let hidden = if options.quick {
        QUICK_HIDDEN
    } else {
        options.hidden
    };
    SequenceClassifierConfig::new(
        InputConfig::features(FEATURES),
        RecurrentConfig::new(hidden).with_cell(options.cell),
        horizon,
    )
    .with_pooling(Pooling::Last)
    .with_mlp_hidden(vec![hidden])
    .with_dropout(options.dropout)
}

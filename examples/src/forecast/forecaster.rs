//! A trained forecaster (an ensemble of members) with the setup it was trained with: loading
//! a training run's output and forecasting the points after a series.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use rnn_tasks::SequenceClassifierConfig;

use super::date::Date;
use super::ensemble::{mean_output, member_dir};
use super::frequency::Frequency;
use super::model::ForecastModel;
use super::series::Series;
use super::windows::{Base, Encoding, FEATURES};
use crate::backend::Backend;
use crate::files::{check_saved_size, load_model, read_json};

/// What a model was trained for, saved beside it as `setup.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ForecastSetup {
    /// The frequency of the training series: a forecast is for a series of the same one.
    pub frequency: Frequency,
    /// The seasonal period in points.
    pub period: usize,
    /// Points forecast.
    pub horizon: usize,
    /// Points the model reads.
    pub window: usize,
    /// The training part's scale (the unit of the model's inputs and outputs).
    pub scale: f64,
    /// The seeds of the ensemble's members, one model each (saved in
    /// [`member_dir`](super::ensemble::member_dir)).
    pub seeds: Vec<u64>,
    /// Whether the members have a linear highway from the window
    /// ([`ForecastModel::highway`]); absent in the setups written before it: `false`.
    #[serde(default)]
    pub highway: bool,
    /// The forecast the members' outputs correct, with its fitted parameters; absent in the
    /// setups written before it: the seasonal-naive forecast.
    #[serde(default)]
    pub base: Base,
}

impl ForecastSetup {
    /// How the model's inputs, targets and outputs are encoded.
    pub fn encoding(&self) -> Encoding {
        Encoding {
            scale: self.scale,
            period: self.period,
            horizon: self.horizon,
            base: self.base,
        }
    }

    /// Checks the setup could have been written by a training run (e.g. when read back from
    /// a file): points, periods and a scale the encoding can use, at least one seed, a base in
    /// range.
    pub fn check(&self) -> Result<(), String> {
        if self.window == 0 || !(self.scale.is_finite() && self.scale > 0.0) {
            return Err(format!(
                "expected a window of at least 1 point and a positive scale, got window {} and \
                 scale {}",
                self.window, self.scale
            ));
        }
        if self.period == 0 || self.horizon == 0 {
            return Err(format!(
                "expected a period and a horizon of at least 1 point, got period {} and \
                 horizon {}",
                self.period, self.horizon
            ));
        }
        if self.seeds.is_empty() {
            return Err("expected the seeds of at least one ensemble member, got none".into());
        }
        match self.base {
            Base::HoltWinters(smoothing) => smoothing.check(),
            Base::SeasonalNaive => Ok(()),
        }
    }

    /// The window of points the members' highway reads, if they have one
    /// ([`ForecastModel::init`]'s `highway`).
    pub fn highway_window(&self) -> Option<usize> {
        self.highway.then_some(self.window)
    }
}

/// The trained members of an ensemble with their setup.
pub struct Forecaster {
    members: Vec<ForecastModel>,
    setup: ForecastSetup,
    device: Device,
}

impl Forecaster {
    /// The forecaster of the `members` trained with `setup` (one per seed of it, in the same
    /// order), running on `device`. Fails when the counts differ, or the setup is not one a
    /// training run writes ([`ForecastSetup::check`]).
    pub fn new(
        members: Vec<ForecastModel>,
        setup: ForecastSetup,
        device: Device,
    ) -> Result<Self, String> {
        setup.check()?;
        Self::assemble(members, setup, device)
    }

    /// [`new`](Self::new) for a setup already checked.
    fn assemble(
        members: Vec<ForecastModel>,
        setup: ForecastSetup,
        device: Device,
    ) -> Result<Self, String> {
        if members.len() != setup.seeds.len() || members.is_empty() {
            return Err(format!(
                "expected one model for each of the setup's {} seeds (at least one), got {}",
                setup.seeds.len(),
                members.len()
            ));
        }
        Ok(Self {
            members,
            setup,
            device,
        })
    }

    /// Loads the ensemble that [`train`](super::train()) wrote to `dir`: `setup.json`, and
    /// the model of each seed it lists. Fails when a member's files are missing, or when
    /// `setup.json` does not match a member's configuration (files of different runs mixed).
    pub fn load(dir: &Path, backend: Backend) -> Result<Self, String> {
        let device = backend.device();
        let setup_path = dir.join("setup.json");
        let setup: ForecastSetup = read_json(&setup_path)?;
        setup
            .check()
            .map_err(|e| format!("{}: {e}", setup_path.display()))?;
        let seeds = setup
            .seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let mut members = Vec::with_capacity(setup.seeds.len());
        let highway = setup.highway_window();
        for &seed in &setup.seeds {
            let member = member_dir(dir, seed);
            for file in ["config.json", "model.bpk"] {
                let path = member.join(file);
                if let Err(e) = std::fs::metadata(&path) {
                    return Err(format!(
                        "expected the {} ensemble members that {} lists (seeds {seeds}), got \
                         none for seed {seed}: {}: {e}",
                        setup.seeds.len(),
                        setup_path.display(),
                        path.display()
                    ));
                }
            }
            let (model, config) = load_model(&member, |config: &SequenceClassifierConfig| {
                ForecastModel::init(config, highway, &device)
                    .map_err(|e| format!("{}: {e}", member.join("config.json").display()))
            })?;
            // The setup is the ensemble's, one level above the member's configuration.
            check_saved_size(
                &member,
                "../setup.json",
                "forecast points",
                setup.horizon,
                "num_classes",
                config.num_classes,
            )?;
            members.push(model);
        }
        Self::assemble(members, setup, device)
    }

    /// What the model was trained for.
    pub fn setup(&self) -> &ForecastSetup {
        &self.setup
    }

    /// The ensemble's forecast of the `horizon` points after `history`, from its last
    /// `window` points: the mean of the members' outputs, decoded (the same as the mean of
    /// their forecasts, decoding being affine). Fails when `history` is shorter than a window,
    /// or when none of those points is observed.
    pub fn forecast(&self, history: &[Option<f64>]) -> Result<Vec<f64>, String> {
        let (outputs, baseline) = self.outputs(history)?;
        let mean = mean_output(outputs).expect("a forecaster has members");
        Ok(self.decode(mean, &baseline))
    }

    /// Each member's forecast of the `horizon` points after `history`, in the order of the
    /// setup's seeds; fails like [`forecast`](Self::forecast).
    pub fn member_forecasts(&self, history: &[Option<f64>]) -> Result<Vec<Vec<f64>>, String> {
        let (outputs, baseline) = self.outputs(history)?;
        Ok(outputs
            .into_iter()
            .map(|output| self.decode(output, &baseline))
            .collect())
    }

    /// The members' `[1, horizon]` outputs for the window at the end of `history`, and the
    /// base forecast that they correct.
    fn outputs(&self, history: &[Option<f64>]) -> Result<(Vec<Tensor<2>>, Vec<f64>), String> {
        let window = self.setup.window;
        if history.len() < window {
            return Err(format!(
                "expected a series of at least {window} points (the model's window), got {}",
                history.len()
            ));
        }
        let period = self.setup.period;
        let encoded = self
            .setup
            .encoding()
            .encode(history, window)
            .ok_or_else(|| {
                if history[history.len() - window..]
                    .iter()
                    .all(Option::is_none)
                {
                    format!(
                        "expected an observed value among the last {window} points (the \
                         model's window), got none"
                    )
                } else {
                    format!(
                        "expected an observed value among the first {period} points (a \
                         period, which starts the Holt-Winters base), got none"
                    )
                }
            })?;
        let inputs = Tensor::<3>::from_data(
            TensorData::new(encoded.inputs, [1, window, FEATURES]),
            &self.device,
        );
        let outputs = self
            .members
            .iter()
            .map(|member| member.forecast(inputs.clone()))
            .collect();
        Ok((outputs, encoded.baseline))
    }

    /// The values of the `[1, horizon]` `output` of a window whose base forecast is
    /// `baseline`.
    fn decode(&self, output: Tensor<2>, baseline: &[f64]) -> Vec<f64> {
        let output: Vec<f32> = output.into_data().iter::<f32>().collect();
        self.setup.encoding().decode(&output, baseline)
    }

    /// The dates and forecast values of the `horizon` points after `series`; `origin` names
    /// the series in errors. Fails when its frequency is not the model's.
    pub fn forecast_series(
        &self,
        series: &Series,
        origin: &str,
    ) -> Result<Vec<(Date, f64)>, String> {
        if series.frequency != self.setup.frequency {
            return Err(format!(
                "{origin}: expected a {} series (the model's), got a {} one",
                self.setup.frequency, series.frequency
            ));
        }
        let values = self
            .forecast(&series.values)
            .map_err(|e| format!("{origin}: {e}"))?;
        Ok(values
            .into_iter()
            .enumerate()
            .map(|(h, value)| (series.date(series.len() + h), value))
            .collect())
    }
}

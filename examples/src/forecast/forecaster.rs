//! A trained forecaster with the setup it was trained with: loading a training run's output
//! and forecasting the points after a series.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use rnn_tasks::SequenceClassifierConfig;

use super::date::Date;
use super::frequency::Frequency;
use super::model::ForecastModel;
use super::series::Series;
use super::windows::{Encoding, FEATURES};
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
}

impl ForecastSetup {
    /// How the model's inputs, targets and outputs are encoded.
    pub fn encoding(&self) -> Encoding {
        Encoding {
            scale: self.scale,
            period: self.period,
            horizon: self.horizon,
        }
    }
}

/// A trained model with its setup.
pub struct Forecaster {
    model: ForecastModel,
    setup: ForecastSetup,
    device: Device,
}

impl Forecaster {
    /// The forecaster of `model`, trained with `setup`, running on `device`.
    pub fn new(model: ForecastModel, setup: ForecastSetup, device: Device) -> Self {
        Self {
            model,
            setup,
            device,
        }
    }

    /// Loads the model that [`train`](super::train()) wrote to `dir`. Fails when `setup.json`
    /// does not match the model's configuration (files of different runs mixed).
    pub fn load(dir: &Path, backend: Backend) -> Result<Self, String> {
        let device = backend.device();
        let (model, config) = load_model(dir, |config: &SequenceClassifierConfig| {
            Ok(ForecastModel {
                regressor: config.try_init(&device).map_err(|e| e.to_string())?,
            })
        })?;
        let setup: ForecastSetup = read_json(&dir.join("setup.json"))?;
        check_saved_size(
            dir,
            "setup.json",
            "forecast points",
            setup.horizon,
            "num_classes",
            config.num_classes,
        )?;
        if setup.window == 0 || !(setup.scale.is_finite() && setup.scale > 0.0) {
            return Err(format!(
                "{}: expected a window of at least 1 point and a positive scale, got window {} \
                 and scale {}",
                dir.join("setup.json").display(),
                setup.window,
                setup.scale
            ));
        }
        Ok(Self::new(model, setup, device))
    }

    /// What the model was trained for.
    pub fn setup(&self) -> &ForecastSetup {
        &self.setup
    }

    /// The forecast of the `horizon` points after `history`, from its last `window` points.
    /// Fails when `history` is shorter than a window, or when none of those points is
    /// observed.
    pub fn forecast(&self, history: &[Option<f64>]) -> Result<Vec<f64>, String> {
        let window = self.setup.window;
        if history.len() < window {
            return Err(format!(
                "expected a series of at least {window} points (the model's window), got {}",
                history.len()
            ));
        }
        let encoding = self.setup.encoding();
        let encoded = encoding
            .encode(&history[history.len() - window..])
            .ok_or_else(|| {
                format!(
                    "expected an observed value among the last {window} points (the model's \
                     window), got none"
                )
            })?;
        let inputs = Tensor::<3>::from_data(
            TensorData::new(encoded.inputs, [1, window, FEATURES]),
            &self.device,
        );
        let outputs: Vec<f32> = self
            .model
            .forecast(inputs)
            .into_data()
            .iter::<f32>()
            .collect();
        Ok(encoding.decode(&outputs, &encoded.baseline))
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

//! Many-to-many regression: forecasting the next `horizon` points of a time series with a
//! recurrent network over windows of it, trained with burn-train, against the seasonal-naive
//! baseline on a held-out final stretch.
//!
//! Artifacts in the output directory: `setup.json` (frequency, period, horizon, window, scale,
//! the ensemble members' seeds, whether they have a highway, and the base forecast they
//! correct with its fitted parameters), a directory `seed-SEED/` for each member with
//! `model.bpk` (its best epoch's weights), `config.json` (the network's configuration) and
//! burn-train's logs and checkpoints under `training/`, `test.json` (the test stretch's truth,
//! the ensemble's and the members' forecasts and scores) and `forecast.png`.

pub mod date;
pub mod ensemble;
pub mod frequency;
pub mod holdout;
pub mod model;
pub mod naive;
pub mod scores;
pub mod series;
pub mod smoothing;
pub mod windows;

mod forecaster;
mod options;
mod plot;
mod train;

pub use forecaster::{ForecastSetup, Forecaster};
pub use options::ForecastOptions;
pub use plot::{ForecastFigure, forecast_plot};
pub use train::{ForecastReport, MemberReport, train};
pub use windows::BaseKind;

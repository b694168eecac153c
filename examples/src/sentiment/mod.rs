//! Many-to-one: sentiment classification of review sentences with a bidirectional recurrent
//! classifier, trained with burn-train.
//!
//! Artifacts in the output directory: `model.bpk` (the best epoch's weights), `config.json`
//! (the classifier's configuration), `vocab.json`, `classes.json`, and burn-train's logs and
//! checkpoints under `training/`.

pub mod data;
pub mod model;

mod corpus;
mod evaluate;
mod export;
mod options;
mod predictor;
mod train;

pub use corpus::split_examples;
pub use evaluate::{AFINN_BASELINE, GroupAccuracy, evaluate_saved};
pub use export::export_split;
pub use options::SentimentOptions;
pub use predictor::{Prediction, SentimentPredictor};
pub use train::{SentimentReport, train};

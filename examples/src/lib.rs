//! End-to-end examples of burn-rnn on real data: the building blocks the `sentiment`,
//! `translation`, `forecast` and `charlm` programs share (backends, text, splits, training, BLEU,
//! heatmaps), and each task's data, model and evaluation; and `xlstm_tasks`, the xLSTM
//! paper's synthetic tasks for every cell.

#![warn(missing_docs)]

pub mod backend;
pub mod bleu;
pub mod bpe;
pub mod charlm;
pub mod cli;
pub mod epoch_batches;
pub mod files;
pub mod forecast;
pub mod heatmap;
pub mod held_out;
mod quiet;
pub mod sentiment;
pub mod split;
pub mod text;
pub mod training;
pub mod translation;
pub mod xlstm_tasks;

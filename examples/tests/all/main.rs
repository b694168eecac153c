//! Tests of the examples: their building blocks (text, splits, BLEU, data files, saved models,
//! flags, the xLSTM tasks' data, time series and forecasts, the character model's streams and
//! n-gram baseline) and quick end-to-end runs of the programs on the backend under test
//! (`RNN_TEST_BACKEND`).

mod batcher;
mod bleu;
mod charlm;
mod charlm_pytorch;
mod cli;
mod data;
mod export;
mod forecast;
mod programs;
mod saved;
mod split;
mod text;
mod xlstm_data;

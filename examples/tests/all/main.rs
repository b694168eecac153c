//! Tests of the examples: their building blocks (text, splits, BLEU, data files) and quick
//! end-to-end runs of both programs on the backend under test (`RNN_TEST_BACKEND`).

mod batcher;
mod bleu;
mod data;
mod export;
mod programs;
mod split;
mod text;

//! rnn-tasks' integration tests: one binary, run once per backend by `cargo xtask test`
//! (the backend comes from `RNN_TEST_BACKEND`, as for rnn-core, whose helpers it shares).

mod attention;
#[path = "../../../rnn-core/tests/all/backend.rs"]
mod backend;
mod beam;
mod classifier;
mod clip;
mod custom_cell;
mod errors;
#[path = "../../../rnn-core/tests/all/finite_differences.rs"]
mod finite_differences;
mod generator;
mod gradients;
mod learning;
mod loss;
mod nan_logits;
#[path = "../../../rnn-core/tests/all/peephole.rs"]
mod peephole;
mod record;
mod seq2seq;
mod sizes;
mod support;
mod tagger;
#[path = "../../../rnn-core/tests/all/util.rs"]
#[allow(dead_code)] // rnn-core's fixture helpers are not used here
mod util;

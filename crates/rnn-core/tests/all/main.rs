//! rnn-core's integration tests: one binary, run once per backend by `cargo xtask test`
//! (the backend comes from `RNN_TEST_BACKEND`: `ndarray` (default), `wgpu` or `flex`).

mod any_state;
mod backend;
mod bad_parameters;
mod concurrency;
mod cross_entropy;
mod custom_cell;
mod dropout;
mod errors;
mod finite_differences;
mod foreign_tensors;
mod fused;
mod fused_slstm;
mod gradcheck;
mod layers;
mod linear;
mod log_softmax;
mod long_sequences;
mod malformed_files;
mod measure;
mod min_cells;
mod mlstm;
mod modern_parity;
mod nonfinite;
mod packed_cache;
mod padding;
mod parity;
mod peephole;
mod pytorch_weights;
mod record;
mod slstm;
mod tanh;
mod top_k;
mod util;
mod xlstm_stack;

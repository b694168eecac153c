//! One-to-many: a character-level language model, trained with truncated backpropagation
//! through time on contiguous streams of a text, measured in bits per character against an
//! interpolated Kneser–Ney n-gram baseline, and continuing prompts with temperature and
//! top-k sampling.
//!
//! Artifacts in the output directory: `model.bpk` (the best epoch's weights), `config.json`
//! (the model's configuration), `vocab.json` (the characters), and the checkpoints under
//! `training/checkpoint/`.

pub mod corpus;
pub mod data;
pub mod model;
pub mod ngram;
pub mod streams;

mod evaluate;
mod export;
mod generator;
mod options;
mod tbptt;
mod torch_weights;
mod train;

pub use evaluate::{model_bits_per_char, ngram_bits_per_char};
pub use export::export_split;
pub use generator::CharGenerator;
pub use options::{CharLmOptions, QUICK_CHARS};
pub use tbptt::Tbptt;
pub use train::{CharLmReport, HeldOut, train};

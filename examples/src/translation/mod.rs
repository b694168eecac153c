//! Sequence to sequence: German to English translation with an attentional encoder–decoder,
//! trained with burn-train and teacher forcing, decoded greedily and with beam search, scored
//! with corpus BLEU ([`crate::bleu`]).
//!
//! Artifacts in the output directory: `model.bpk` (the best epoch's weights), `config.json`,
//! `source_vocab.json`, `target_vocab.json`, the BPE merges `source_bpe.json` and
//! `target_bpe.json` (`{"merges": null}` for whole words), and burn-train's logs and checkpoints under
//! `training/`.

pub mod data;
pub mod model;
pub mod segmenter;

mod corpus;
mod evaluate;
mod export;
mod options;
mod train;
mod translator;

pub use corpus::split_pairs;
pub use evaluate::{DecodeScore, Evaluation, evaluate, evaluate_saved};
pub use export::export_split;
pub use options::TranslationOptions;
pub use train::{TranslationReport, train};
pub use translator::{TRANSLATION_BATCH, Translation, Translator, greedy_steps};

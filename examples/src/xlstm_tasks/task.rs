//! The three tasks, their token vocabularies and the sequence lengths they train and test
//! on. Every example is token ids with targets at some positions (the last one, or each
//! query), so one model, a tagger trained only at those positions, serves them all.

use std::ops::RangeInclusive;

use rand::rngs::StdRng;

use super::mqar::Mqar;
use super::{modarith, parity};

/// A task of the xLSTM paper's experiments, in small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// A bit string → the parity of its number of ones (a regular language that needs state
    /// tracking; Delétang et al. 2023).
    Parity,
    /// Digits 0–4 joined by `+` and `−` → the value mod 5 (Delétang et al.'s modular
    /// arithmetic without brackets, with `+` and `−` only).
    ModArith,
    /// Multi-query associative recall (Arora et al. 2023): key-value pairs, then keys again;
    /// the value of each queried key.
    Mqar(Mqar),
}

/// One sequence and what the model must predict in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// Token ids.
    pub tokens: Vec<usize>,
    /// `(position, class)`: the class to predict at each position that has one.
    pub targets: Vec<(usize, usize)>,
}

/// The sequence lengths a task trains on, and the ranges of lengths it is tested on (the
/// first is the training range, or the training length).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LengthPlan {
    /// Training examples' lengths, drawn uniformly.
    pub train: RangeInclusive<usize>,
    /// Each test set's lengths, drawn uniformly.
    pub tests: Vec<RangeInclusive<usize>>,
}

impl Task {
    /// The task's `--task` name.
    pub fn name(self) -> &'static str {
        match self {
            Task::Parity => "parity",
            Task::ModArith => "modarith",
            Task::Mqar(_) => "mqar",
        }
    }

    /// Number of token ids.
    pub fn vocab_size(self) -> usize {
        match self {
            Task::Parity => 2,
            Task::ModArith => modarith::VOCAB,
            Task::Mqar(mqar) => mqar.vocab_size(),
        }
    }

    /// Number of classes a target is one of.
    pub fn classes(self) -> usize {
        match self {
            Task::Parity => 2,
            Task::ModArith => modarith::MODULUS,
            Task::Mqar(mqar) => mqar.values,
        }
    }

    /// Whether the model reads the previous token beside the current one. MQAR's models
    /// need it to write a value under the key before it in one step (xLSTM's blocks and the
    /// models of Arora et al. have a short causal convolution for this); the formal languages
    /// do without.
    pub fn reads_previous_token(self) -> bool {
        matches!(self, Task::Mqar(_))
    }

    /// Lengths: the formal languages train on 1–40 tokens and test on 1–40 and 41–256 (the
    /// paper's length generalisation); MQAR trains on `seq` tokens and tests on `seq` and on
    /// `4 * seq` (the same pairs, queries further away). `quick`: short sequences (1–8, tested
    /// on 1–8 and 9–16; MQAR on its minimal length and twice that).
    pub fn lengths(self, quick: bool) -> LengthPlan {
        match (self, quick) {
            (Task::Mqar(mqar), _) => {
                let seq = if quick { mqar.min_length() } else { mqar.seq };
                let factor = if quick { 2 } else { 4 };
                LengthPlan {
                    train: seq..=seq,
                    tests: vec![seq..=seq, factor * seq..=factor * seq],
                }
            }
            (_, false) => LengthPlan {
                train: 1..=40,
                tests: vec![1..=40, 41..=256],
            },
            (_, true) => LengthPlan {
                train: 1..=8,
                tests: vec![1..=8, 9..=16],
            },
        }
    }

    /// A random example of about `length` tokens (modular arithmetic rounds an even length
    /// down to the odd length of an expression, except 0 … 1 which stay 1).
    pub fn example(self, length: usize, rng: &mut StdRng) -> Example {
        match self {
            Task::Parity => parity::example(length, rng),
            Task::ModArith => modarith::example(length, rng),
            Task::Mqar(mqar) => mqar.example(length, rng),
        }
    }
}

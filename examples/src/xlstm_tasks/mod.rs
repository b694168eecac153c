//! The xLSTM paper's synthetic findings in small (Beck et al. 2024, §4.1 and Appendix):
//! formal languages that need state tracking (parity, modular arithmetic), trained on short
//! sequences and tested on longer ones, and multi-query associative recall, for LSTM, GRU,
//! sLSTM, mLSTM, minGRU and minLSTM side by side.
//!
//! Each cell is stacked into an [`Rnn`](rnn_tasks::rnn_core::Rnn) of the same size, read
//! through a [`SequenceTagger`](rnn_tasks::SequenceTagger) and trained with burn-train on
//! the same seeded stream of fresh examples; the epoch with the best validation accuracy (at
//! the training lengths) is tested on each range of lengths, and the results are printed as
//! a markdown table.

mod cells;
mod data;
mod evaluate;
mod modarith;
mod model;
mod mqar;
mod options;
mod parity;
mod table;
mod task;
mod train;

pub use cells::{CELLS, mixes_memory};
pub use data::{FreshDataset, TaskBatch, TaskBatcher, examples};
pub use evaluate::accuracy;
pub use model::TaskModel;
pub use mqar::Mqar;
pub use options::XlstmOptions;
pub use table::results_table;
pub use task::{Example, LengthPlan, Task};
pub use train::{CellResult, run};

/// Modular arithmetic's tokens and its reference evaluator.
pub mod arithmetic {
    pub use super::modarith::{MINUS, MODULUS, PLUS, VOCAB, evaluate};
}

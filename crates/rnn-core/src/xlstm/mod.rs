//! The xLSTM architecture (Beck et al. 2024) as the `xlstm` package builds it: mLSTM blocks
//! (pre up-projection) and sLSTM blocks (post up-projection) in a residual stack, with the
//! package's initialisation, and its checkpoints ([`XlstmStack::load_state_dict`]).
//!
//! The blocks run the cells' own equations ([`MlstmCell`](crate::MlstmCell)'s memory through
//! [`mlstm_chunkwise`](crate::cell::mlstm_chunkwise), [`SlstmCell`](crate::SlstmCell)'s gate
//! math); the tests check a stack against the package's on its own checkpoints.

#[cfg(feature = "pytorch")]
mod checkpoint;
mod mlstm_block;
mod parts;
mod slstm_block;
mod stack;

#[cfg(feature = "pytorch")]
pub use checkpoint::StackParam;
pub use mlstm_block::{MlstmBlock, MlstmBlockState};
pub use parts::{CausalConv, HeadNorm, Headwise, OffsetLayerNorm};
pub use slstm_block::{SlstmBlock, SlstmBlockState};
pub use stack::{XlstmBlock, XlstmBlockState, XlstmStack, XlstmStackConfig, XlstmStackState};

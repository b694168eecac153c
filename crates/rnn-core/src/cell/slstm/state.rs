//! The sLSTM's state.

use burn::tensor::Tensor;

use crate::state::cell_state_of_fields;

/// The state of an [`SlstmCell`](super::SlstmCell): four parts of rank `D` (`[batch,
/// hidden]` for one cell, `[num_layers * num_directions, batch, hidden]` for a network), in
/// the `xlstm` package's order.
#[derive(Debug, Clone)]
pub struct SlstmState<const D: usize> {
    /// The hidden state `h` (the package's `y`), the cell's output.
    pub hidden: Tensor<D>,
    /// The cell state `c`.
    pub cell: Tensor<D>,
    /// The normaliser `n`: `h = σ(o) ⊙ c / n`.
    pub normalizer: Tensor<D>,
    /// The stabiliser `m`, the log-scale the gates' exponentials are taken relative to.
    pub stabilizer: Tensor<D>,
}

cell_state_of_fields!(SlstmState, "sLSTM", [hidden, cell, normalizer, stabilizer]);

//! The mLSTM cell's state.

use burn::tensor::Tensor;

use crate::state::cell_state_of_fields;

/// The state of an [`MlstmCell`](super::MlstmCell) with `H` units in `heads` heads of `dh`
/// units: four parts of rank `D`, each `[batch, size]` for one cell (`[num_layers *
/// num_directions, batch, size]` for a network), the memory's flattened per example.
#[derive(Debug, Clone)]
pub struct MlstmState<const D: usize> {
    /// The hidden state `h`, the cell's output, `[.., H]`. The mLSTM does not read it back
    /// (no recurrence through `h`); it is the state's output like every cell's.
    pub hidden: Tensor<D>,
    /// The matrix memory `C`, `[.., heads * dh * dh]` (head, key unit, value unit).
    pub memory: Tensor<D>,
    /// The normaliser `n`, `[.., H]` (head, key unit).
    pub normalizer: Tensor<D>,
    /// The stabiliser `m`, `[.., heads]`.
    pub stabilizer: Tensor<D>,
}

cell_state_of_fields!(
    MlstmState,
    "mLSTM",
    [hidden, memory, normalizer, stabilizer]
);

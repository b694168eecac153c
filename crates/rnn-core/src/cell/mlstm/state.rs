//! The mLSTM cell's state.

use burn::tensor::Tensor;

use crate::state::check_named_parts;
use crate::{CellState, RnnError};

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

impl<const D: usize> CellState<D> for MlstmState<D> {
    fn into_parts(self) -> Vec<Tensor<D>> {
        vec![self.hidden, self.memory, self.normalizer, self.stabilizer]
    }

    fn from_parts(parts: Vec<Tensor<D>>) -> Self {
        let [hidden, memory, normalizer, stabilizer]: [Tensor<D>; 4] = parts
            .try_into()
            .unwrap_or_else(|p: Vec<_>| panic!("an mLSTM state has 4 parts, got {}", p.len()));
        Self {
            hidden,
            memory,
            normalizer,
            stabilizer,
        }
    }

    fn output(&self) -> Tensor<D> {
        self.hidden.clone()
    }

    /// Names the parts (`state.memory`).
    fn check(
        &self,
        expected: &[([usize; D], &str)],
        layout: &str,
        _cell: &str,
    ) -> Result<(), RnnError> {
        let parts = [
            ("hidden", &self.hidden),
            ("memory", &self.memory),
            ("normalizer", &self.normalizer),
            ("stabilizer", &self.stabilizer),
        ];
        check_named_parts(&parts, expected, layout)
    }
}

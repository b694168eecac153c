//! The sLSTM's state.

use burn::tensor::Tensor;

use crate::state::check_named_parts;
use crate::{CellState, RnnError};

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

impl<const D: usize> CellState<D> for SlstmState<D> {
    fn into_parts(self) -> Vec<Tensor<D>> {
        vec![self.hidden, self.cell, self.normalizer, self.stabilizer]
    }

    fn from_parts(parts: Vec<Tensor<D>>) -> Self {
        let [hidden, cell, normalizer, stabilizer]: [Tensor<D>; 4] = parts
            .try_into()
            .unwrap_or_else(|p: Vec<_>| panic!("an sLSTM state has 4 parts, got {}", p.len()));
        Self {
            hidden,
            cell,
            normalizer,
            stabilizer,
        }
    }

    fn output(&self) -> Tensor<D> {
        self.hidden.clone()
    }

    /// Names the parts (`state.normalizer`).
    fn check(
        &self,
        expected: &[([usize; D], &str)],
        layout: &str,
        _cell: &str,
    ) -> Result<(), RnnError> {
        let parts = [
            ("hidden", &self.hidden),
            ("cell", &self.cell),
            ("normalizer", &self.normalizer),
            ("stabilizer", &self.stabilizer),
        ];
        check_named_parts(&parts, expected, layout)
    }
}

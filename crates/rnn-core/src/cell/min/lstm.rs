//! The minLSTM's gates.

use burn::tensor::Tensor;
use burn::tensor::activation::{log_sigmoid, sigmoid};

use super::{MinGates, g};

/// The minLSTM (Feng et al. 2024, §3.2): gate rows `[h̃, f, i]` (`mingru-pytorch`'s order),
/// forget and input gates normalised to sum to one,
///
/// ```text
/// f' = σ(f) / (σ(f) + σ(i)),   i' = σ(i) / (σ(f) + σ(i))
/// h' = f' ⊙ h + i' ⊙ g(W_h x + b_h)
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MinLstmGates;

impl MinGates for MinLstmGates {
    const GATES: usize = 3;
    const NAME: &'static str = "minLSTM";

    fn coefficients<const D: usize>(
        gates: Tensor<D>,
        dim: usize,
        hidden: usize,
    ) -> (Tensor<D>, Tensor<D>) {
        let candidate = gates.clone().narrow(dim, 0, hidden);
        let f = gates.clone().narrow(dim, hidden, hidden);
        let i = gates.narrow(dim, 2 * hidden, hidden);
        // `f' = σ(log σ(f) - log σ(i))` and `i' = 1 - f'`: the ratio without dividing two
        // sigmoids that may both underflow.
        let diff = log_sigmoid(i) - log_sigmoid(f);
        (sigmoid(diff.clone().neg()), sigmoid(diff) * g(candidate))
    }
}

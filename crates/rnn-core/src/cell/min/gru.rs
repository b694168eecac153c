//! The minGRU's gates.

use burn::tensor::Tensor;
use burn::tensor::activation::sigmoid;

use super::{MinGates, g};

/// The minGRU (Feng et al. 2024, §3.1): gate rows `[h̃, z]` (`mingru-pytorch`'s order),
///
/// ```text
/// z  = σ(W_z x + b_z)
/// h' = (1 - z) ⊙ h + z ⊙ g(W_h x + b_h)
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MinGruGates;

impl MinGates for MinGruGates {
    const GATES: usize = 2;
    const NAME: &'static str = "minGRU";

    fn coefficients<const D: usize>(
        gates: Tensor<D>,
        dim: usize,
        hidden: usize,
    ) -> (Tensor<D>, Tensor<D>) {
        let candidate = gates.clone().narrow(dim, 0, hidden);
        let z = gates.narrow(dim, hidden, hidden);
        // `1 - σ(z)` as `σ(-z)`, exact where σ(z) rounds to 1.
        (sigmoid(z.clone().neg()), sigmoid(z) * g(candidate))
    }
}

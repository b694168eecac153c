//! The GRU cell, as `torch.nn.GRU`.

use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

pub(crate) mod kernel;

use super::{Cell, CellConfig};
use crate::fused::Kernel;
use crate::fused::gate_math::GateMath;
use crate::{FusedWeights, RnnState};
use kernel::GruMath;

/// GRU cell with PyTorch's gate order `r, z, n`, the reset gate applied after the hidden matmul:
///
/// ```text
/// [xr, xz, xn] = x W_ih + b_ih        [hr, hz, hn] = h W_hh + b_hh
/// r = σ(xr + hr)    z = σ(xz + hz)    n = tanh(xn + r ⊙ hn)
/// h' = (1 - z) ⊙ n + z ⊙ h
/// ```
///
/// Shapes: `x: [batch, input]`, `h: [batch, hidden]` (feature-major inside
/// [`Cell::step_projected`]). Three gates (`G = 3`).
#[derive(Module, Debug)]
pub struct GruCell {
    /// Fused parameters, `G = 3`, gates `r, z, n`.
    pub weights: FusedWeights,
}

impl Cell for GruCell {
    type State<const D: usize> = RnnState<D>;
    type Weights = FusedWeights;
    const GATES: usize = GruMath::GATES;
    const NAME: &'static str = "GRU";

    fn from_config(config: &CellConfig, device: &Device) -> Self {
        Self {
            weights: FusedWeights::for_config(config, Self::GATES, device),
        }
    }

    fn weights(&self) -> &FusedWeights {
        &self.weights
    }

    fn weights_mut(&mut self) -> &mut FusedWeights {
        &mut self.weights
    }

    fn kernel(&self) -> Option<Kernel> {
        Some(Kernel::new(&GruMath, &self.weights, None))
    }

    fn state_sizes(&self) -> Vec<(usize, &'static str)> {
        vec![(self.hidden_size(), "hidden")]
    }

    fn project_input(&self, x: Tensor<2>) -> Tensor<2> {
        // The r and z parts of `bias_hh` are additive and join the input projection; its n
        // part is scaled by r, so it is added at each step (as in the fused kernel).
        let rz_bias = self.weights.bias_hh.as_ref().map(|b| {
            let hidden = self.hidden_size();
            let additive = GruMath::ADDITIVE_HIDDEN_BIAS * hidden;
            let b = b.val();
            let zeros = Tensor::zeros([hidden * Self::GATES - additive], (&b.device(), b.dtype()));
            Tensor::cat(vec![b.narrow(0, 0, additive), zeros], 0)
        });
        self.weights.project_input(x, rz_bias)
    }

    fn step_projected(&self, projected: Tensor<2>, state: RnnState<2>) -> RnnState<2> {
        let hidden = self.hidden_size();
        let h = state.hidden;
        let gh = self.weights.project_hidden(h.clone());
        let [x_rz, x_n] = split_off_last(projected, hidden);
        let [h_rz, h_n] = split_off_last(gh, hidden);
        let h_n = match &self.weights.bias_hh {
            Some(b) => h_n + b.val().narrow(0, 2 * hidden, hidden).unsqueeze_dim(1),
            None => h_n,
        };
        let rz = sigmoid(x_rz + h_rz);
        let [r, z] = split_off_last(rz, hidden);
        let n = (x_n + r * h_n).tanh();
        // (1 - z) n + z h  ==  n + z (h - n)
        RnnState::new(n.clone() + z * (h - n))
    }
}

/// Splits feature-major `[width, batch]` into its first `width - hidden` rows and its last
/// `hidden`.
fn split_off_last(t: Tensor<2>, hidden: usize) -> [Tensor<2>; 2] {
    let width = t.dims()[0];
    [
        t.clone().narrow(0, 0, width - hidden),
        t.narrow(0, width - hidden, hidden),
    ]
}

//! The GRU's gate math in the fused CPU kernels (the same equations as [`super::GruCell`]'s
//! tensor step), forward and backward.

use crate::fused::gate_math::{BackwardStep, ForwardStep, GateMath, per_gate, per_gate_mut};
use crate::fused::math::{mul_add, sigmoid, tanh};

/// The GRU's gate math: gates `r, z, n`, state `h`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GruMath;

impl GateMath for GruMath {
    const GATES: usize = 3;
    const STATE_PARTS: usize = 1;
    /// The n gate's `b_hh` is scaled by r.
    const ADDITIVE_HIDDEN_BIAS: usize = 2;
    /// `W_hn h + b_hn`, which the gradients of r and of `W_hn` need.
    const SAVED: usize = 1;
    /// The n gate's hidden projection is scaled by r.
    const SEPARATE_HIDDEN_GRADIENT: bool = true;

    #[cfg(feature = "wgpu")]
    fn cube_math(self) -> Option<crate::fused::cube::CubeMath> {
        use crate::fused::cube::CubeMath;
        Some(CubeMath::Gru)
    }

    #[inline(always)]
    fn forward<const FMA: bool>(self, step: ForwardStep<'_>) {
        let (sigmoid, tanh) = (sigmoid::<FMA>, tanh::<FMA>);
        let [h_next] = step.next else {
            unreachable!("a GRU state has one part")
        };
        let n = h_next.len();
        let (h_next, h_prev) = (&mut h_next[..n], &step.prev[0][..n]);
        let [gr, gz, gn] = per_gate_mut(step.gates, n);
        let [hr, hz, hn_in] = per_gate(step.hidden, n);
        let [br, bz, bn] = per_gate(step.bias, n);
        let bias_hn = &step.hidden_bias[..n];
        let hn = &mut step.saved[..n];
        // Two loops: the n gate waits for r, and one loop doing both would be one long chain
        // of dependent operations per unit.
        for j in 0..n {
            gr[j] = sigmoid(gr[j] + hr[j] + br[j]);
            gz[j] = sigmoid(gz[j] + hz[j] + bz[j]);
        }
        for j in 0..n {
            let hidden_n = hn_in[j] + bias_hn[j];
            let new = tanh(mul_add::<FMA>(gr[j], hidden_n, gn[j] + bn[j]));
            (gn[j], hn[j]) = (new, hidden_n);
            h_next[j] = mul_add::<FMA>(gz[j], h_prev[j] - new, new);
        }
    }

    #[inline(always)]
    fn backward<const FMA: bool>(self, step: BackwardStep<'_>) {
        let [dh] = step.d_state else {
            unreachable!("a GRU state has one part")
        };
        let n = dh.len();
        let (dh, h_prev, hidden_n) = (&mut dh[..n], &step.prev[0][..n], &step.saved[..n]);
        let [r, z, new] = per_gate(step.gates, n);
        let [dr, dz, dn] = per_gate_mut(step.d_input, n);
        let d_hidden = step
            .d_hidden
            .expect("the GRU's hidden gradient is separate");
        let [hr, hz, hn] = per_gate_mut(d_hidden, n);
        for j in 0..n {
            let d_new = dh[j] * (1.0 - z[j]) * (1.0 - new[j] * new[j]);
            let d_z = dh[j] * (h_prev[j] - new[j]) * z[j] * (1.0 - z[j]);
            let d_r = d_new * hidden_n[j] * r[j] * (1.0 - r[j]);
            (dr[j], dz[j], dn[j]) = (d_r, d_z, d_new);
            (hr[j], hz[j], hn[j]) = (d_r, d_z, d_new * r[j]);
            dh[j] *= z[j];
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_code_path_computes_the_same() {
        crate::fused::gate_math::tests::every_path_computes_the_same(super::GruMath);
    }
}

/// The gate math in the CubeCL kernels (see `fused::cube::recurrence`), for one example and
/// unit.
#[cfg(feature = "wgpu")]
pub(crate) mod cube {
    use cubecl::prelude::*;

    use crate::fused::cube::recurrence::{sigmoid, tanh};

    /// [`GruMath`](crate::cell::gru::kernel::GruMath)'s `GateMath::forward` for one example and
    /// unit in the CubeCL kernels (see `fused::cube::recurrence`): `gates` `[r, z, n]`, `state`
    /// `[h]`; returns `W_hn h + b_hn`.
    #[cube]
    pub(crate) fn forward(
        gates: &mut Array<f32>,
        hidden: &Array<f32>,
        hidden_bias: f32,
        state: &mut Array<f32>,
    ) -> f32 {
        let r = sigmoid(gates[0] + hidden[0]);
        let z = sigmoid(gates[1] + hidden[1]);
        let hidden_n = hidden[2] + hidden_bias;
        let new = tanh(gates[2] + r * hidden_n);
        gates[0] = r;
        gates[1] = z;
        gates[2] = new;
        state[0] = z * (state[0] - new) + new;
        hidden_n
    }

    /// [`GruMath`](crate::cell::gru::kernel::GruMath)'s `GateMath::backward` for one example and
    /// unit in the CubeCL kernels; `saved` is [`forward`](fn@forward)'s `W_hn h + b_hn`.
    #[cube]
    pub(crate) fn backward(
        gates: &Array<f32>,
        prev: &Array<f32>,
        saved: f32,
        d_state: &mut Array<f32>,
        d_input: &mut Array<f32>,
        d_hidden: &mut Array<f32>,
    ) {
        let (r, z, new) = (gates[0], gates[1], gates[2]);
        let dh = d_state[0];
        let d_new = dh * (1.0 - z) * (1.0 - new * new);
        let d_z = dh * (prev[0] - new) * z * (1.0 - z);
        let d_r = d_new * saved * r * (1.0 - r);
        d_input[0] = d_r;
        d_input[1] = d_z;
        d_input[2] = d_new;
        d_hidden[0] = d_r;
        d_hidden[1] = d_z;
        d_hidden[2] = d_new * r;
        d_state[0] = dh * z;
    }
}

//! The LSTM's gate math in the fused CPU kernels (the same equations as [`super::LstmCell`]'s
//! tensor step), forward and backward.

use crate::fused::gate_math::{BackwardStep, ForwardStep, GateMath, per_gate, per_gate_mut};
use crate::fused::math::{mul_add, sigmoid, tanh};

/// The LSTM's gate math: gates `i, f, g, o`, state `(h, c)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LstmMath;

impl GateMath for LstmMath {
    const GATES: usize = 4;
    const STATE_PARTS: usize = 2;
    const ADDITIVE_HIDDEN_BIAS: usize = 4;
    const PROJECTABLE: bool = true;

    #[cfg(feature = "wgpu")]
    fn cube_math(self) -> Option<crate::fused::cube::CubeMath> {
        use crate::fused::cube::CubeMath;
        Some(CubeMath::Lstm)
    }

    #[inline(always)]
    fn forward<const FMA: bool>(self, step: ForwardStep<'_>) {
        let (sigmoid, tanh) = (sigmoid::<FMA>, tanh::<FMA>);
        let [h_next, c_next] = step.next else {
            unreachable!("an LSTM state has two parts")
        };
        let n = h_next.len();
        let (h_next, c_next, c_prev) = (&mut h_next[..n], &mut c_next[..n], &step.prev[1][..n]);
        let [gi, gf, gg, go] = per_gate_mut(step.gates, n);
        let [hi, hf, hg, ho] = per_gate(step.hidden, n);
        let [bi, bf, bg, bo] = per_gate(step.bias, n);
        // Two loops, as for GRU: `tanh(c)` waits for the gates.
        for j in 0..n {
            gi[j] = sigmoid(gi[j] + hi[j] + bi[j]);
            gf[j] = sigmoid(gf[j] + hf[j] + bf[j]);
            gg[j] = tanh(gg[j] + hg[j] + bg[j]);
            go[j] = sigmoid(go[j] + ho[j] + bo[j]);
        }
        for j in 0..n {
            let c = mul_add::<FMA>(gf[j], c_prev[j], gi[j] * gg[j]);
            c_next[j] = c;
            h_next[j] = go[j] * tanh(c);
        }
    }

    #[inline(always)]
    fn backward<const FMA: bool>(self, step: BackwardStep<'_>) {
        let tanh = tanh::<FMA>;
        let [dh, dc] = step.d_state else {
            unreachable!("an LSTM state has two parts")
        };
        let n = dh.len();
        let (dh, dc) = (&mut dh[..n], &mut dc[..n]);
        let (c_prev, c_next) = (&step.prev[1][..n], &step.next[1][..n]);
        let [i, f, g, o] = per_gate(step.gates, n);
        let [di, df, dg, d_o] = per_gate_mut(step.d_input, n);
        for j in 0..n {
            let tc = tanh(c_next[j]);
            let dc_total = dc[j] + dh[j] * o[j] * (1.0 - tc * tc);
            d_o[j] = dh[j] * tc * o[j] * (1.0 - o[j]);
            di[j] = dc_total * g[j] * i[j] * (1.0 - i[j]);
            dg[j] = dc_total * i[j] * (1.0 - g[j] * g[j]);
            df[j] = dc_total * c_prev[j] * f[j] * (1.0 - f[j]);
            dc[j] = dc_total * f[j];
            dh[j] = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_code_path_computes_the_same() {
        crate::fused::gate_math::tests::every_path_computes_the_same(super::LstmMath);
    }
}

/// The gate math in the CubeCL kernels (see `fused::cube::recurrence`), for one example and
/// unit.
#[cfg(feature = "wgpu")]
pub(crate) mod cube {
    use cubecl::prelude::*;

    use crate::fused::cube::recurrence::{sigmoid, tanh};

    /// [`LstmMath`](crate::cell::lstm::kernel::LstmMath)'s `GateMath::forward` for one example and
    /// unit in the CubeCL kernels (see `fused::cube::recurrence`): `gates` `[i, f, g, o]`, `state`
    /// `[h, c]`.
    #[cube]
    pub(crate) fn forward(
        gates: &mut Array<f32>,
        hidden: &Array<f32>,
        state: &mut Array<f32>,
    ) -> f32 {
        let i = sigmoid(gates[0] + hidden[0]);
        let f = sigmoid(gates[1] + hidden[1]);
        let g = tanh(gates[2] + hidden[2]);
        let o = sigmoid(gates[3] + hidden[3]);
        let c = f * state[1] + i * g;
        gates[0] = i;
        gates[1] = f;
        gates[2] = g;
        gates[3] = o;
        state[0] = o * tanh(c);
        state[1] = c;
        0.0
    }

    /// [`LstmMath`](crate::cell::lstm::kernel::LstmMath)'s `GateMath::backward` for one example and
    /// unit in the CubeCL kernels.
    #[cube]
    pub(crate) fn backward(
        gates: &Array<f32>,
        prev: &Array<f32>,
        next: &Array<f32>,
        d_state: &mut Array<f32>,
        d_input: &mut Array<f32>,
        d_hidden: &mut Array<f32>,
    ) {
        let (i, f, g, o) = (gates[0], gates[1], gates[2], gates[3]);
        let (dh, dc) = (d_state[0], d_state[1]);
        let tc = tanh(next[1]);
        let dc_total = dc + dh * o * (1.0 - tc * tc);
        d_input[0] = dc_total * g * i * (1.0 - i);
        d_input[1] = dc_total * prev[1] * f * (1.0 - f);
        d_input[2] = dc_total * i * (1.0 - g * g);
        d_input[3] = dh * tc * o * (1.0 - o);
        #[unroll]
        for k in 0..4 {
            d_hidden[k] = d_input[k];
        }
        d_state[0] = 0.0;
        d_state[1] = dc_total * f;
    }
}

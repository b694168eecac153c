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

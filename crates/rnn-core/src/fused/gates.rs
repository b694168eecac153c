//! The pointwise part of each cell for the fused kernel: one example at one step, over a run
//! of hidden units (every slice holds one value per unit, the units contiguous).
//!
//! The kernel driver ([`super::kernel`]) does the matmuls, skips the padded steps of each
//! example, and calls these; they are the only part that differs between LSTM, GRU and Elman.
//! `[&[f32]; 4]` holds the gates in PyTorch's order (LSTM `i f g o`, GRU `r z n`, Elman one).

use super::CellKernel;
#[cfg(target_arch = "x86_64")]
use super::math::has_avx2_fma;
use super::math::{mul_add, sigmoid, tanh};
use crate::Nonlinearity;

/// Forward views of one example at one step.
pub(super) struct Forward<'a> {
    /// Input projections of the gates (`W_ih x`, no bias); overwritten with the activations
    /// the backward pass needs (LSTM `i f g o`, GRU `r z n`; unused for Elman).
    pub gates: [&'a mut [f32]; 4],
    /// Hidden projections of the gates (`W_hh h`, no bias).
    pub hidden: [&'a [f32]; 4],
    /// Bias added to each gate's input projection.
    pub bias: [&'a [f32]; 4],
    /// GRU: the n-gate part of `bias_hh` (scaled by r; empty otherwise).
    pub bias_hn: &'a [f32],
    pub h_prev: &'a [f32],
    pub h_next: &'a mut [f32],
    /// LSTM cell states (empty otherwise).
    pub c_prev: &'a [f32],
    pub c_next: &'a mut [f32],
    /// GRU: saves `W_hn h + b_hn` for the backward pass (empty otherwise).
    pub hn: &'a mut [f32],
}

/// Backward views of one example at one (valid) step.
pub(super) struct Backward<'a> {
    /// The activations saved by the forward pass.
    pub gates: [&'a [f32]; 4],
    /// Gradient of the loss with respect to the gates' input projections (pre-activation).
    pub d_input: [&'a mut [f32]; 4],
    /// GRU: gradient with respect to the gates' hidden projections (the n gate differs from
    /// `d_input` by the factor r); empty for LSTM and Elman, whose two are equal.
    pub d_hidden: [&'a mut [f32]; 4],
    /// In: gradient with respect to the state after the step. Out: the part of the gradient
    /// with respect to the state before the step that does not go through `W_hh`.
    pub dh: &'a mut [f32],
    /// LSTM: in, gradient with respect to the cell state after the step; out, before it.
    pub dc: &'a mut [f32],
    pub h_prev: &'a [f32],
    pub h_next: &'a [f32],
    pub c_prev: &'a [f32],
    pub c_next: &'a [f32],
    pub hn: &'a [f32],
}

impl CellKernel {
    /// Number of fused gates.
    pub(super) fn gates(self) -> usize {
        match self {
            CellKernel::Lstm => 4,
            CellKernel::Gru => 3,
            CellKernel::Elman(_) => 1,
        }
    }

    /// Runs the gate math of one example at one step.
    pub(super) fn forward(self, u: Forward<'_>) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2(cell: CellKernel, u: Forward<'_>) {
                cell.forward_impl::<true>(u)
            }
            // SAFETY: the CPU has the features.
            return unsafe { avx2(self, u) };
        }
        self.forward_impl::<false>(u)
    }

    /// Backpropagates one example through one step.
    pub(super) fn backward(self, u: Backward<'_>) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2(cell: CellKernel, u: Backward<'_>) {
                cell.backward_impl::<true>(u)
            }
            // SAFETY: the CPU has the features.
            return unsafe { avx2(self, u) };
        }
        self.backward_impl::<false>(u)
    }

    /// `FMA`: compiled for a CPU with fused multiply-add (see [`super::math`]).
    #[inline(always)]
    fn forward_impl<const FMA: bool>(self, u: Forward<'_>) {
        let (sigmoid, tanh) = (sigmoid::<FMA>, tanh::<FMA>);
        let n = u.h_prev.len();
        let h_prev = u.h_prev;
        let h_next = &mut u.h_next[..n];
        match self {
            CellKernel::Lstm => {
                let [gi, gf, gg, go] = u.gates;
                let (gi, gf, gg, go) = (&mut gi[..n], &mut gf[..n], &mut gg[..n], &mut go[..n]);
                let [hi, hf, hg, ho] = u.hidden;
                let (hi, hf, hg, ho) = (&hi[..n], &hf[..n], &hg[..n], &ho[..n]);
                let [bi, bf, bg, bo] = u.bias;
                let (bi, bf, bg, bo) = (&bi[..n], &bf[..n], &bg[..n], &bo[..n]);
                let c_prev = &u.c_prev[..n];
                let c_next = &mut u.c_next[..n];
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
            CellKernel::Gru => {
                let [gr, gz, gn, _] = u.gates;
                let (gr, gz, gn) = (&mut gr[..n], &mut gz[..n], &mut gn[..n]);
                let [hr, hz, hn_in, _] = u.hidden;
                let (hr, hz, hn_in) = (&hr[..n], &hz[..n], &hn_in[..n]);
                let [br, bz, bn, _] = u.bias;
                let (br, bz, bn) = (&br[..n], &bz[..n], &bn[..n]);
                let bias_hn = &u.bias_hn[..n];
                let hn = &mut u.hn[..n];
                // Two loops: the n gate waits for r, and one loop doing both would be one
                // long chain of dependent operations per unit.
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
            CellKernel::Elman(nonlinearity) => {
                let g = &u.gates[0][..n];
                let hh = &u.hidden[0][..n];
                let bias = &u.bias[0][..n];
                for j in 0..n {
                    let pre = g[j] + hh[j] + bias[j];
                    h_next[j] = match nonlinearity {
                        Nonlinearity::Tanh => tanh(pre),
                        // Not `pre.max(0.0)`, which turns NaN into 0: PyTorch's relu keeps it.
                        Nonlinearity::Relu => {
                            if pre < 0.0 {
                                0.0
                            } else {
                                pre
                            }
                        }
                    };
                }
            }
        }
    }

    #[inline(always)]
    fn backward_impl<const FMA: bool>(self, u: Backward<'_>) {
        let tanh = tanh::<FMA>;
        let n = u.dh.len();
        let dh = u.dh;
        match self {
            CellKernel::Lstm => {
                let [i, f, g, o] = u.gates;
                let (i, f, g, o) = (&i[..n], &f[..n], &g[..n], &o[..n]);
                let [di, df, dg, d_o] = u.d_input;
                let (di, df, dg, d_o) = (&mut di[..n], &mut df[..n], &mut dg[..n], &mut d_o[..n]);
                let dc = &mut u.dc[..n];
                let (c_prev, c_next) = (&u.c_prev[..n], &u.c_next[..n]);
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
            CellKernel::Gru => {
                let [r, z, new, _] = u.gates;
                let (r, z, new) = (&r[..n], &z[..n], &new[..n]);
                let [dr, dz, dn, _] = u.d_input;
                let (dr, dz, dn) = (&mut dr[..n], &mut dz[..n], &mut dn[..n]);
                let [hr, hz, hn, _] = u.d_hidden;
                let (hr, hz, hn) = (&mut hr[..n], &mut hz[..n], &mut hn[..n]);
                let hidden_n = &u.hn[..n];
                let h_prev = &u.h_prev[..n];
                for j in 0..n {
                    let d_new = dh[j] * (1.0 - z[j]) * (1.0 - new[j] * new[j]);
                    let d_z = dh[j] * (h_prev[j] - new[j]) * z[j] * (1.0 - z[j]);
                    let d_r = d_new * hidden_n[j] * r[j] * (1.0 - r[j]);
                    (dr[j], dz[j], dn[j]) = (d_r, d_z, d_new);
                    (hr[j], hz[j], hn[j]) = (d_r, d_z, d_new * r[j]);
                    dh[j] *= z[j];
                }
            }
            CellKernel::Elman(nonlinearity) => {
                let d = &mut u.d_input[0][..n];
                let h = &u.h_next[..n];
                for j in 0..n {
                    let slope = match nonlinearity {
                        Nonlinearity::Tanh => 1.0 - h[j] * h[j],
                        Nonlinearity::Relu => (h[j] > 0.0) as u8 as f32,
                    };
                    d[j] = dh[j] * slope;
                    dh[j] = 0.0;
                }
            }
        }
    }
}

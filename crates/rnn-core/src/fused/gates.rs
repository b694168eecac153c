//! The pointwise part of each cell for the fused kernel: one hidden unit at one step, over the
//! examples of the batch (every slice is one row of `batch` columns).
//!
//! The kernel driver ([`super::kernel`]) does the matmuls and calls these; they are the only
//! part that differs between LSTM, GRU and Elman. Gate rows are in PyTorch's order.

use super::CellKernel;
use super::math::{sigmoid, tanh};
use crate::Nonlinearity;

/// Forward views of one unit at one step.
pub(super) struct Forward<'a> {
    /// Input projections of the gates (`W_ih x`, no bias); overwritten with the activations
    /// the backward pass needs (LSTM `i f g o`, GRU `r z n`; unused for Elman).
    pub gates: [&'a mut [f32]; 4],
    /// Hidden projections of the gates (`W_hh h`, no bias).
    pub hidden: [&'a [f32]; 4],
    /// Bias added to each gate's input projection.
    pub bias: [f32; 4],
    /// GRU: the n-gate part of `bias_hh` (scaled by r).
    pub bias_hn: f32,
    /// 1 where the step is valid for the example, 0 in its padding (the state is carried).
    pub keep: &'a [f32],
    pub h_prev: &'a [f32],
    pub h_next: &'a mut [f32],
    /// LSTM cell states (empty otherwise).
    pub c_prev: &'a [f32],
    pub c_next: &'a mut [f32],
    /// GRU: saves `W_hn h + b_hn` for the backward pass (empty otherwise).
    pub hn: &'a mut [f32],
}

/// Backward views of one unit at one step.
pub(super) struct Backward<'a> {
    /// The activations saved by the forward pass.
    pub gates: [&'a [f32]; 4],
    /// Gradient of the loss with respect to the gates' input projections (pre-activation).
    pub d_input: [&'a mut [f32]; 4],
    /// GRU: gradient with respect to the gates' hidden projections (the n gate differs from
    /// `d_input` by the factor r); empty for LSTM and Elman, whose two are equal.
    pub d_hidden: [&'a mut [f32]; 4],
    pub keep: &'a [f32],
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

    /// Runs the gate math of one unit at one step.
    pub(super) fn forward(self, u: Forward<'_>) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2(cell: CellKernel, u: Forward<'_>) {
                cell.forward_impl(u)
            }
            // SAFETY: the CPU has the features.
            return unsafe { avx2(self, u) };
        }
        self.forward_impl(u)
    }

    /// Backpropagates one unit through one step.
    pub(super) fn backward(self, u: Backward<'_>) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2(cell: CellKernel, u: Backward<'_>) {
                cell.backward_impl(u)
            }
            // SAFETY: the CPU has the features.
            return unsafe { avx2(self, u) };
        }
        self.backward_impl(u)
    }

    #[inline(always)]
    fn forward_impl(self, u: Forward<'_>) {
        let n = u.keep.len();
        let keep = u.keep;
        let h_prev = &u.h_prev[..n];
        let h_next = &mut u.h_next[..n];
        match self {
            CellKernel::Lstm => {
                let [gi, gf, gg, go] = u.gates;
                let (gi, gf, gg, go) = (&mut gi[..n], &mut gf[..n], &mut gg[..n], &mut go[..n]);
                let [hi, hf, hg, ho] = u.hidden;
                let (hi, hf, hg, ho) = (&hi[..n], &hf[..n], &hg[..n], &ho[..n]);
                let [bi, bf, bg, bo] = u.bias;
                let c_prev = &u.c_prev[..n];
                let c_next = &mut u.c_next[..n];
                for b in 0..n {
                    let i = sigmoid(gi[b] + hi[b] + bi);
                    let f = sigmoid(gf[b] + hf[b] + bf);
                    let g = tanh(gg[b] + hg[b] + bg);
                    let o = sigmoid(go[b] + ho[b] + bo);
                    let c = f * c_prev[b] + i * g;
                    let h = o * tanh(c);
                    (gi[b], gf[b], gg[b], go[b]) = (i, f, g, o);
                    let valid = keep[b] != 0.0;
                    c_next[b] = if valid { c } else { c_prev[b] };
                    h_next[b] = if valid { h } else { h_prev[b] };
                }
            }
            CellKernel::Gru => {
                let [gr, gz, gn, _] = u.gates;
                let (gr, gz, gn) = (&mut gr[..n], &mut gz[..n], &mut gn[..n]);
                let [hr, hz, hn_in, _] = u.hidden;
                let (hr, hz, hn_in) = (&hr[..n], &hz[..n], &hn_in[..n]);
                let [br, bz, bn, _] = u.bias;
                let bias_hn = u.bias_hn;
                let hn = &mut u.hn[..n];
                for b in 0..n {
                    let r = sigmoid(gr[b] + hr[b] + br);
                    let z = sigmoid(gz[b] + hz[b] + bz);
                    let hidden_n = hn_in[b] + bias_hn;
                    let new = tanh(gn[b] + bn + r * hidden_n);
                    let h = new + z * (h_prev[b] - new);
                    (gr[b], gz[b], gn[b], hn[b]) = (r, z, new, hidden_n);
                    h_next[b] = if keep[b] != 0.0 { h } else { h_prev[b] };
                }
            }
            CellKernel::Elman(nonlinearity) => {
                let g = &u.gates[0][..n];
                let hh = &u.hidden[0][..n];
                let bias = u.bias[0];
                for b in 0..n {
                    let pre = g[b] + hh[b] + bias;
                    let h = match nonlinearity {
                        Nonlinearity::Tanh => tanh(pre),
                        Nonlinearity::Relu => pre.max(0.0),
                    };
                    h_next[b] = if keep[b] != 0.0 { h } else { h_prev[b] };
                }
            }
        }
    }

    #[inline(always)]
    fn backward_impl(self, u: Backward<'_>) {
        let n = u.keep.len();
        let keep = u.keep;
        let dh = &mut u.dh[..n];
        match self {
            CellKernel::Lstm => {
                let [i, f, g, o] = u.gates;
                let (i, f, g, o) = (&i[..n], &f[..n], &g[..n], &o[..n]);
                let [di, df, dg, d_o] = u.d_input;
                let (di, df, dg, d_o) = (&mut di[..n], &mut df[..n], &mut dg[..n], &mut d_o[..n]);
                let dc = &mut u.dc[..n];
                let (c_prev, c_next) = (&u.c_prev[..n], &u.c_next[..n]);
                for b in 0..n {
                    let valid = keep[b] != 0.0;
                    let tc = tanh(c_next[b]);
                    let dc_total = dc[b] + dh[b] * o[b] * (1.0 - tc * tc);
                    let zero_if_padded = |v: f32| if valid { v } else { 0.0 };
                    d_o[b] = zero_if_padded(dh[b] * tc * o[b] * (1.0 - o[b]));
                    di[b] = zero_if_padded(dc_total * g[b] * i[b] * (1.0 - i[b]));
                    dg[b] = zero_if_padded(dc_total * i[b] * (1.0 - g[b] * g[b]));
                    df[b] = zero_if_padded(dc_total * c_prev[b] * f[b] * (1.0 - f[b]));
                    dc[b] = if valid { dc_total * f[b] } else { dc[b] };
                    dh[b] = if valid { 0.0 } else { dh[b] };
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
                for b in 0..n {
                    let valid = keep[b] != 0.0;
                    let zero_if_padded = |v: f32| if valid { v } else { 0.0 };
                    let d_new = dh[b] * (1.0 - z[b]) * (1.0 - new[b] * new[b]);
                    let d_z = dh[b] * (h_prev[b] - new[b]) * z[b] * (1.0 - z[b]);
                    let d_r = d_new * hidden_n[b] * r[b] * (1.0 - r[b]);
                    dr[b] = zero_if_padded(d_r);
                    dz[b] = zero_if_padded(d_z);
                    dn[b] = zero_if_padded(d_new);
                    hr[b] = dr[b];
                    hz[b] = dz[b];
                    hn[b] = zero_if_padded(d_new * r[b]);
                    dh[b] = if valid { dh[b] * z[b] } else { dh[b] };
                }
            }
            CellKernel::Elman(nonlinearity) => {
                let d = &mut u.d_input[0][..n];
                let h = &u.h_next[..n];
                for b in 0..n {
                    let slope = match nonlinearity {
                        Nonlinearity::Tanh => 1.0 - h[b] * h[b],
                        Nonlinearity::Relu => (h[b] > 0.0) as u8 as f32,
                    };
                    let valid = keep[b] != 0.0;
                    d[b] = if valid { dh[b] * slope } else { 0.0 };
                    dh[b] = if valid { 0.0 } else { dh[b] };
                }
            }
        }
    }
}

/// Whether the gate math can run 8 examples per instruction (AVX2 with FMA).
#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

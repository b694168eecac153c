//! The sLSTM in the fused CPU kernels: its gate math (the same equations as
//! [`super::SlstmCell`]'s tensor step), forward and backward, and the weights in the kernels'
//! layout.

use burn::module::Param;
use burn::tensor::Tensor;

use super::{ForgetGate, SlstmWeights};
use crate::fused::Kernel;
use crate::fused::gate_math::{BackwardStep, ForwardStep, GateMath, per_gate, per_gate_mut};
use crate::fused::math::{exp, log_sigmoid, mul_add, sigmoid, tanh};

/// The sLSTM's gate math: gates `i, f, z, o`, state `(h, c, n, m)`.
///
/// After the forward pass the gates hold `exp(ĩ - m')`, `exp(log f + m - m')` (before their
/// clamp to 1: the gate is `min(e, 1)`, and its gradient passes where `e <= 1`, as through
/// Burn's `clamp_max`), `tanh(z̃)` and `σ(õ)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlstmMath {
    /// The forget gate's activation.
    pub forget_gate: ForgetGate,
}

impl GateMath for SlstmMath {
    const GATES: usize = 4;
    const STATE_PARTS: usize = 4;
    /// The sLSTM's one bias is on the input side: the kernel's `b_hh` is zero.
    const ADDITIVE_HIDDEN_BIAS: usize = 4;
    /// Per unit: the forget gate's pre-activation `f̃` (for the derivative of `log σ(f̃)`), and
    /// which side `m' = max(log f + m, ĩ)` took (1 for `log f + m`, 0 for `ĩ`), whose gradient
    /// goes that way only (Burn's `max_pair` and `mask_where`).
    const SAVED: usize = 2;

    #[inline(always)]
    fn forward<const FMA: bool>(self, step: ForwardStep<'_>) {
        match self.forget_gate {
            ForgetGate::Sigmoid => forward::<FMA, true>(step),
            ForgetGate::Exponential => forward::<FMA, false>(step),
        }
    }

    #[inline(always)]
    fn backward<const FMA: bool>(self, step: BackwardStep<'_>) {
        match self.forget_gate {
            ForgetGate::Sigmoid => backward::<FMA, true>(step),
            ForgetGate::Exponential => backward::<FMA, false>(step),
        }
    }
}

/// `min(e, 1)` as Burn's `clamp_max` computes it (a NaN stays NaN).
#[inline(always)]
fn clamp_to_one(e: f32) -> f32 {
    if e > 1.0 { 1.0 } else { e }
}

/// The forward gate math; `SIGMOID`: `log f = log σ(f̃)`, else `f̃`.
#[inline(always)]
fn forward<const FMA: bool, const SIGMOID: bool>(step: ForwardStep<'_>) {
    let (exp, sigmoid, tanh) = (exp::<FMA>, sigmoid::<FMA>, tanh::<FMA>);
    let [h_next, c_next, n_next, m_next] = step.next else {
        unreachable!("an sLSTM state has four parts")
    };
    let units = h_next.len();
    let (h_next, c_next) = (&mut h_next[..units], &mut c_next[..units]);
    let (n_next, m_next) = (&mut n_next[..units], &mut m_next[..units]);
    let [_, c_prev, n_prev, m_prev] = step.prev else {
        unreachable!("an sLSTM state has four parts")
    };
    let (c_prev, n_prev, m_prev) = (&c_prev[..units], &n_prev[..units], &m_prev[..units]);
    let [gi, gf, gz, go] = per_gate_mut(step.gates, units);
    let [hi, hf, hz, ho] = per_gate(step.hidden, units);
    let [bi, bf, bz, bo] = per_gate(step.bias, units);
    let [f_pre, took_f] = per_gate_mut(step.saved, units);
    for j in 0..units {
        let i = gi[j] + hi[j] + bi[j];
        let f = gf[j] + hf[j] + bf[j];
        let log_f_m = if SIGMOID { log_sigmoid::<FMA>(f) } else { f } + m_prev[j];
        // The larger, `ĩ` on a tie (as `max_pair`: `log f + m` only where `ĩ` is lower), but
        // `ĩ` at a zero state's first step (per element).
        let take_f = n_prev[j] != 0.0 && i < log_f_m;
        let m = if take_f { log_f_m } else { i };
        let (ei, ef) = (exp(i - m), exp(log_f_m - m));
        let (i_gate, f_gate) = (clamp_to_one(ei), clamp_to_one(ef));
        let z = tanh(gz[j] + hz[j] + bz[j]);
        let o = sigmoid(go[j] + ho[j] + bo[j]);
        let c = mul_add::<FMA>(f_gate, c_prev[j], i_gate * z);
        let n = mul_add::<FMA>(f_gate, n_prev[j], i_gate);
        (h_next[j], c_next[j], n_next[j], m_next[j]) = (o * c / n, c, n, m);
        (gi[j], gf[j], gz[j], go[j]) = (ei, ef, z, o);
        (f_pre[j], took_f[j]) = (f, if take_f { 1.0 } else { 0.0 });
    }
}

/// The backward gate math, as Burn's autodiff of the tensor step; `SIGMOID` as in
/// [`forward`].
#[inline(always)]
fn backward<const FMA: bool, const SIGMOID: bool>(step: BackwardStep<'_>) {
    let sigmoid = sigmoid::<FMA>;
    let [dh, dc, dn, dm] = step.d_state else {
        unreachable!("an sLSTM state has four parts")
    };
    let units = dh.len();
    let (dh, dc, dn, dm) = (
        &mut dh[..units],
        &mut dc[..units],
        &mut dn[..units],
        &mut dm[..units],
    );
    let [_, c_prev, n_prev, _] = step.prev else {
        unreachable!("an sLSTM state has four parts")
    };
    let [h_next, c_next, n_next, _] = step.next else {
        unreachable!("an sLSTM state has four parts")
    };
    let (c_prev, n_prev) = (&c_prev[..units], &n_prev[..units]);
    let (h_next, c_next, n_next) = (&h_next[..units], &c_next[..units], &n_next[..units]);
    let [ei, ef, z, o] = per_gate(step.gates, units);
    let [f_pre, took_f] = per_gate(step.saved, units);
    let [di, df, dz, d_o] = per_gate_mut(step.d_input, units);
    for j in 0..units {
        let (i_gate, f_gate) = (clamp_to_one(ei[j]), clamp_to_one(ef[j]));
        // h' = (σ(õ) c') / n'
        let dh_n = dh[j] / n_next[j];
        let dc_total = mul_add::<FMA>(dh_n, o[j], dc[j]);
        let dn_total = dn[j] - dh_n * h_next[j];
        d_o[j] = dh_n * c_next[j] * o[j] * (1.0 - o[j]);
        dz[j] = dc_total * i_gate * (1.0 - z[j] * z[j]);
        let d_i_gate = mul_add::<FMA>(dc_total, z[j], dn_total);
        let d_f_gate = mul_add::<FMA>(dc_total, c_prev[j], dn_total * n_prev[j]);
        // Through the clamps (none where it clamped) and the exponentials: the gradients of
        // `ĩ - m'` and of `log f + m - m'`.
        let d_i_m = if ei[j] > 1.0 { 0.0 } else { d_i_gate * ei[j] };
        let d_f_m = if ef[j] > 1.0 { 0.0 } else { d_f_gate * ef[j] };
        let d_m = dm[j] - d_i_m - d_f_m;
        let (d_i, d_log_f_m) = if took_f[j] != 0.0 {
            (d_i_m, d_f_m + d_m)
        } else {
            (d_i_m + d_m, d_f_m)
        };
        di[j] = d_i;
        // d log σ(f̃) / df̃ = 1 - σ(f̃) = σ(-f̃).
        df[j] = if SIGMOID {
            d_log_f_m * sigmoid(-f_pre[j])
        } else {
            d_log_f_m
        };
        // `h` reaches the step only through `W_hh`, whose part the kernel adds.
        (dh[j], dc[j], dn[j], dm[j]) = (0.0, dc_total * f_gate, dn_total * f_gate, d_log_f_m);
    }
}

/// The sLSTM's fused kernel (either forget gate): its gate math, and its weights in the
/// kernels' layout, the recurrent blocks as one dense matrix ([`dense_recurrent`]) and no bias
/// on the hidden side.
pub(super) fn kernel(weights: &SlstmWeights, forget_gate: ForgetGate) -> Kernel {
    // `'static` math for either forget gate: the kernel is chosen per call.
    static SIGMOID: SlstmMath = SlstmMath {
        forget_gate: ForgetGate::Sigmoid,
    };
    static EXPONENTIAL: SlstmMath = SlstmMath {
        forget_gate: ForgetGate::Exponential,
    };
    let math = match forget_gate {
        ForgetGate::Sigmoid => &SIGMOID,
        ForgetGate::Exponential => &EXPONENTIAL,
    };
    let (weight_hh, weight_hh_kept) = dense_recurrent(weights.weight_hh.val());
    Kernel {
        math,
        weight_ih: weights.weight_ih.val(),
        weight_hh,
        bias_ih: weights.bias.as_ref().map(Param::val),
        bias_hh: None,
        weight_hr: None,
        weight_hh_kept,
    }
}

/// The block-diagonal recurrent matrix `[4 * H, H]` (rows gate-major, as the input's) of the
/// heads' blocks `[heads, 4 * dh, dh]`, made with differentiable tensor operations: autodiff
/// takes the kernel's dense gradient back to the blocks (dropping the zeros'). Also whether
/// it holds the blocks' own values (one head: reshaped), not a matrix made for this call.
fn dense_recurrent(blocks: Tensor<3>) -> (Tensor<2>, bool) {
    let [heads, rows, dh] = blocks.dims();
    let (gates, hidden) = (rows / dh, heads * dh);
    if heads == 1 {
        return (blocks.reshape([rows, dh]), true);
    }
    // `[head k, gate, unit, head k', unit']`: head k's weights where k' = k, else zero.
    let eye = Tensor::<2>::eye(heads, &blocks.device())
        .cast(blocks.dtype())
        .reshape([heads, 1, 1, heads, 1]);
    let dense = (blocks.reshape([heads, gates, dh, 1, dh]) * eye)
        .swap_dims(0, 1)
        .reshape([gates * hidden, hidden]);
    (dense, false)
}

#[cfg(test)]
mod tests {
    use super::{ForgetGate, SlstmMath};

    #[test]
    fn every_code_path_computes_the_same() {
        for forget_gate in [ForgetGate::Sigmoid, ForgetGate::Exponential] {
            crate::fused::gate_math::tests::every_path_computes_the_same(SlstmMath { forget_gate });
        }
    }
}

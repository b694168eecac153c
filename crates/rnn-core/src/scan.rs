//! The parallel scan of a diagonal linear recurrence `h_t = a_t ⊙ h_{t-1} + b_t`: all steps at
//! once in `⌈log₂ seq⌉` rounds of elementwise operations (Hillis and Steele's scan), for cells
//! whose coefficients depend on the input only (minGRU, minLSTM).

use burn::tensor::Tensor;

/// Every `h_t` of `h_t = a_t ⊙ h_{t-1} + b_t` from `h0`, time-major: `a, b: [seq, H, batch]`,
/// `h0: [H, batch]` → `[seq, H, batch]`.
///
/// Each round composes every step with the one `shift` steps before it, `(a, b)` after
/// `(a', b')` being `(a a', a b' + b)`, doubling `shift`. It runs in linear space: the
/// coefficients `a` of the minimal RNNs lie in `(0, 1)`, so their products only shrink
/// (underflowing to a harmless 0), and no step divides by a cumulative product — unlike the
/// cumulative-sum form of Heinsen's scan, which must work in log space and so needs positive
/// `b` and `h0`. Any sign of `b` and `h0` works here; a NaN reaches the steps after it, as
/// step by step.
pub(crate) fn linear_recurrence(a: Tensor<3>, b: Tensor<3>, h0: Tensor<2>) -> Tensor<3> {
    let [seq, _, _] = a.dims();
    // The initial state enters as the first step's `a_0 h0 + b_0`.
    let first = a.clone().narrow(0, 0, 1) * h0.unsqueeze_dim(0) + b.clone().narrow(0, 0, 1);
    let mut b = if seq > 1 {
        Tensor::cat(vec![first, b.narrow(0, 1, seq - 1)], 0)
    } else {
        first
    };
    let mut a = a;
    let mut shift = 1;
    while shift < seq {
        let rest = seq - shift;
        let (early_a, late_a) = (
            a.clone().narrow(0, 0, rest),
            a.clone().narrow(0, shift, rest),
        );
        let late_b =
            late_a.clone() * b.clone().narrow(0, 0, rest) + b.clone().narrow(0, shift, rest);
        b = Tensor::cat(vec![b.narrow(0, 0, shift), late_b], 0);
        shift *= 2;
        if shift < seq {
            a = Tensor::cat(vec![a.narrow(0, 0, shift / 2), late_a * early_a], 0);
        }
    }
    b
}

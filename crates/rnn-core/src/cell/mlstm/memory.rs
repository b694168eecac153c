//! The mLSTM's matrix memory over a chunk of steps at once: the one home of its equations,
//! which the recurrent step (a chunk of one), the chunkwise form (chunk after chunk) and the
//! parallel form (one chunk) all run.

use burn::tensor::{Bool, Tensor, TensorCreationOptions};

/// Added to the denominator of the output, as the `xlstm` package does.
const EPS: f64 = 1e-6;

/// A log-gate that no step can reach (`exp` of it is 0): the input gate of a padded step and
/// the decay from a later step, finite so that no backend meets `-∞ - (-∞)`.
pub(crate) const NEVER: f64 = -1e30;

/// The mLSTM's memory for `batch` examples of `heads` heads of `dh` units, as
/// [`mlstm_chunkwise`] reads and writes it.
#[derive(Debug, Clone)]
pub struct MlstmMemory {
    /// The matrix memory `C`, `[batch, heads, dh (keys), dh (values)]`.
    pub memory: Tensor<4>,
    /// The normaliser `n`, `[batch, heads, dh, 1]`.
    pub normalizer: Tensor<4>,
    /// The stabiliser `m` (the log scale of `C` and `n`), `[batch, heads, 1, 1]`.
    pub stabilizer: Tensor<4>,
}

impl MlstmMemory {
    /// The empty memory (all zero, `m = 0` as the package starts), made as `options` say (a
    /// device, or a device and a dtype).
    pub fn zeros(
        batch: usize,
        heads: usize,
        dh: usize,
        options: impl Into<TensorCreationOptions>,
    ) -> Self {
        let options = options.into();
        Self {
            memory: Tensor::zeros([batch, heads, dh, dh], options.clone()),
            normalizer: Tensor::zeros([batch, heads, dh, 1], options.clone()),
            stabilizer: Tensor::zeros([batch, heads, 1, 1], options),
        }
    }
}

/// Runs the mLSTM over a chunk of `L` steps from `state`: `q, k, v: [batch, heads, L, dh]`,
/// the input gates' pre-activations `i` and the forget gates' logs `log_f` (`log σ(f̃)`, or
/// `f̃` for an exponential forget gate) `[batch, heads, L, 1]`. Returns the outputs
/// `h̃: [batch, heads, L, dh]` (before any output gate) and the state after the chunk.
///
/// Step by step (`xlstm`'s `recurrent_step_stabilized_simple`), with `k̂ = k / √dh`:
///
/// ```text
/// m_t = max(log f_t + m_{t-1}, ĩ_t),  f' = exp(log f_t + m_{t-1} - m_t),  i' = exp(ĩ_t - m_t)
/// C_t = f' C_{t-1} + i' k̂_t v_tᵀ,     n_t = f' n_{t-1} + i' k̂_t
/// h̃_t = C_tᵀ q_t / (max(|n_t · q_t|, exp(-m_t)) + ε)
/// ```
///
/// Over a chunk all at once: with `A_t` the sum of `log f` over the chunk's steps up to `t`,
/// `m_t = max(A_t + m_prev, max_{j ≤ t} (A_t - A_j + ĩ_j))` (the step-by-step maximum
/// unrolled), and every `h̃_t` is the carried state decayed by `exp(A_t + m_prev - m_t)` plus
/// the chunk's own steps weighted by `exp(A_t - A_j + ĩ_j - m_t)`: exactly the steps'
/// values. A padded step (`ĩ = NEVER`, `log f = 0`) leaves the state as it is.
///
/// `later: [L, L]` is true where `j > t` (made once per sequence by [`mlstm_chunkwise`]).
fn chunk(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    i: Tensor<4>,
    log_f: Tensor<4>,
    state: MlstmMemory,
    later: Tensor<2, Bool>,
) -> (Tensor<4>, MlstmMemory) {
    let [batch, heads, steps, dh] = q.dims();
    let k = k / (dh as f64).sqrt();
    let decay_in = log_f.cumsum(2);
    // `[t, j]`: step `j`'s input as step `t` sees it (`-∞` for a later `j`).
    let later: Tensor<4, Bool> = later
        .reshape([1, 1, steps, steps])
        .expand([batch, heads, steps, steps]);
    let log_weights = (decay_in.clone() - decay_in.clone().swap_dims(2, 3)
        + i.clone().swap_dims(2, 3))
    .mask_fill(later, NEVER);
    let carried = decay_in.clone() + state.stabilizer.clone();
    let m = log_weights.clone().max_dim(3).max_pair(carried.clone());
    let scores = q.clone().matmul(k.clone().swap_dims(2, 3)) * (log_weights - m.clone()).exp();
    let carry = (carried - m.clone()).exp();
    let numerator =
        scores.clone().matmul(v.clone()) + carry.clone() * q.clone().matmul(state.memory.clone());
    let q_n = scores.sum_dim(3) + carry * q.matmul(state.normalizer.clone());
    let h = numerator / (q_n.abs().max_pair(m.clone().neg().exp()) + EPS);

    let (last_in, last_m) = (
        decay_in.clone().narrow(2, steps - 1, 1),
        m.narrow(2, steps - 1, 1),
    );
    let kept = (last_in.clone() + state.stabilizer - last_m.clone()).exp();
    let written = k * (last_in - decay_in + i - last_m.clone()).exp();
    let memory = kept.clone() * state.memory + written.clone().swap_dims(2, 3).matmul(v);
    let normalizer = kept * state.normalizer + written.sum_dim(2).swap_dims(2, 3);
    let state = MlstmMemory {
        memory,
        normalizer,
        stabilizer: last_m,
    };
    (h, state)
}

/// The mLSTM over a whole sequence (`q, k, v: [batch, heads, seq, dh]`, input gates' pre-activations
/// `i` and forget gates' logs `log_f`: `[batch, heads, seq, 1]`) from `state`, `chunk_size` steps at a time (the chunkwise form; the
/// parallel form when `chunk_size` covers the sequence, the recurrent one when it is 1): the
/// same values, with memory `O(chunk_size²)` per head instead of `O(seq²)`. Returns the
/// outputs `h̃: [batch, heads, seq, dh]` (before any output gate) and the final state.
///
/// The equations are [`MlstmCell`](super::MlstmCell)'s; this is the function to build other
/// mLSTM layers on (the `xlstm` block's projections, convolution and norms).
///
/// # Panics
/// If `chunk_size` is 0, the sequence is empty, or the shapes do not fit together.
pub fn mlstm_chunkwise(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    i: Tensor<4>,
    log_f: Tensor<4>,
    mut state: MlstmMemory,
    chunk_size: usize,
) -> (Tensor<4>, MlstmMemory) {
    assert!(chunk_size > 0, "chunk_size: expected a value > 0, got 0");
    let steps = q.dims()[2];
    let mut outputs = Vec::with_capacity(steps.div_ceil(chunk_size));
    let full = chunk_size.min(steps);
    let later = Tensor::<2, Bool>::tril_mask([full, full], 0, &q.device());
    for start in (0..steps).step_by(chunk_size) {
        let len = chunk_size.min(steps - start);
        let part = |t: &Tensor<4>| t.clone().narrow(2, start, len);
        let later = later.clone().narrow(0, 0, len).narrow(1, 0, len);
        let (h, next) = chunk(
            part(&q),
            part(&k),
            part(&v),
            part(&i),
            part(&log_f),
            state,
            later,
        );
        outputs.push(h);
        state = next;
    }
    (Tensor::cat(outputs, 2), state)
}

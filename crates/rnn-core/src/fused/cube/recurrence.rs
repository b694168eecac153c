//! The fused recurrence's time loops on CubeCL runtimes (wgpu, ...): the whole sequence of one
//! layer and direction in one launch forward and one backward, for any cell with
//! [`CubeMath`].
//!
//! Each cube runs `rows` examples from the first step to the last, so it never waits for
//! another cube (WGSL has no grid-wide barrier). Its threads split the hidden units: each
//! thread owns units `j = thread, thread + threads, ...` for all of the cube's examples, so a
//! unit's state (an LSTM's `c`) and its gradients are only ever touched by one thread; only
//! `h` (every unit reads all of it through `W_hh`) and, backward, the gates' gradients (every
//! unit's `h` gradient reads all of them through `W_hh`) cross threads, through shared memory,
//! with one barrier per step forward and two backward.
//!
//! Layouts are the CPU kernels': gates in PyTorch's order (`[G * H]` per row), the state's
//! parts flattened one after the other (`[batch, H]` each). Per-step rows of what the caller
//! hands in or reads (the input projections and their gradients, the outputs and theirs) are
//! at `t * step + b * example`, time-major (`step = batch`, `example = 1`) or batch-major
//! (`step = 1`, `example = seq`), so that a batch-first caller's tensors are read and written
//! in place; what only the kernels read (the state's other parts after each step, the saved
//! values) is time-major, rows `t * batch + b`.

use cubecl::prelude::*;

use super::CubeMath;

/// `σ(x)`.
#[cube]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + f32::exp(-x))
}

/// `tanh(x)`: the runtime's, as Burn's own `tanh` on these backends (NaN stays NaN, which a
/// clamp of `x` would not keep).
#[cube]
pub(crate) fn tanh(x: f32) -> f32 {
    f32::tanh(x)
}

/// One step of `math`'s gate math for one example and unit: `gates` (`[G]`) holds the input
/// projections with their bias and becomes the activations, `hidden` (`[G]`) the hidden
/// projections `W_hh h` (no bias), `state` (`[S]`) the state before the step and becomes the
/// state after it. Returns the value saved for the backward pass (the GRU's `W_hn h + b_hn`).
#[cube]
fn forward_math(
    gates: &mut Array<f32>,
    hidden: &Array<f32>,
    hidden_bias: f32,
    state: &mut Array<f32>,
    #[comptime] math: CubeMath,
) -> f32 {
    match comptime![math] {
        CubeMath::Lstm => crate::cell::lstm::kernel::cube::forward(gates, hidden, state),
        CubeMath::Gru => crate::cell::gru::kernel::cube::forward(gates, hidden, hidden_bias, state),
        CubeMath::ElmanTanh => {
            crate::cell::elman::kernel::cube::forward(gates, hidden, state, true)
        }
        CubeMath::ElmanRelu => {
            crate::cell::elman::kernel::cube::forward(gates, hidden, state, false)
        }
    }
}

/// Backpropagates one valid step of `math`'s gate math for one example and unit: `gates` (`[G]`) as
/// the forward pass left them, `prev` and `next` (`[S]`) the states before and after the step,
/// `saved` what [`forward_math`](fn@forward_math) returned. `d_state` (`[S]`) is the gradient of
/// the state after the step and becomes the part of the previous state's gradient that does not go
/// through `W_hh`; writes the gradients of the gates' input projections (`d_input`) and hidden
/// projections (`d_hidden`), `[G]` each.
#[cube]
#[allow(clippy::too_many_arguments)]
fn backward_math(
    gates: &Array<f32>,
    prev: &Array<f32>,
    next: &Array<f32>,
    saved: f32,
    d_state: &mut Array<f32>,
    d_input: &mut Array<f32>,
    d_hidden: &mut Array<f32>,
    #[comptime] math: CubeMath,
) {
    match comptime![math] {
        CubeMath::Lstm => {
            crate::cell::lstm::kernel::cube::backward(gates, prev, next, d_state, d_input, d_hidden)
        }
        CubeMath::Gru => {
            crate::cell::gru::kernel::cube::backward(gates, prev, saved, d_state, d_input, d_hidden)
        }
        CubeMath::ElmanTanh => {
            crate::cell::elman::kernel::cube::backward(next, d_state, d_input, d_hidden, true)
        }
        CubeMath::ElmanRelu => {
            crate::cell::elman::kernel::cube::backward(next, d_state, d_input, d_hidden, false)
        }
    }
}

/// The forward time loop. Cube `c` runs examples `c * rows ..` (fewer in the last cube).
///
/// - `gates: [steps * batch, G * H]`: in, the input projections `W_ih x` (no bias); out, the
///   activations (rows of valid steps only); row `t * input_step + b * input_example`.
/// - `recurrent`: `W_hh` transposed, `[H, G * H]`, so that a step's threads read it in order;
///   or where `projected` (a run of one step), the hidden projections `W_hh h` of the initial
///   state, `[batch, G * H]`, multiplied beforehand.
/// - `b_ih`, `b_hh: [G * H]`: the biases (the part of `b_hh` past the additive gates reaches
///   the gate math as its `hidden_bias`, the GRU's `b_hn`).
/// - `state: [S * batch * H]`: the initial state; `lengths: [batch]`.
/// - Out: `packed`, the outputs (zero past each example's length; row `t * output_step + b *
///   output_example`), then from `finals` on the final state (as `state`); and when `save` the
///   parts of the state past `h`
///   after each step (`rest: [steps * batch, (S - 1) * H]`) and, for a cell that has them, its
///   saved values (`saved: [steps * batch, H]`).
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward_loop(
    gates: &mut Tensor<f32>,
    recurrent: &Tensor<f32>,
    b_ih: &Tensor<f32>,
    b_hh: &Tensor<f32>,
    state: &Tensor<f32>,
    lengths: &Tensor<u32>,
    packed: &mut Tensor<f32>,
    rest: &mut Tensor<f32>,
    saved: &mut Tensor<f32>,
    input_step: usize,
    input_example: usize,
    output_step: usize,
    output_example: usize,
    batch: usize,
    steps: usize,
    finals: usize,
    #[comptime] hidden: usize,
    #[comptime] rows: usize,
    #[comptime] math: CubeMath,
    #[comptime] save: bool,
    #[comptime] projected: bool,
) {
    let g_count = comptime![math.gates()];
    let s_count = comptime![math.state_parts()];
    let additive = comptime![math.additive_hidden_bias()];
    let width = g_count * hidden;
    let first = CUBE_POS * rows;
    let threads = CUBE_DIM_X as usize;
    let seq = finals / (batch * hidden);
    // `h` of the cube's examples twice (before and after the step, swapping each step), then
    // the other parts of their state, each `[rows, H]`.
    let mut h = Shared::<[f32]>::new_slice(comptime![2 * rows * hidden]);
    let mut others = Shared::<[f32]>::new_slice(comptime![rows * (s_count - 1) * hidden + 1]);

    let mut j = UNIT_POS_X as usize;
    while j < hidden {
        #[unroll]
        for r in 0..rows {
            let b = first + r;
            if b < batch {
                h[r * hidden + j] = state[b * hidden + j];
                #[unroll]
                for s in 1..s_count {
                    others[((s - 1) * rows + r) * hidden + j] = state[(s * batch + b) * hidden + j];
                }
            } else {
                h[r * hidden + j] = 0.0;
            }
        }
        j += threads;
    }
    sync_cube();

    let mut current = 0usize;
    let mut acc = Array::<f32>::new(comptime![g_count * rows]);
    let mut gate = Array::<f32>::new(g_count);
    let mut projection = Array::<f32>::new(g_count);
    let mut values = Array::<f32>::new(s_count);
    for t in 0..steps {
        let next = rows * hidden - current;
        let mut j = UNIT_POS_X as usize;
        while j < hidden {
            #[unroll]
            for i in 0..g_count * rows {
                acc[i] = 0.0;
            }
            if projected {
                #[unroll]
                for r in 0..rows {
                    if first + r < batch {
                        #[unroll]
                        for g in 0..g_count {
                            acc[g * rows + r] = recurrent[(first + r) * width + g * hidden + j];
                        }
                    }
                }
            } else {
                for k in 0..hidden {
                    #[unroll]
                    for g in 0..g_count {
                        let w = recurrent[k * width + g * hidden + j];
                        #[unroll]
                        for r in 0..rows {
                            acc[g * rows + r] += w * h[current + r * hidden + k];
                        }
                    }
                }
            }
            #[unroll]
            for r in 0..rows {
                let b = first + r;
                let mut valid = false;
                if b < batch {
                    valid = t < lengths[b] as usize;
                }
                let row = t * batch + b;
                let input_row = t * input_step + b * input_example;
                let output_row = t * output_step + b * output_example;
                if valid {
                    #[unroll]
                    for g in 0..g_count {
                        let unit = g * hidden + j;
                        gate[g] = gates[input_row * width + unit] + b_ih[unit];
                        if g < additive {
                            gate[g] += b_hh[unit];
                        }
                        projection[g] = acc[g * rows + r];
                    }
                    let mut hidden_bias = 0.0;
                    if comptime![additive < g_count] {
                        hidden_bias = b_hh[(g_count - 1) * hidden + j];
                    }
                    values[0] = h[current + r * hidden + j];
                    #[unroll]
                    for s in 1..s_count {
                        values[s] = others[((s - 1) * rows + r) * hidden + j];
                    }
                    let kept = forward_math(&mut gate, &projection, hidden_bias, &mut values, math);
                    #[unroll]
                    for g in 0..g_count {
                        gates[input_row * width + g * hidden + j] = gate[g];
                    }
                    h[next + r * hidden + j] = values[0];
                    packed[output_row * hidden + j] = values[0];
                    #[unroll]
                    for s in 1..s_count {
                        others[((s - 1) * rows + r) * hidden + j] = values[s];
                        if save {
                            rest[(row * (s_count - 1) + s - 1) * hidden + j] = values[s];
                        }
                    }
                    if comptime![save && math.saves()] {
                        saved[row * hidden + j] = kept;
                    }
                } else {
                    h[next + r * hidden + j] = h[current + r * hidden + j];
                    if b < batch {
                        packed[output_row * hidden + j] = 0.0;
                    }
                }
            }
            j += threads;
        }
        sync_cube();
        current = next;
    }
    // The steps past every example's length.
    for t in steps..seq {
        let mut j = UNIT_POS_X as usize;
        while j < hidden {
            #[unroll]
            for r in 0..rows {
                let b = first + r;
                if b < batch {
                    packed[(t * output_step + b * output_example) * hidden + j] = 0.0;
                }
            }
            j += threads;
        }
    }

    let mut j = UNIT_POS_X as usize;
    while j < hidden {
        #[unroll]
        for r in 0..rows {
            let b = first + r;
            if b < batch {
                packed[finals + b * hidden + j] = h[current + r * hidden + j];
                #[unroll]
                for s in 1..s_count {
                    packed[finals + (s * batch + b) * hidden + j] =
                        others[((s - 1) * rows + r) * hidden + j];
                }
            }
        }
        j += threads;
    }
}

/// The backward time loop, from the last step to the first, over the forward pass's saved tensors
/// (as [`forward_loop`](fn@forward_loop) wrote them, with `gates` its activations and `packed` `h`
/// after each step).
///
/// - `w_hh: [G * H, H]`, in PyTorch's layout.
/// - `grad`: the gradient of `packed`.
/// - Out, in `gates`' rows: `d_input` and, for a cell whose hidden projections' gradient
///   differs, `d_hidden` (`[steps * batch, G * H]` each, zero in the padding), `h_prev` (`h` before
///   each step, `[steps * batch, H]`: the initial state's, then `packed`'s, which `W_hh`'s
///   gradient multiplies; written here, where the loop reads it, rather than concatenated
///   by two more launches) and `grad_state` (as `state`).
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward_loop(
    gates: &Tensor<f32>,
    w_hh: &Tensor<f32>,
    state: &Tensor<f32>,
    lengths: &Tensor<u32>,
    packed: &Tensor<f32>,
    rest: &Tensor<f32>,
    saved: &Tensor<f32>,
    grad: &Tensor<f32>,
    d_input: &mut Tensor<f32>,
    d_hidden: &mut Tensor<f32>,
    h_prev: &mut Tensor<f32>,
    grad_state: &mut Tensor<f32>,
    input_step: usize,
    input_example: usize,
    output_step: usize,
    output_example: usize,
    batch: usize,
    steps: usize,
    finals: usize,
    #[comptime] hidden: usize,
    #[comptime] rows: usize,
    #[comptime] math: CubeMath,
) {
    let g_count = comptime![math.gates()];
    let s_count = comptime![math.state_parts()];
    let separate = comptime![math.separate_hidden_gradient()];
    let width = g_count * hidden;
    let first = CUBE_POS * rows;
    let threads = CUBE_DIM_X as usize;
    // The gradient of each part of the cube's examples' state, `[S, rows, H]`, and of the
    // current step's hidden projections, `[rows, G * H]`.
    let mut d_state = Shared::<[f32]>::new_slice(comptime![s_count * rows * hidden]);
    let mut d_projection = Shared::<[f32]>::new_slice(comptime![rows * g_count * hidden]);

    let mut j = UNIT_POS_X as usize;
    while j < hidden {
        #[unroll]
        for r in 0..rows {
            let b = first + r;
            #[unroll]
            for s in 0..s_count {
                let mut value = 0.0;
                if b < batch {
                    value = grad[finals + (s * batch + b) * hidden + j];
                }
                d_state[(s * rows + r) * hidden + j] = value;
            }
        }
        j += threads;
    }

    let mut gate = Array::<f32>::new(g_count);
    let mut prev = Array::<f32>::new(s_count);
    let mut next = Array::<f32>::new(s_count);
    let mut d_values = Array::<f32>::new(s_count);
    let mut d_in = Array::<f32>::new(g_count);
    let mut d_hid = Array::<f32>::new(g_count);
    let mut acc = Array::<f32>::new(rows);
    let mut t = steps;
    while t > 0 {
        t -= 1;
        // Through the gate math, unit by unit.
        let mut j = UNIT_POS_X as usize;
        while j < hidden {
            #[unroll]
            for r in 0..rows {
                let b = first + r;
                let mut valid = false;
                let row = t * batch + b;
                let input_row = t * input_step + b * input_example;
                let output_row = t * output_step + b * output_example;
                if b < batch {
                    valid = t < lengths[b] as usize;
                    if t > 0 {
                        prev[0] = packed[(output_row - output_step) * hidden + j];
                    } else {
                        prev[0] = state[b * hidden + j];
                    }
                    h_prev[input_row * hidden + j] = prev[0];
                }
                if valid {
                    #[unroll]
                    for g in 0..g_count {
                        gate[g] = gates[input_row * width + g * hidden + j];
                    }
                    next[0] = packed[output_row * hidden + j];
                    #[unroll]
                    for s in 1..s_count {
                        next[s] = rest[(row * (s_count - 1) + s - 1) * hidden + j];
                        if t > 0 {
                            prev[s] = rest[((row - batch) * (s_count - 1) + s - 1) * hidden + j];
                        } else {
                            prev[s] = state[(s * batch + b) * hidden + j];
                        }
                    }
                    d_values[0] = d_state[r * hidden + j] + grad[output_row * hidden + j];
                    #[unroll]
                    for s in 1..s_count {
                        d_values[s] = d_state[(s * rows + r) * hidden + j];
                    }
                    let mut kept = 0.0;
                    if comptime![math.saves()] {
                        kept = saved[row * hidden + j];
                    }
                    backward_math(
                        &gate,
                        &prev,
                        &next,
                        kept,
                        &mut d_values,
                        &mut d_in,
                        &mut d_hid,
                        math,
                    );
                    #[unroll]
                    for s in 0..s_count {
                        d_state[(s * rows + r) * hidden + j] = d_values[s];
                    }
                    #[unroll]
                    for g in 0..g_count {
                        d_input[input_row * width + g * hidden + j] = d_in[g];
                        if separate {
                            d_hidden[input_row * width + g * hidden + j] = d_hid[g];
                        }
                        d_projection[r * width + g * hidden + j] = d_hid[g];
                    }
                } else {
                    #[unroll]
                    for g in 0..g_count {
                        d_projection[r * width + g * hidden + j] = 0.0;
                        if b < batch {
                            d_input[input_row * width + g * hidden + j] = 0.0;
                            if separate {
                                d_hidden[input_row * width + g * hidden + j] = 0.0;
                            }
                        }
                    }
                }
            }
            j += threads;
        }
        sync_cube();
        // `h`'s gradient through `W_hh`: unit `j` of `h` reads every gate's gradient.
        let mut j = UNIT_POS_X as usize;
        while j < hidden {
            #[unroll]
            for r in 0..rows {
                acc[r] = 0.0;
            }
            for i in 0..width {
                let w = w_hh[i * hidden + j];
                #[unroll]
                for r in 0..rows {
                    acc[r] += w * d_projection[r * width + i];
                }
            }
            #[unroll]
            for r in 0..rows {
                d_state[r * hidden + j] += acc[r];
            }
            j += threads;
        }
        sync_cube();
    }

    let mut j = UNIT_POS_X as usize;
    while j < hidden {
        #[unroll]
        for r in 0..rows {
            let b = first + r;
            if b < batch {
                #[unroll]
                for s in 0..s_count {
                    grad_state[(s * batch + b) * hidden + j] = d_state[(s * rows + r) * hidden + j];
                }
            }
        }
        j += threads;
    }
}

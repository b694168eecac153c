//! The backward pass of the fused kernel: through time in reverse, lanes in lockstep, then the
//! weight and input gradients as one matmul each over all steps.

use std::ops::Range;

use super::super::gate_math::{self, BackwardStep, GateMath, MAX_STATE_PARTS};
use super::super::packed::Packed;
use super::super::pool;
use super::super::shared::{Reads, Writes};
use super::super::split::{Lane, unpermute_rows};
use super::super::strided::{Mat, MatMut, matmul};
use super::super::threads::{in_lockstep, on_threads};
use super::{Dims, InPlace, Operands, PartWeights, RowAt, Saved, States, Strided, column_sums};

/// Backpropagates the gradient of the packed output (`[seq + S, batch, H]`) through the
/// recurrence that saved `saved`.
pub(super) fn backward<K: GateMath>(saved: &Saved<K>, grad: &[f32]) -> Operands {
    let Dims {
        seq,
        steps,
        batch,
        input,
        hidden,
    } = saved.dims;
    let g = K::GATES;
    let gh = g * hidden;
    let n = steps * batch;
    let size = batch * hidden;

    // The final states' gradients seed the carried ones.
    let mut d_state: Vec<Vec<f32>> = (0..K::STATE_PARTS)
        .map(|s| grad[(seq + s) * size..][..size].to_vec())
        .collect();
    let mut d_input = pool::take(n * gh);
    let mut d_hidden = if K::SEPARATE_HIDDEN_GRADIENT {
        pool::take(n * gh)
    } else {
        Vec::new()
    };

    let mut states = Vec::with_capacity(K::STATE_PARTS);
    states.push(States {
        initial: (Reads::of(&saved.initial), 0),
        after: Reads::of(&saved.h),
    });
    for (s, other) in saved.others.iter().enumerate() {
        states.push(States {
            initial: (Reads::of(&saved.initial), (s + 1) * size),
            after: Reads::of(other),
        });
    }
    {
        let ctx = BackwardCtx {
            cell: saved.cell,
            dims: saved.dims,
            parts: &saved.split.parts,
            // Each part's columns of `W_hh`, the weights of its units' state gradient.
            w_hh: if steps == 1 {
                // A run of one step multiplies each block once: read in place, in one run.
                let block = |p: &Range<usize>| InPlace {
                    runs: vec![(
                        0,
                        Strided::new(&saved.w_hh[p.start..], p.len(), gh, (1, hidden)),
                    )],
                };
                PartWeights::InPlace(saved.split.parts.iter().map(block).collect())
            } else {
                PartWeights::packed(saved.split.parts.len(), |p| {
                    let part = &saved.split.parts[p];
                    Packed::new(part.len(), gh, |j, r| {
                        saved.w_hh[r * hidden + part.start + j]
                    })
                })
            },
            keep: &saved.keep,
            gates: Reads::of(&saved.gates),
            states,
            values: Reads::of(&saved.values),
            d_out: Reads::of(grad),
            d_state: d_state.iter_mut().map(|d| Writes::of(d)).collect(),
            d_input: Writes::of(&mut d_input),
            d_hidden: K::SEPARATE_HIDDEN_GRADIENT.then(|| Writes::of(&mut d_hidden)),
        };
        let mut no_scratch: Vec<Vec<f32>> = saved.split.lanes.iter().map(|_| Vec::new()).collect();
        // Round `i` backpropagates step `steps - 1 - i` (after the recurrent part of the step
        // after it); the last round does the recurrent part of step 0.
        let rounds = if steps > 0 { steps + 1 } else { 0 };
        in_lockstep(&saved.split, &mut no_scratch, rounds, |i, lane, _| {
            if i > 0 {
                ctx.recur(steps - i, lane);
            }
            if i < steps {
                ctx.step(steps - 1 - i, lane);
            }
        });
    }

    let d_hidden_or_input = if K::SEPARATE_HIDDEN_GRADIENT {
        &d_hidden
    } else {
        &d_input
    };
    let mut dw_hh = pool::take(gh * hidden);
    let mut dw_ih = pool::take(gh * input);
    let mut dx = pool::take(seq * batch * input);
    dx[n * input..].fill(0.0);
    // The weight and input gradients, each thread of the recurrence taking a share of the
    // rows. Not rayon's pool: other operations of a training step can leave it slow to answer
    // (measured after a burn-nn training step: these matmuls took longer on rayon's two
    // threads than on one).
    let threads = saved.split.lanes.len();
    let (dw_hh_at, dw_ih_at, dx_at) = (
        Writes::of(&mut dw_hh),
        Writes::of(&mut dw_ih),
        Writes::of(&mut dx),
    );
    let (d_hidden_at, d_input_at) = (Reads::of(d_hidden_or_input), Reads::of(&d_input));
    if n == 0 {
        // No step computed: no gradient reaches the weights (and the products below would
        // point past their empty operands).
        dw_hh.fill(0.0);
        dw_ih.fill(0.0);
    } else {
        on_threads(threads, |share| {
            let rows = |len: usize| share * len / threads..(share + 1) * len / threads;
            let (gs, ts) = (rows(gh), rows(n));
            // SAFETY: (all products) the views cover the sizes given, within their buffers
            // (`at` checks each start, inside since `n >= batch` and the second `W_hh`
            // product only runs when `n > batch`; the strides and sizes keep the rest
            // inside): `dgates` is `[n, gh]`, the states `[batch or n - batch, hidden]`, `x`
            // `[n, input]`, `W_ih` `[gh, input]`. Each share writes only its own rows `gs` of
            // `dW_hh` and `dW_ih` and its own rows `ts` of `dx`, which no share reads; every
            // read buffer is only read.
            unsafe {
                // dW_hh = dgates_hᵀ · [h_0 .. h_{steps-1}]: the initial states (step 0), then
                // the states after steps 0 .. steps - 2.
                matmul(
                    (gs.len(), hidden, batch),
                    MatMut(dw_hh_at.at(gs.start * hidden), hidden as isize, 1),
                    Mat(d_hidden_at.at(gs.start), 1, gh as isize),
                    Mat(Reads::of(&saved.initial).at(0), hidden as isize, 1),
                    false,
                );
                if n > batch {
                    matmul(
                        (gs.len(), hidden, n - batch),
                        MatMut(dw_hh_at.at(gs.start * hidden), hidden as isize, 1),
                        Mat(d_hidden_at.at(batch * gh + gs.start), 1, gh as isize),
                        Mat(Reads::of(&saved.h).at(0), hidden as isize, 1),
                        true,
                    );
                }
                // dW_ih = dgates_xᵀ · x
                matmul(
                    (gs.len(), input, n),
                    MatMut(dw_ih_at.at(gs.start * input), input as isize, 1),
                    Mat(d_input_at.at(gs.start), 1, gh as isize),
                    Mat(Reads::of(&saved.x).at(0), input as isize, 1),
                    false,
                );
                // dx = dgates_x · W_ih
                matmul(
                    (ts.len(), input, gh),
                    MatMut(dx_at.at(ts.start * input), input as isize, 1),
                    Mat(d_input_at.at(ts.start * gh), gh as isize, 1),
                    Mat(Reads::of(&saved.w_ih).at(0), input as isize, 1),
                    false,
                );
            }
        });
    }
    let perm = &saved.perm;
    // The additive gates add `b_ih + b_hh` once; the others add `b_hh` to the hidden
    // projection, whose gradient is `d_hidden`'s.
    let grads = Operands {
        x: dx,
        w_ih: unpermute_rows(dw_ih, input, perm),
        w_hh: unpermute_rows(dw_hh, hidden, perm),
        b_ih: unpermute_rows(column_sums(&d_input, gh), 1, perm),
        b_hh: unpermute_rows(column_sums(d_hidden_or_input, gh), 1, perm),
        state: d_state.concat(),
    };
    for buffer in [d_input, d_hidden] {
        pool::give(buffer);
    }
    grads
}

struct BackwardCtx<'a, K> {
    cell: K,
    dims: Dims,
    parts: &'a [Range<usize>],
    /// Each part's columns of `W_hh` (rows permuted like the gates).
    w_hh: PartWeights<'a>,
    keep: &'a [bool],
    gates: Reads<'a>,
    states: Vec<States<'a, Reads<'a>>>,
    /// What the gate math saved.
    values: Reads<'a>,
    /// Gradient of the packed output: its first `n` rows are the outputs'.
    d_out: Reads<'a>,
    /// The carried gradients of the state's parts, `[batch, hidden]` each.
    d_state: Vec<Writes<'a>>,
    d_input: Writes<'a>,
    /// For cells whose hidden gradient is separate.
    d_hidden: Option<Writes<'a>>,
}

impl<K: GateMath> BackwardCtx<'_, K> {
    /// Adds `dgates_h(t) · W_hh[:, part]` to the carried gradient of `h` of the lane's units
    /// and examples.
    fn recur(&self, t: usize, lane: &Lane) {
        let (part, examples) = (&self.parts[lane.part], &lane.examples);
        let Dims { batch, hidden, .. } = self.dims;
        let gh = K::GATES * hidden;
        let d_hidden = self.d_hidden.unwrap_or(self.d_input);
        // SAFETY: the lane reads the hidden gradients of its examples at step `t` (all
        // columns: written in the previous round, by every part, and by no one in this one)
        // and adds into its own units of its examples' carried `dh` (rows `hidden` apart from
        // `dh`), which no other lane touches in this round; the two do not overlap.
        unsafe {
            let d_hidden = d_hidden
                .reads()
                .slice((t * batch + examples.start) * gh, examples.len() * gh);
            let dh = self.d_state[0].at(examples.start * hidden + part.start);
            let rows = examples.len();
            self.w_hh
                .multiply(lane.part, rows, (d_hidden.as_ptr(), gh), (dh, hidden), true);
        }
    }

    /// Backpropagates step `t` through the gate math of the lane's units and examples.
    fn step(&self, t: usize, lane: &Lane) {
        let part = &self.parts[lane.part];
        let Dims { batch, hidden, .. } = self.dims;
        let g = K::GATES;
        let gh = g * hidden;
        let units = part.len();
        let col0 = g * part.start;
        for b in lane.examples.clone() {
            let at = RowAt {
                t,
                b,
                batch,
                hidden,
            };
            let row = t * batch + b;
            let cols = row * gh + col0;
            // SAFETY: the lane's columns of its example's row at step `t` of the gate
            // gradients: this lane's alone in this round (the recurrent part reads them in the
            // next).
            let (d_input, d_hidden) = unsafe {
                (
                    self.d_input.slice_mut(cols, g * units),
                    self.d_hidden.map(|d| d.slice_mut(cols, g * units)),
                )
            };
            if !self.keep[row] {
                // Padding: no gradient reaches the gates; the state's gradient is carried.
                d_input.fill(0.0);
                if let Some(d) = d_hidden {
                    d.fill(0.0);
                }
                continue;
            }
            let mut prev: [&[f32]; MAX_STATE_PARTS] = [&[]; MAX_STATE_PARTS];
            let mut next: [&[f32]; MAX_STATE_PARTS] = [&[]; MAX_STATE_PARTS];
            let mut d_state: [&mut [f32]; MAX_STATE_PARTS] = Default::default();
            let unit0 = b * hidden + part.start;
            for (s, states) in self.states.iter().enumerate() {
                // SAFETY: the saved states are only read; the carried gradients of the lane's
                // units of its example are this lane's alone in this round.
                unsafe {
                    prev[s] = states.before(at, part.start, units);
                    next[s] = states.after.slice(at.offset() + part.start, units);
                    d_state[s] = self.d_state[s].slice_mut(unit0, units);
                }
            }
            // SAFETY: the output gradient and the saved values are only read.
            let (d_out, gates, values) = unsafe {
                (
                    self.d_out.slice(at.offset() + part.start, units),
                    self.gates.slice(cols, g * units),
                    self.values.slice(
                        row * K::SAVED * hidden + K::SAVED * part.start,
                        K::SAVED * units,
                    ),
                )
            };
            for (d, o) in d_state[0].iter_mut().zip(d_out) {
                *d += o;
            }
            gate_math::backward(
                self.cell,
                BackwardStep {
                    gates,
                    d_input,
                    d_hidden,
                    d_state: &mut d_state[..K::STATE_PARTS],
                    prev: &prev[..K::STATE_PARTS],
                    next: &next[..K::STATE_PARTS],
                    saved: values,
                },
            );
        }
    }
}

//! The backward pass of the fused kernel: through time in reverse, lanes in lockstep, then the
//! weight and input gradients as one matmul each over all steps.

use std::ops::Range;

use super::super::gate_math::{self, BackwardStep, GateMath, MAX_STATE_PARTS};
use super::super::isa::{self, Vectorised};
use super::super::packed::Packed;
use super::super::pool;
use super::super::shared::{Reads, Writes};
use super::super::split::{Lane, reorder_rows_into, unpermute_rows};
use super::super::strided::{Mat, MatMut, matmul};
use super::super::threads::{in_lockstep, on_threads};
use super::order::caller_row;
use super::{
    Dims, InPlace, Operands, OutputLayout, PartWeights, RowAt, Saved, States, Strided, running_end,
};

/// Backpropagates the gradient of the packed output (as the forward pass's) through the
/// recurrence that saved `saved`.
pub(super) fn backward<K: GateMath>(saved: &Saved<K>, grad: &[f32]) -> Operands {
    let dims = saved.dims;
    let Dims {
        seq,
        steps,
        batch,
        input,
        hidden,
        proj,
    } = dims;
    let g = K::GATES;
    let gh = g * hidden;
    let n = steps * batch;
    let projected = !saved.w_hr.is_empty();
    // The run takes the outputs' gradient time-major (it comes in the outputs' layout), and a
    // run in order of length takes it and the final states' in its order; it gives those of
    // `x` and of the initial state back in the caller's.
    let order = saved.order.as_ref();
    let layout = saved.layout;
    let as_run = layout == OutputLayout::TimeMajor || seq == 1 || batch == 1;
    let in_run_order = (order.is_some() || !as_run).then(|| {
        let mut reordered = pool::take(grad.len());
        let (outputs, finals) = reordered.split_at_mut(seq * batch * proj);
        let row = caller_row(order, (seq, batch), layout);
        reorder_rows_into(grad, outputs, proj, row, false);
        let finals_grad = &grad[outputs.len()..];
        match order {
            Some(order) => {
                for s in 0..K::STATE_PARTS {
                    let (offset, width) = (dims.state_offset(s), dims.width(s));
                    let part = order.to_run(&finals_grad[offset..], width, 1);
                    finals[offset..][..part.len()].copy_from_slice(&part);
                    pool::give(part);
                }
            }
            None => finals.copy_from_slice(finals_grad),
        }
        reordered
    });
    let grad = in_run_order.as_deref().unwrap_or(grad);

    // The final states' gradients seed the carried ones.
    let finals = &grad[seq * batch * proj..];
    let mut d_state: Vec<Vec<f32>> = (0..K::STATE_PARTS)
        .map(|s| finals[dims.state_offset(s)..][..batch * dims.width(s)].to_vec())
        .collect();
    // With a projection, the gradient of `h` at each step (what the projection multiplied
    // into `W_hr`'s gradient).
    let mut d_projected = if projected {
        pool::take(n * proj)
    } else {
        Vec::new()
    };
    let mut d_input = pool::take(n * gh);
    let mut d_hidden = if K::SEPARATE_HIDDEN_GRADIENT {
        pool::take(n * gh)
    } else {
        Vec::new()
    };

    // The biases' gradients: the gate columns' sums of `d_input`, and of `d_hidden` when the
    // cell has one (else `b_hh`'s is `b_ih`'s).
    let bias_sums = bias_sums::<K>();
    let mut db_ih = pool::take(gh);
    let mut db_hh = if K::SEPARATE_HIDDEN_GRADIENT {
        pool::take(gh)
    } else {
        Vec::new()
    };
    let mut states = Vec::with_capacity(K::STATE_PARTS);
    states.push(States {
        initial: (Reads::of(&saved.initial), 0),
        after: Reads::of(&saved.h),
        width: proj,
    });
    for (s, other) in saved.others.iter().enumerate() {
        states.push(States {
            initial: (Reads::of(&saved.initial), dims.state_offset(s + 1)),
            after: Reads::of(other),
            width: hidden,
        });
    }
    // `h`'s columns each part takes: its units', or all of `h` with a projection (whose runs
    // have one part).
    let columns = |p: &Range<usize>| if projected { 0..proj } else { p.clone() };
    {
        let ctx = BackwardCtx {
            cell: saved.cell,
            dims,
            parts: &saved.split.parts,
            // Each part's columns of `W_hh`, the weights of its columns of `h`'s gradient.
            w_hh: if steps == 1 {
                // A run of one step multiplies each block once: read in place, in one run.
                let block = |p: &Range<usize>| {
                    let cols = columns(p);
                    InPlace {
                        runs: vec![(
                            0,
                            Strided::new(&saved.w_hh[cols.start..], cols.len(), gh, (1, proj)),
                        )],
                    }
                };
                PartWeights::InPlace(saved.split.parts.iter().map(block).collect())
            } else {
                PartWeights::packed(saved.split.parts.len(), |p| {
                    let cols = columns(&saved.split.parts[p]);
                    Packed::from_inputs(cols.len(), gh, &saved.w_hh[cols.start..], proj)
                })
            },
            // `W_hr` `[P, H]` as the block that takes `h`'s gradient to the unprojected one's:
            // output columns the hidden units, inputs `h`'s.
            projection: projected.then(|| BackwardProjection {
                w_hr: if steps == 1 {
                    PartWeights::InPlace(vec![InPlace {
                        runs: vec![(0, Strided::new(&saved.w_hr, hidden, proj, (1, hidden)))],
                    }])
                } else {
                    PartWeights::packed(1, |_| {
                        Packed::from_inputs(hidden, proj, &saved.w_hr, hidden)
                    })
                },
                d_projected: Writes::of(&mut d_projected),
            }),
            keep: &saved.keep,
            gates: Reads::of(&saved.gates),
            states,
            values: Reads::of(&saved.values),
            d_out: Reads::of(grad),
            d_state: d_state.iter_mut().map(|d| Writes::of(d)).collect(),
            d_input: Writes::of(&mut d_input),
            d_hidden: K::SEPARATE_HIDDEN_GRADIENT.then(|| Writes::of(&mut d_hidden)),
        };
        // Each lane's running sums of its gate columns' gradients (see `BackwardCtx::step`),
        // and with a projection its examples' gradient of the unprojected `h`.
        let mut scratch: Vec<Vec<f32>> = saved
            .split
            .lanes
            .iter()
            .map(|lane| {
                let sums = bias_sums * g * saved.split.parts[lane.part].len();
                let unprojected = usize::from(projected) * lane.examples.len() * hidden;
                let mut scratch = pool::take(sums + unprojected);
                scratch[..sums].fill(0.0);
                scratch
            })
            .collect();
        // Round `i` backpropagates step `steps - 1 - i` (after the recurrent part of the step
        // after it); the last round does the recurrent part of step 0.
        let rounds = if steps > 0 { steps + 1 } else { 0 };
        in_lockstep(&saved.split, &mut scratch, rounds, |i, lane, scratch| {
            if i > 0 {
                ctx.recur(steps - i, lane);
            }
            if i < steps {
                ctx.step(steps - 1 - i, lane, scratch);
            }
        });
        // The biases' gradients: the sums of the lanes' sums over their gate columns.
        for bias in [&mut db_ih, &mut db_hh] {
            bias.fill(0.0);
        }
        for (lane, sums) in saved.split.lanes.iter().zip(&scratch) {
            let part = &saved.split.parts[lane.part];
            let width = g * part.len();
            let biases = [&mut db_ih, &mut db_hh].into_iter().take(bias_sums);
            for (bias, sums) in biases.zip(sums.chunks_exact(width)) {
                for (d, s) in bias[g * part.start..][..width].iter_mut().zip(sums) {
                    *d += s;
                }
            }
        }
        scratch.into_iter().for_each(pool::give);
    }

    let d_hidden_or_input = if K::SEPARATE_HIDDEN_GRADIENT {
        &d_hidden
    } else {
        &d_input
    };
    let mut dw_hh = pool::take(gh * proj);
    let mut dw_hr = pool::take(proj * hidden * usize::from(projected));
    let mut dw_ih = pool::take(gh * input);
    let mut dx = pool::take(seq * batch * input);
    dx[n * input..].fill(0.0);
    // The weight and input gradients, each thread of the recurrence taking a share of the
    // rows. Not rayon's pool: other operations of a training step can leave it slow to answer
    // (measured after a burn-nn training step: these matmuls took longer on rayon's two
    // threads than on one).
    let threads = saved.split.lanes.len();
    let (dw_hh_at, dw_ih_at, dx_at, dw_hr_at) = (
        Writes::of(&mut dw_hh),
        Writes::of(&mut dw_ih),
        Writes::of(&mut dx),
        Writes::of(&mut dw_hr),
    );
    let (d_hidden_at, d_input_at) = (Reads::of(d_hidden_or_input), Reads::of(&d_input));
    if n == 0 {
        // No step computed: no gradient reaches the weights (and the products below would
        // point past their empty operands).
        dw_hh.fill(0.0);
        dw_ih.fill(0.0);
        dw_hr.fill(0.0);
    } else {
        let d_projected_at = Reads::of(&d_projected);
        on_threads(threads, |share| {
            let rows = |len: usize| share * len / threads..(share + 1) * len / threads;
            let (gs, ts, ps) = (rows(gh), rows(n), rows(proj));
            // SAFETY: (all products) the views cover the sizes given, within their buffers
            // (`at` checks each start, inside since `n >= batch` and the second `W_hh`
            // product only runs when `n > batch`; the strides and sizes keep the rest
            // inside): `dgates` is `[n, gh]`, `h` before each step `[batch or n - batch,
            // proj]` (`saved.initial` holds `batch · proj` values, `saved.h` `n` rows of
            // `proj`), `x` `[n, input]` (`saved.x`, `n` rows), `W_ih` `[gh, input]`, and
            // with a projection `h`'s gradient `[n, proj]` and the unprojected `h` `[n,
            // hidden]` (`saved.unprojected`, `n` rows). Each share writes
            // only its own rows `gs` of `dW_hh` and `dW_ih`, `ps` of `dW_hr` and `ts` of
            // `dx`, which no share reads; every read buffer is only read.
            unsafe {
                // dW_hh = dgates_hᵀ · [h_0 .. h_{steps-1}]: the initial states (step 0), then
                // the states after steps 0 .. steps - 2.
                matmul(
                    (gs.len(), proj, batch),
                    MatMut(dw_hh_at.at(gs.start * proj), proj as isize, 1),
                    Mat(d_hidden_at.at(gs.start), 1, gh as isize),
                    Mat(Reads::of(&saved.initial).at(0), proj as isize, 1),
                    false,
                );
                if n > batch {
                    matmul(
                        (gs.len(), proj, n - batch),
                        MatMut(dw_hh_at.at(gs.start * proj), proj as isize, 1),
                        Mat(d_hidden_at.at(batch * gh + gs.start), 1, gh as isize),
                        Mat(Reads::of(&saved.h).at(0), proj as isize, 1),
                        true,
                    );
                }
                // dW_hr = dhᵀ · [unprojected h after each step]
                if projected {
                    matmul(
                        (ps.len(), hidden, n),
                        MatMut(dw_hr_at.at(ps.start * hidden), hidden as isize, 1),
                        Mat(d_projected_at.at(ps.start), 1, proj as isize),
                        Mat(Reads::of(&saved.unprojected).at(0), hidden as isize, 1),
                        false,
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
    let (dx, d_state) = match &saved.order {
        Some(order) => {
            let in_order = order.to_caller(&dx, input, seq);
            pool::give(dx);
            let d_state = d_state
                .iter()
                .enumerate()
                .map(|(s, part)| order.to_caller(part, dims.width(s), 1))
                .collect();
            (in_order, d_state)
        }
        None => (dx, d_state),
    };
    let grads = Operands {
        x: dx,
        w_ih: unpermute_rows(dw_ih, input, perm),
        w_hh: unpermute_rows(dw_hh, proj, perm),
        b_hh: unpermute_rows(
            if K::SEPARATE_HIDDEN_GRADIENT {
                db_hh
            } else {
                db_ih.clone()
            },
            1,
            perm,
        ),
        b_ih: unpermute_rows(db_ih, 1, perm),
        w_hr: dw_hr,
        state: d_state.concat(),
    };
    for buffer in [d_input, d_hidden, d_projected] {
        pool::give(buffer);
    }
    if let Some(reordered) = in_run_order {
        pool::give(reordered);
    }
    grads
}

/// The projection of `h` in a backward run.
struct BackwardProjection<'a> {
    /// `W_hr` as the block that takes `h`'s gradient to the unprojected `h`'s.
    w_hr: PartWeights<'a>,
    /// `[steps * batch, proj]`: the gradient of `h` after each step.
    d_projected: Writes<'a>,
}

struct BackwardCtx<'a, K> {
    cell: K,
    dims: Dims,
    parts: &'a [Range<usize>],
    /// Each part's columns of `W_hh` (rows permuted like the gates).
    w_hh: PartWeights<'a>,
    /// With a projection: the lanes have every unit.
    projection: Option<BackwardProjection<'a>>,
    keep: &'a [bool],
    gates: Reads<'a>,
    states: Vec<States<'a, Reads<'a>>>,
    /// What the gate math saved.
    values: Reads<'a>,
    /// Gradient of the packed output: its first `n` rows are the outputs'.
    d_out: Reads<'a>,
    /// The carried gradients of the state's parts, `[batch, width]` each.
    d_state: Vec<Writes<'a>>,
    d_input: Writes<'a>,
    /// For cells whose hidden gradient is separate.
    d_hidden: Option<Writes<'a>>,
}

impl<K: GateMath> BackwardCtx<'_, K> {
    /// Adds `dgates_h(t) · W_hh[:, part]` to the carried gradient of `h` of the lane's
    /// columns (its units', or all with a projection) and examples.
    fn recur(&self, t: usize, lane: &Lane) {
        let (part, examples) = (&self.parts[lane.part], &lane.examples);
        let Dims {
            batch,
            hidden,
            proj,
            ..
        } = self.dims;
        let gh = K::GATES * hidden;
        let d_hidden = self.d_hidden.unwrap_or(self.d_input);
        let column0 = if self.projection.is_some() {
            0
        } else {
            part.start
        };
        // SAFETY: the lane reads the hidden gradients of its examples at step `t` (all
        // columns: written in the previous round, by every part, and by no one in this one)
        // and adds into its own columns of its examples' carried `dh` (rows `proj` apart from
        // `dh`), which no other lane touches in this round; the two do not overlap.
        unsafe {
            let d_hidden = d_hidden
                .reads()
                .slice((t * batch + examples.start) * gh, examples.len() * gh);
            let dh = self.d_state[0].at(examples.start * proj + column0);
            // The gate gradients of the examples that did not run step `t` are zero.
            let rows = running_end(self.keep, t, batch, examples) - examples.start;
            self.w_hh
                .multiply(lane.part, rows, (d_hidden.as_ptr(), gh), (dh, proj), true);
        }
    }

    /// With a projection: the gradient of `h` after step `t` for the lane's examples (the
    /// output's and the carried one, which restarts from zero) into `d_projected`, and taken
    /// through `W_hr` into `scratch` (`[examples, hidden]`), the gradient of the unprojected
    /// `h`. Padding passes no gradient to the step, and keeps the carried one.
    fn project_back(
        &self,
        t: usize,
        lane: &Lane,
        projection: &BackwardProjection<'_>,
        scratch: &mut [f32],
    ) {
        let examples = &lane.examples;
        let Dims {
            batch,
            hidden,
            proj,
            ..
        } = self.dims;
        let first = t * batch + examples.start;
        // SAFETY: the lane's examples' rows of `d_projected` at step `t` and of the carried
        // `dh` (all of `h`: a projected run's lanes have every unit) are this lane's alone in
        // this round; the output gradient is only read.
        let (d_projected, d_out) = unsafe {
            (
                projection
                    .d_projected
                    .slice_mut(first * proj, examples.len() * proj),
                self.d_out.slice(first * proj, examples.len() * proj),
            )
        };
        for (i, b) in examples.clone().enumerate() {
            let dst = &mut d_projected[i * proj..][..proj];
            if !self.keep[t * batch + b] {
                dst.fill(0.0);
                continue;
            }
            // SAFETY: as above.
            let carried = unsafe { self.d_state[0].slice_mut(b * proj, proj) };
            for ((d, c), o) in dst
                .iter_mut()
                .zip(carried.iter_mut())
                .zip(&d_out[i * proj..])
            {
                *d = *c + o;
                *c = 0.0;
            }
        }
        // SAFETY: `d_projected`'s rows (`proj` values each) and the lane's own scratch (`hidden`
        // per example) do not overlap each other or `W_hr`.
        unsafe {
            projection.w_hr.multiply(
                0,
                examples.len(),
                (d_projected.as_ptr(), proj),
                (scratch.as_mut_ptr(), hidden),
                false,
            );
        }
    }

    /// Backpropagates step `t` through the gate math of the lane's units and examples (first
    /// through the projection, with one), and adds the gate gradients to the lane's sums of
    /// them, the first [`bias_sums`] `× G × units` values of `scratch`.
    fn step(&self, t: usize, lane: &Lane, scratch: &mut [f32]) {
        let part = &self.parts[lane.part];
        let Dims {
            batch,
            hidden,
            proj,
            ..
        } = self.dims;
        let g = K::GATES;
        let gh = g * hidden;
        let units = part.len();
        let col0 = g * part.start;
        let (sums, scratch) = scratch.split_at_mut(bias_sums::<K>() * g * units);
        let (input_sums, hidden_sums) = sums.split_at_mut(g * units);
        if let Some(projection) = &self.projection {
            self.project_back(t, lane, projection, scratch);
        }
        let mut d_unprojected = scratch.chunks_exact_mut(hidden.max(1));
        for b in lane.examples.clone() {
            let at = RowAt { t, b, batch };
            let row = t * batch + b;
            let mut d_unprojected = d_unprojected.next();
            let cols = row * gh + col0;
            // SAFETY: the lane's columns of its example's row at step `t` of the gate
            // gradients: this lane's alone in this round (the recurrent part reads them in the
            // next).
            let (d_input, mut d_hidden) = unsafe {
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
            for (s, states) in self.states.iter().enumerate() {
                if s == 0 && self.projection.is_some() {
                    // The gate math reads neither `h` of a projecting cell (as forward), and
                    // takes the unprojected `h`'s gradient.
                    d_state[0] = d_unprojected.take().expect("a scratch row per example");
                    continue;
                }
                // SAFETY: the saved states are only read; the carried gradients of the lane's
                // units of its example are this lane's alone in this round.
                unsafe {
                    prev[s] = states.before(at, part.start, units);
                    next[s] = states.after.slice(states.after_row(at) + part.start, units);
                    d_state[s] = self.d_state[s].slice_mut(b * states.width + part.start, units);
                }
            }
            // SAFETY: the output gradient and the saved values are only read.
            let (gates, values) = unsafe {
                (
                    self.gates.slice(cols, g * units),
                    self.values.slice(
                        row * K::SAVED * hidden + K::SAVED * part.start,
                        K::SAVED * units,
                    ),
                )
            };
            if self.projection.is_none() {
                // SAFETY: only read.
                let d_out = unsafe { self.d_out.slice(row * proj + part.start, units) };
                for (d, o) in d_state[0].iter_mut().zip(d_out) {
                    *d += o;
                }
            }
            gate_math::backward(
                self.cell,
                BackwardStep {
                    gates,
                    d_input: &mut *d_input,
                    d_hidden: d_hidden.as_deref_mut(),
                    d_state: &mut d_state[..K::STATE_PARTS],
                    prev: &prev[..K::STATE_PARTS],
                    next: &next[..K::STATE_PARTS],
                    saved: values,
                },
            );
            // The biases' gradients, summed while the step's gradients are in cache rather
            // than read back from memory for every step after the recurrence.
            isa::run(Accumulate(input_sums, d_input));
            if let Some(d_hidden) = d_hidden {
                isa::run(Accumulate(hidden_sums, d_hidden));
            }
        }
    }
}

/// The biases' gradients a backward run sums: `b_ih`'s, and `b_hh`'s where it differs.
fn bias_sums<K: GateMath>() -> usize {
    1 + usize::from(K::SEPARATE_HIDDEN_GRADIENT)
}

/// `sums += values`, element by element: a lane's running sums of its gate columns'
/// gradients, the biases' gradients.
struct Accumulate<'a>(&'a mut [f32], &'a [f32]);

impl Vectorised for Accumulate<'_> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(self) {
        for (sum, value) in self.0.iter_mut().zip(self.1) {
            *sum += value;
        }
    }
}

//! The forward pass of the fused kernel: the recurrence over all steps, lanes in lockstep.

use std::ops::Range;

use super::super::gate_math::{self, ForwardStep, GateMath, MAX_STATE_PARTS};
use super::super::packed::Packed;
use super::super::packed_cache::{self, Owner};
use super::super::pool;
use super::super::shared::{Reads, Writes};
use super::super::split::{Lane, permutation, permuted_rows, reorder_rows_into, split};
use super::super::threads::in_lockstep;
use super::order::{ExampleOrder, caller_row};
use super::{
    Blocks, Dims, InPlace, InputRows, Inputs, OutputLayout, PartWeights, RowAt, Saved, States,
    keep_mask, running_end,
};

/// Fewest examples whose step multiplies packed weights (kept between steps): with fewer, the
/// dot products over the weights in place ([`InPlace`]) are as fast.
const PACKED_STEP_ROWS: usize = 16;

/// The forward pass projects the input of this many rows (steps × batch, rounded up to whole
/// steps) at a time: enough rows to fill the packed multiply's tiles.
const PROJECTED_ROWS: usize = 24;

/// Runs the recurrence of `cell`. Returns the packed output (see
/// [`FusedCell::forward`](super::FusedCell::forward)): the outputs in `layout` (zero in the
/// padding), then the final state's parts; and, when `save`, what the backward pass needs.
pub(super) fn forward<K: GateMath>(
    cell: K,
    dims: Dims,
    inputs: Inputs<'_>,
    lengths: Option<&[usize]>,
    (save, layout): (bool, OutputLayout),
) -> (Vec<f32>, Option<Saved<K>>) {
    const { assert!(K::STATE_PARTS >= 1 && K::STATE_PARTS <= MAX_STATE_PARTS) };
    // The backward pass takes `b_hh`'s gradient from the hidden projections' gradient.
    const { assert!(K::ADDITIVE_HIDDEN_BIAS == K::GATES || K::SEPARATE_HIDDEN_GRADIENT) };
    let Dims {
        seq,
        steps,
        batch,
        input,
        hidden,
        proj,
    } = dims;
    let g = K::GATES;
    let n = steps * batch;
    let projected = !inputs.w_hr.is_empty();
    assert!(
        if projected {
            K::PROJECTABLE
        } else {
            proj == hidden
        },
        "h of {proj} values for {hidden} units needs a projection ({}), of a cell whose gate \
         math allows one (GateMath::PROJECTABLE: {})",
        if projected { "given" } else { "none given" },
        K::PROJECTABLE
    );

    // The reads of each step's inputs rely on these (the callers check the lengths).
    assert!(steps <= seq, "{steps} steps of a sequence of {seq}");
    if let Some(lengths) = lengths {
        assert_eq!(lengths.len(), batch, "one length per example");
        if let Some(t) = lengths.iter().find(|&&t| t > steps) {
            panic!("a length of {t} beyond the {steps} steps run");
        }
    }
    let split = split(g, hidden, batch, steps, projected);
    // A padded batch runs in order of length: its inputs are read, and the lengths and
    // the state below are, in the run's order.
    let order = (steps > 1)
        .then(|| ExampleOrder::by_length(lengths, &split))
        .flatten();
    let run_lengths: Option<Vec<usize>> = order
        .as_ref()
        .zip(lengths)
        .map(|(order, l)| order.examples().iter().map(|&b| l[b]).collect());
    let lengths = run_lengths.as_deref().or(lengths);
    let initial_state = match &order {
        Some(order) => (0..K::STATE_PARTS)
            .flat_map(|s| order.to_run(&inputs.state[dims.state_offset(s)..], dims.width(s), 1))
            .collect(),
        None => inputs.state,
    };
    let parts = &split.parts;
    let perm = permutation(g, hidden, parts);
    let additive = K::ADDITIVE_HIDDEN_BIAS * hidden;
    let bias: Vec<f32> = perm
        .iter()
        .map(|&r| inputs.b_ih[r] + if r < additive { inputs.b_hh[r] } else { 0.0 })
        .collect();
    // The other gates' `b_hh`, part by part like the gates.
    let hidden_bias: Vec<f32> = parts
        .iter()
        .flat_map(|p| {
            (K::ADDITIVE_HIDDEN_BIAS..g).flat_map(move |k| p.clone().map(move |j| k * hidden + j))
        })
        .map(|r| inputs.b_hh[r])
        .collect();
    let keep = keep_mask(lengths, steps, batch);
    // `W_hr`'s rows as one part's, in their own order (made only for a projection).
    let whole = 0..proj;
    let identity: Vec<usize> = if projected {
        whole.clone().collect()
    } else {
        Vec::new()
    };

    // The gates (and what the cell saves) of every step when the backward pass needs them;
    // otherwise each lane keeps those of the current chunk of steps in its scratch.
    let chunk = if split.meet {
        PROJECTED_ROWS.div_ceil(batch).min(steps.max(1))
    } else {
        1
    };
    let all_steps = |width: usize| {
        if save && width > 0 {
            pool::take(n * width)
        } else {
            Vec::new()
        }
    };
    let mut gates = all_steps(g * hidden);
    let mut saved_values = all_steps(K::SAVED * hidden);
    // The states after each step: `h`'s are the outputs, so `h` is the packed output, whose
    // rows past the steps' are written after the loop; the other parts have their own.
    let mut h = pool::take(seq * batch * proj + dims.state_offset(K::STATE_PARTS));
    let mut others: Vec<Vec<f32>> = (1..K::STATE_PARTS)
        .map(|_| pool::take(n * hidden))
        .collect();
    // With a projection, `h` before it (what the gate math writes) after each step.
    let mut unprojected = if projected {
        pool::take(n * hidden)
    } else {
        Vec::new()
    };
    let mut scratch: Vec<Vec<f32>> = split
        .lanes
        .iter()
        .map(|lane| {
            let units = parts[lane.part].len();
            let unsaved = if save {
                0
            } else {
                (chunk * g + K::SAVED) * batch * units
            };
            pool::take(lane.examples.len() * g * units + unsaved)
        })
        .collect();

    // `x` in time-major order on the host (and the run's order): for the backward pass, for a
    // split by hidden units (the rows of a chunk of several steps must be evenly spaced) when
    // `x` is not time-major already, and for a run in order of length. With a split by
    // examples each thread copies its own rows, step by step; otherwise it is copied here.
    let view = inputs.x;
    let time_major = view.example == input && view.step == batch * input;
    let copied = order.is_some() || (split.meet && !time_major);
    let mut x = if save || copied {
        pool::take(seq * batch * input)
    } else {
        Vec::new()
    };
    let copy_in_lanes = save && !copied && !split.meet;
    if !x.is_empty() && !copy_in_lanes {
        for (r, row) in x.chunks_exact_mut(input).enumerate() {
            let b = order
                .as_ref()
                .map_or(r % batch, |o| o.examples()[r % batch]);
            row.copy_from_slice(view.row(r / batch, b, input));
        }
    }
    {
        let (x_rows, x_copy) = if copy_in_lanes {
            (view, Some(Writes::of(&mut x)))
        } else if copied {
            (InputRows::time_major(&x, batch, input), None)
        } else {
            (view, None)
        };
        let mut states = Vec::with_capacity(K::STATE_PARTS);
        states.push(States {
            initial: (Reads::of(&initial_state), 0),
            after: Writes::of(&mut h),
            width: proj,
        });
        for (s, other) in others.iter_mut().enumerate() {
            states.push(States {
                initial: (Reads::of(&initial_state), dims.state_offset(s + 1)),
                after: Writes::of(other),
                width: hidden,
            });
        }
        let [w_ih_owner, w_hh_owner] = inputs.owners;
        let ctx = ForwardCtx {
            cell,
            dims,
            parts,
            x: x_rows,
            x_copy,
            w_ih: gate_rows(
                (inputs.w_ih, input),
                g,
                parts,
                &perm,
                (steps, batch),
                w_ih_owner,
            ),
            w_hh: gate_rows(
                (inputs.w_hh, proj),
                g,
                parts,
                &perm,
                (steps, batch),
                w_hh_owner,
            ),
            projection: projected.then(|| Projection {
                w_hr: gate_rows(
                    (inputs.w_hr, hidden),
                    1,
                    std::slice::from_ref(&whole),
                    &identity,
                    (steps, batch),
                    None,
                ),
                unprojected: Writes::of(&mut unprojected),
            }),
            bias: &bias,
            hidden_bias: &hidden_bias,
            keep: &keep,
            chunk,
            saved: save.then(|| (Writes::of(&mut gates), Writes::of(&mut saved_values))),
            states,
        };
        in_lockstep(&split, &mut scratch, steps, |t, lane, scratch| {
            ctx.step(t, lane, scratch)
        });
    }
    scratch.into_iter().for_each(pool::give);
    // The backward pass's weight-gradient matmuls read the weights with permuted rows.
    let for_backward = |w: &[f32], width: usize| {
        if save {
            permuted_rows(w, width, &perm)
        } else {
            Vec::new()
        }
    };
    let (w_ih, w_hh) = (
        for_backward(inputs.w_ih, input),
        for_backward(inputs.w_hh, proj),
    );
    let w_hr = if save && projected {
        let mut copy = pool::take(inputs.w_hr.len());
        copy.copy_from_slice(inputs.w_hr);
        copy
    } else {
        Vec::new()
    };

    // The outputs past the last step are zero; the final states are each example's states
    // after its last valid step, in the caller's order.
    let (outputs, finals) = h.split_at_mut(seq * batch * proj);
    outputs[n * proj..].fill(0.0);
    for s in 0..K::STATE_PARTS {
        let (width, offset) = (dims.width(s), dims.state_offset(s));
        let size = batch * width;
        let after: &[f32] = if s == 0 { outputs } else { &others[s - 1] };
        let initial = &initial_state[offset..][..size];
        let finals = &mut finals[offset..][..size];
        for p in 0..batch {
            let src = match lengths.map_or(steps, |l| l[p]) {
                0 => &initial[p * width..],
                v => &after[((v - 1) * batch + p) * width..],
            };
            let b = order.as_ref().map_or(p, |o| o.examples()[p]);
            finals[b * width..][..width].copy_from_slice(&src[..width]);
        }
    }
    // The outputs in the caller's layout and order (a run of one step or one example is
    // batch-major as it is).
    let as_run = layout == OutputLayout::TimeMajor || seq == 1 || batch == 1;
    let packed = if order.is_none() && as_run {
        if save {
            let mut copy = pool::take(h.len());
            copy.copy_from_slice(&h);
            copy
        } else {
            std::mem::take(&mut h)
        }
    } else {
        let mut packed = pool::take(h.len());
        let (outputs, finals) = packed.split_at_mut(seq * batch * proj);
        let row = caller_row(order.as_ref(), (seq, batch), layout);
        reorder_rows_into(&h, outputs, proj, row, true);
        finals.copy_from_slice(&h[seq * batch * proj..]);
        packed
    };
    let saved = Saved {
        cell,
        dims,
        split,
        perm,
        x,
        w_ih,
        w_hh,
        w_hr,
        keep,
        gates,
        h,
        others,
        unprojected,
        initial: initial_state,
        values: saved_values,
        order,
        layout,
    };
    // Unsaved buffers go back to the pool when `saved` drops.
    (packed, save.then_some(saved))
}

/// Each part's rows of `w` (`[g * hidden, k]`, PyTorch's gate order): the weights of its gate
/// columns, in the permuted order, packed, and kept for the next run with the same weights
/// ([`packed_cache`]) when they have an `owner` to cache them by (a decoder's step, or
/// inference). A run of one step multiplies each block once: for fewer than
/// [`PACKED_STEP_ROWS`] examples, or weights with no `owner`, it reads them in place (a run of
/// the part's units per gate).
fn gate_rows<'a>(
    (w, k): (&'a [f32], usize),
    g: usize,
    parts: &'a [Range<usize>],
    perm: &'a [usize],
    (steps, batch): (usize, usize),
    owner: Option<Owner>,
) -> PartWeights<'a> {
    let pack = move |p: usize| {
        let (col0, units) = (g * parts[p].start, parts[p].len());
        Packed::from_rows(g * units, k, |j| &w[perm[col0 + j] * k..][..k])
    };
    let layout = || {
        let ranges = parts.iter().flat_map(|p| [p.start, p.end]);
        [k, g].into_iter().chain(ranges).collect()
    };
    let cached = owner
        .filter(|_| steps > 1 || batch >= PACKED_STEP_ROWS)
        .and_then(|owner| packed_cache::blocks(owner, w, layout(), || Blocks::new(parts.len())));
    if let Some(blocks) = cached {
        return PartWeights::cached(blocks, pack);
    }
    if steps > 1 {
        return PartWeights::packed(parts.len(), pack);
    }
    let hidden = perm.len() / g;
    PartWeights::InPlace(
        parts
            .iter()
            .map(|p| {
                InPlace::rows(
                    w,
                    k,
                    (0..g).map(|q| q * hidden + p.start..q * hidden + p.end),
                )
            })
            .collect(),
    )
}

/// The projection of `h` in a run: `W_hr`, and where the gate math writes `h` before it.
struct Projection<'a> {
    /// `W_hr` `[P, H]` as one part's block: output columns `P`, inputs the hidden units.
    w_hr: PartWeights<'a>,
    /// `[steps * batch, hidden]`.
    unprojected: Writes<'a>,
}

struct ForwardCtx<'a, K> {
    cell: K,
    dims: Dims,
    parts: &'a [Range<usize>],
    /// What the input projection reads.
    x: InputRows<'a>,
    /// The time-major copy of `x` that each lane fills with its examples' rows, step by step
    /// (a training run split by examples).
    x_copy: Option<Writes<'a>>,
    /// Each part's rows of `W_ih` and of `W_hh` (rows permuted like the gates).
    w_ih: PartWeights<'a>,
    w_hh: PartWeights<'a>,
    /// With a projection: the lanes have every unit (see [`super::super::split`]).
    projection: Option<Projection<'a>>,
    /// `[G * hidden]`, permuted like the gates.
    bias: &'a [f32],
    /// The non-additive gates' `b_hh`, `[(G - A) * hidden]`, part by part.
    hidden_bias: &'a [f32],
    keep: &'a [bool],
    /// Steps whose input projection is computed at once.
    chunk: usize,
    /// When the backward pass needs them: the gates `[steps * batch, G * hidden]` and what
    /// the cell saves (`[steps * batch, SAVED * hidden]`) of every step.
    saved: Option<(Writes<'a>, Writes<'a>)>,
    /// The state's parts.
    states: Vec<States<'a, Writes<'a>>>,
}

/// The rows of a per-step quantity one part writes: row `r` of the sequence is row
/// `r % ring` of a buffer whose rows are `stride` apart, the part's values from column `col`.
#[derive(Clone, Copy)]
struct PartRows<'a> {
    at: Writes<'a>,
    stride: usize,
    col: usize,
    ring: usize,
}

impl PartRows<'_> {
    /// The offset of sequence row `row`'s part from the buffer's start.
    fn offset(self, row: usize) -> usize {
        (row % self.ring) * self.stride + self.col
    }
}

impl<K: GateMath> ForwardCtx<'_, K> {
    /// Step `t` for the units of the lane's part and its examples: at the start of each chunk,
    /// the chunk's input projections `x · W_ih[part's rows]ᵀ` (written where the gate math
    /// reads them, so it reads them from cache); then `h_t · W_hh[part's rows]ᵀ` into the first
    /// `[examples, G * units]` of `scratch`, and the cell's gate math for each example.
    ///
    /// Unless saved, the gates of the chunk's steps and what the cell saves of the step live
    /// in the rest of `scratch`. With a projection, the lane's rows of `h` are then its rows
    /// of the gate math's `h` times `W_hrᵀ`, in one multiply.
    fn step(&self, t: usize, lane: &Lane, scratch: &mut [f32]) {
        let part = self.parts[lane.part].clone();
        let examples = lane.examples.clone();
        let Dims {
            steps,
            batch,
            input,
            hidden,
            proj,
            ..
        } = self.dims;
        let g = K::GATES;
        let extra = g - K::ADDITIVE_HIDDEN_BIAS;
        let units = part.len();
        let width = g * units;
        let col0 = g * part.start;
        let (hh, rest) = scratch.split_at_mut(examples.len() * width);
        let (gates, values) = match self.saved {
            Some((gates, values)) => (
                PartRows {
                    at: gates,
                    stride: g * hidden,
                    col: col0,
                    ring: usize::MAX,
                },
                PartRows {
                    at: values,
                    stride: K::SAVED * hidden,
                    col: K::SAVED * part.start,
                    ring: usize::MAX,
                },
            ),
            None => {
                let (gates, values) = rest.split_at_mut(self.chunk * batch * width);
                (
                    PartRows {
                        at: Writes::of(gates),
                        stride: width,
                        col: 0,
                        ring: self.chunk * batch,
                    },
                    PartRows {
                        at: Writes::of(values),
                        stride: K::SAVED * units,
                        col: 0,
                        ring: batch,
                    },
                )
            }
        };
        // The lane's examples whose step `t` runs (in a padded run, those still running).
        let running = examples.start..running_end(self.keep, t, batch, &examples);
        if t.is_multiple_of(self.chunk) {
            // Contiguous rows: a chunk has several steps only when a lane has every example.
            let first = t * batch + examples.start;
            let rows = match self.chunk {
                1 => running.len(),
                chunk => chunk.min(steps - t) * batch,
            };
            if let Some(copy) = self.x_copy {
                for b in examples.clone() {
                    // SAFETY: row `t * batch + b` of the copy is this lane's alone (its
                    // examples), and nothing reads the copy during the run.
                    let row = unsafe { copy.slice_mut((t * batch + b) * input, input) };
                    row.copy_from_slice(self.x.row(t, b, input));
                }
            }
            // Rows `example` apart: within a step, or in a time-major `x` across steps.
            let x = &self.x.values[self.x.offset(t, examples.start)..];
            // SAFETY: `x` holds the `rows` rows `example` apart that the projection reads (the
            // rows of the chunk's steps for the lane's examples, in the input). The
            // destination rows, `gates.stride` apart from `dst`, are the lane's `width`
            // columns of those rows in the gates buffer: within it (`at` checks the first),
            // written by no other lane (other units or examples) and read by no one until the
            // lane's gate math below; they overlap neither `x` nor the weights.
            unsafe {
                let dst = gates.at.at(gates.offset(first));
                self.w_ih.multiply(
                    lane.part,
                    rows,
                    (x.as_ptr(), self.x.example),
                    (dst, gates.stride),
                    false,
                );
            }
        }
        // SAFETY: the lane's running examples' `h` before step `t`, `running.len()` (at most
        // `examples.len()`) rows of `proj` values, were written in an earlier round (or are
        // the initial state) and no lane writes them in this one; `hh` is the lane's own
        // scratch, `examples.len()` rows of `width`.
        unsafe {
            let first = RowAt {
                t,
                b: examples.start,
                batch,
            };
            let h = self.states[0].before(first, 0, running.len() * proj);
            self.w_hh.multiply(
                lane.part,
                running.len(),
                (h.as_ptr(), proj),
                (hh.as_mut_ptr(), width),
                false,
            );
        }
        let hh = &*hh;
        let bias = &self.bias[col0..col0 + width];
        let hidden_bias = &self.hidden_bias[extra * part.start..extra * part.end];
        for b in examples.clone() {
            let at = RowAt { t, b, batch };
            let row = t * batch + b;
            // The gate math writes `h` here: with a projection, the unprojected row.
            // SAFETY: the lane's units of its example's row of `h` after step `t`: this lane's
            // alone, read by no one else in this round.
            let h_next = unsafe {
                match &self.projection {
                    Some(p) => p.unprojected.slice_mut(row * hidden + part.start, units),
                    None => self.states[0]
                        .after
                        .slice_mut(self.states[0].after_row(at) + part.start, units),
                }
            };
            if !self.keep[row] {
                // Padding: a zero output (the final state is read from the last valid step);
                // with a projection, zeros to project.
                h_next.fill(0.0);
                continue;
            }
            let mut prev: [&[f32]; MAX_STATE_PARTS] = [&[]; MAX_STATE_PARTS];
            let mut next: [&mut [f32]; MAX_STATE_PARTS] = Default::default();
            next[0] = h_next;
            for (s, states) in self.states.iter().enumerate() {
                if s == 0 && self.projection.is_some() {
                    // A projecting cell's gate math does not read `h`, whose values are not
                    // its units' (`GateMath::PROJECTABLE`): left empty.
                    continue;
                }
                // SAFETY: the lane's units of its example's state before step `t` (written in
                // an earlier round, or initial) are written by no one in this round; those
                // after step `t` (other parts than `h`, taken above) are this lane's alone,
                // and read by no one else in this round.
                unsafe {
                    prev[s] = states.before(at, part.start, units);
                    if s > 0 {
                        next[s] = states
                            .after
                            .slice_mut(states.after_row(at) + part.start, units);
                    }
                }
            }
            // SAFETY: the lane's columns of its example's row of the gates and of the saved
            // values: this lane's alone (computed by it above, or in the chunk's projection),
            // read by no one else in this round.
            let (gates_row, saved) = unsafe {
                (
                    gates.at.slice_mut(gates.offset(row), width),
                    values.at.slice_mut(values.offset(row), K::SAVED * units),
                )
            };
            gate_math::forward(
                self.cell,
                ForwardStep {
                    gates: gates_row,
                    hidden: &hh[(b - examples.start) * width..][..width],
                    bias,
                    hidden_bias,
                    prev: &prev[..K::STATE_PARTS],
                    next: &mut next[..K::STATE_PARTS],
                    saved,
                },
            );
        }
        if let Some(projection) = &self.projection {
            let first = t * batch + examples.start;
            // SAFETY: the lane's examples' rows of the unprojected `h` after step `t` (all
            // units: a projected run's lanes have them all), written by this lane above and by
            // no one else, and its examples' rows of `h` after step `t` (`proj` values each),
            // this lane's alone and read by no one else in this round; the two buffers and
            // `W_hr` do not overlap.
            unsafe {
                let unprojected = projection
                    .unprojected
                    .slice_mut(first * hidden, examples.len() * hidden);
                let h = self.states[0]
                    .after
                    .slice_mut(first * proj, examples.len() * proj);
                projection.w_hr.multiply(
                    0,
                    examples.len(),
                    (unprojected.as_ptr(), hidden),
                    (h.as_mut_ptr(), proj),
                    false,
                );
            }
        }
    }
}

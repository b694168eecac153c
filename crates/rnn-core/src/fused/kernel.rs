//! The fused sequence kernel on host memory: the whole recurrence of one layer and direction,
//! forward and backward through time, for any [`CellKernel`].
//!
//! Layout: every per-step quantity is row-major `[n, features]` with `n = steps * batch`, time
//! then batch (the input's own time-major layout), so row `t * batch + b` is example `b` at
//! step `t`. The states `h` (and `c`) after each step are `[steps * batch, hidden]` (the
//! initial states stay in their own buffers), and `h` is the start of the packed output: the
//! outputs are the states, written in place. So a step (or a chunk of steps) is a contiguous
//! block of rows, the input projection of a chunk is one multiply, and the weight gradients
//! are one matmul each (two for `W_hh`: the initial state, then the others).
//!
//! The threads share a run in one of two ways (see [`split`]). With enough examples, each
//! thread runs the whole recurrence for its share of the examples, and the threads never wait
//! for each other. With few (a batch of 1 at decode time), the hidden units are split into
//! contiguous parts instead, one per thread, and the gate columns are permuted so that each
//! part's gates (all gates of its units) are contiguous: each step, every part multiplies the
//! previous state with its rows of `W_hh` and applies the cell's gate math to its own units, and
//! the parts meet once per step (the next step needs the whole state).
//! The input projection is computed a chunk of steps at a time, just before those steps, so
//! that the gate math reads it from cache: the projections of a whole sequence (6 MiB for a
//! GRU at batch 32 and hidden 256) would be read back from memory.
//! The backward pass mirrors this: per step, each thread backpropagates its units and examples
//! through the gate math, then takes their share of `dgates · W_hh`.

use std::ops::Range;
use std::sync::OnceLock;

use super::CellKernel;
use super::gates::{Backward, Forward};
use super::packed::Packed;
use super::pool;
use super::split::{Lane, Split, permutation, permuted_rows, split, unpermute_rows};
use super::strided::{Mat, MatMut, matmul};
use super::threads::{Ptr, in_lockstep, on_threads};

/// The forward pass projects the input of this many rows (steps × batch, rounded up to whole
/// steps) at a time: enough rows to fill the packed multiply's tiles.
const PROJECTED_ROWS: usize = 24;

/// Sizes of one fused run.
#[derive(Debug, Clone, Copy)]
pub(super) struct Dims {
    pub cell: CellKernel,
    /// Length of the input and output sequences.
    pub seq: usize,
    /// Steps computed (the longest valid length); later outputs are zero.
    pub steps: usize,
    pub batch: usize,
    pub input: usize,
    pub hidden: usize,
}

/// The inputs of a forward run, in the tensors' own (row-major) layouts: host copies, except `x`
/// and the weights, which the run only reads (borrowed from the tensors where they can be).
pub(super) struct Inputs<'a> {
    /// `[seq, batch, input]`.
    pub x: InputRows<'a>,
    /// `[G * H, input]`, PyTorch's gate order.
    pub w_ih: &'a [f32],
    /// `[G * H, H]`.
    pub w_hh: &'a [f32],
    /// `[G * H]` each (zeros for a cell without bias).
    pub b_ih: Vec<f32>,
    pub b_hh: Vec<f32>,
    /// `[batch, H]`; `c0` is only read for LSTM.
    pub h0: Vec<f32>,
    pub c0: Vec<f32>,
}

/// The input `x: [seq, batch, input]` as a run reads it: the `input` values of step `t` of
/// example `b` from `t * step + b * example` on in `values` (a time-major copy, or the tensor's
/// own memory in any layout with contiguous rows).
#[derive(Clone, Copy)]
pub(super) struct InputRows<'a> {
    pub values: &'a [f32],
    pub step: usize,
    pub example: usize,
}

impl<'a> InputRows<'a> {
    /// `values` in time-major order, `[seq, batch, input]` row-major.
    pub fn time_major(values: &'a [f32], batch: usize, input: usize) -> Self {
        Self {
            values,
            step: batch * input,
            example: input,
        }
    }

    /// The first value of step `t` of example `b`.
    fn at(&self, t: usize, b: usize) -> *const f32 {
        self.values[t * self.step + b * self.example..].as_ptr()
    }

    /// The `input` values of step `t` of example `b`.
    fn row(&self, t: usize, b: usize, input: usize) -> &'a [f32] {
        &self.values[t * self.step + b * self.example..][..input]
    }
}

/// The gradients of a backward run with respect to the seven inputs, in their layouts.
pub(super) struct Operands {
    /// `[seq, batch, input]`.
    pub x: Vec<f32>,
    /// `[G * H, input]`, PyTorch's gate order.
    pub w_ih: Vec<f32>,
    /// `[G * H, H]`.
    pub w_hh: Vec<f32>,
    /// `[G * H]` each (zeros for a cell without bias).
    pub b_ih: Vec<f32>,
    pub b_hh: Vec<f32>,
    /// `[batch, H]`; `c0` is only read for LSTM.
    pub h0: Vec<f32>,
    pub c0: Vec<f32>,
}

/// What the backward pass needs from the forward pass.
pub(super) struct Saved {
    dims: Dims,
    split: Split,
    /// Permuted row → PyTorch row.
    perm: Vec<usize>,
    x: Vec<f32>,
    w_ih: Vec<f32>,
    w_hh: Vec<f32>,
    keep: Vec<bool>,
    gates: Vec<f32>,
    /// A copy of the packed output: the states after each step (zero in the padding), then
    /// the final states.
    h: Vec<f32>,
    c: Vec<f32>,
    h0: Vec<f32>,
    c0: Vec<f32>,
    hn: Vec<f32>,
}

impl Drop for Saved {
    fn drop(&mut self) {
        for buffer in [
            &mut self.x,
            &mut self.w_ih,
            &mut self.w_hh,
            &mut self.gates,
            &mut self.h,
            &mut self.c,
            &mut self.h0,
            &mut self.c0,
            &mut self.hn,
        ] {
            pool::give(std::mem::take(buffer));
        }
    }
}

impl std::fmt::Debug for Saved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Saved").field("dims", &self.dims).finish()
    }
}

impl Operands {
    /// `[x, w_ih, w_hh, b_ih, b_hh, h0, c0]`.
    pub fn into_array(self) -> [Vec<f32>; 7] {
        [
            self.x, self.w_ih, self.w_hh, self.b_ih, self.b_hh, self.h0, self.c0,
        ]
    }
}

/// Rows of the packed output: the outputs, `h_n`, and for LSTM `c_n`.
pub(super) fn packed_rows(dims: &Dims) -> usize {
    dims.seq + 1 + usize::from(matches!(dims.cell, CellKernel::Lstm))
}

/// Runs the recurrence. Returns the packed output `[packed_rows, batch, H]`: rows
/// `0..seq` the outputs (zero in the padding), row `seq` the final hidden state, row `seq + 1`
/// the final cell state (LSTM); and, when `save`, what [`backward`] needs.
pub(super) fn forward(
    dims: Dims,
    inputs: Inputs<'_>,
    lengths: Option<&[usize]>,
    save: bool,
) -> (Vec<f32>, Option<Saved>) {
    let Dims {
        cell,
        seq,
        steps,
        batch,
        input,
        hidden,
    } = dims;
    let g = cell.gates();
    let gh = g * hidden;
    let n = steps * batch;
    let lstm = matches!(cell, CellKernel::Lstm);
    let gru = matches!(cell, CellKernel::Gru);

    let split = split(hidden, batch);
    let parts = &split.parts;
    let perm = permutation(g, hidden, parts);
    // GRU: `b_hh`'s n part is scaled by r, so it is added to the hidden projection instead.
    let bias: Vec<f32> = perm
        .iter()
        .map(|&r| {
            inputs.b_ih[r]
                + if gru && r >= 2 * hidden {
                    0.0
                } else {
                    inputs.b_hh[r]
                }
        })
        .collect();
    let bias_hn: Vec<f32> = if gru {
        inputs.b_hh[2 * hidden..].to_vec()
    } else {
        Vec::new()
    };
    let keep = keep_mask(lengths, steps, batch);

    // The gates (and GRU's `W_hn h + b_hn`) of every step when the backward pass needs them;
    // otherwise each lane keeps those of the current chunk of steps in its scratch.
    let chunk = if split.meet {
        PROJECTED_ROWS.div_ceil(batch).min(steps.max(1))
    } else {
        1
    };
    let all_steps = |width: usize| {
        if save {
            pool::take(n * width)
        } else {
            Vec::new()
        }
    };
    let mut gates = all_steps(gh);
    // The states after each step are the outputs: `h` is the packed output, whose rows
    // past the steps' are written after the loop.
    let mut h = pool::take(packed_rows(&dims) * batch * hidden);
    let mut c = if lstm {
        pool::take(n * hidden)
    } else {
        Vec::new()
    };
    let mut hn = if gru { all_steps(hidden) } else { Vec::new() };
    let mut scratch: Vec<Vec<f32>> = split
        .lanes
        .iter()
        .map(|lane| {
            let units = parts[lane.part].len();
            let unsaved = if save {
                0
            } else {
                chunk * batch * g * units + usize::from(gru) * batch * units
            };
            pool::take(lane.examples.len() * g * units + unsaved)
        })
        .collect();

    // `x` in time-major order on the host: for the backward pass, and for a split by hidden
    // units (the rows of a chunk of several steps must be evenly spaced) when `x` is not
    // time-major already. With a split by examples each thread copies its own rows, step by
    // step; otherwise it is copied here.
    let view = inputs.x;
    let time_major = view.example == input && view.step == batch * input;
    let mut x = if save || (split.meet && !time_major) {
        pool::take(seq * batch * input)
    } else {
        Vec::new()
    };
    let copy_in_lanes = save && !split.meet;
    if !x.is_empty() && !copy_in_lanes {
        for (r, row) in x.chunks_exact_mut(input).enumerate() {
            row.copy_from_slice(view.row(r / batch, r % batch, input));
        }
    }
    let x_copy = copy_in_lanes.then(|| Ptr::of_mut(&mut x));
    {
        let ctx = ForwardCtx {
            dims,
            parts,
            x: if split.meet && !time_major {
                InputRows::time_major(&x, batch, input)
            } else {
                view
            },
            x_copy,
            w_ih: gate_rows((inputs.w_ih, input), g, parts, &perm),
            w_hh: gate_rows((inputs.w_hh, hidden), g, parts, &perm),
            bias: &bias,
            bias_hn: &bias_hn,
            keep: &keep,
            chunk,
            saved: save.then(|| (Ptr::of_mut(&mut gates), Ptr::of_mut(&mut hn))),
            h: States::new(&inputs.h0, &mut h),
            c: States::new(&inputs.c0, &mut c),
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
        for_backward(inputs.w_hh, hidden),
    );

    // The outputs past the last step are zero; the final states are each example's states
    // after its last valid step.
    let (outputs, finals) = h.split_at_mut(seq * batch * hidden);
    outputs[n * hidden..].fill(0.0);
    let (finals_h, finals_c) = finals.split_at_mut(batch * hidden);
    for b in 0..batch {
        let valid = lengths.map_or(steps, |l| l[b]);
        let final_of = |after: &[f32], initial: &[f32], dst: &mut [f32]| {
            let src = match valid {
                0 => &initial[b * hidden..],
                v => &after[((v - 1) * batch + b) * hidden..],
            };
            dst[b * hidden..(b + 1) * hidden].copy_from_slice(&src[..hidden]);
        };
        final_of(outputs, &inputs.h0, finals_h);
        if lstm {
            final_of(&c, &inputs.c0, finals_c);
        }
    }
    let packed = if save {
        let mut copy = pool::take(h.len());
        copy.copy_from_slice(&h);
        copy
    } else {
        std::mem::take(&mut h)
    };
    let saved = Saved {
        dims,
        split,
        perm,
        x,
        w_ih,
        w_hh,
        keep,
        gates,
        h,
        c,
        h0: inputs.h0,
        c0: inputs.c0,
        hn,
    };
    // Unsaved buffers go back to the pool when `saved` drops.
    (packed, save.then_some(saved))
}

/// Backpropagates the gradient of the packed output (`[packed_rows, batch, H]`) through the
/// recurrence.
pub(super) fn backward(saved: &Saved, grad: &[f32]) -> Operands {
    let Dims {
        cell,
        seq,
        steps,
        batch,
        input,
        hidden,
    } = saved.dims;
    let g = cell.gates();
    let gh = g * hidden;
    let n = steps * batch;
    let lstm = matches!(cell, CellKernel::Lstm);
    let gru = matches!(cell, CellKernel::Gru);

    // The final-state gradients seed the carried ones.
    let final_grad = |row: usize| grad[row * batch * hidden..(row + 1) * batch * hidden].to_vec();
    let mut dh = final_grad(seq);
    let mut dc = if lstm {
        final_grad(seq + 1)
    } else {
        Vec::new()
    };
    let mut d_input = pool::take(n * gh);
    let mut d_hidden = if gru { pool::take(n * gh) } else { Vec::new() };

    let ctx = BackwardCtx {
        dims: saved.dims,
        parts: &saved.split.parts,
        // Each part's columns of `W_hh`, the weights of its units' state gradient.
        w_hh: PartWeights::new(saved.split.parts.len(), |p| {
            let part = &saved.split.parts[p];
            Packed::new(part.len(), gh, |j, r| {
                saved.w_hh[r * hidden + part.start + j]
            })
        }),
        keep: &saved.keep,
        gates: Ptr::of(&saved.gates),
        h: States {
            initial: Ptr::of(&saved.h0),
            after: Ptr::of(&saved.h),
        },
        c: States {
            initial: Ptr::of(&saved.c0),
            after: Ptr::of(&saved.c),
        },
        hn: Ptr::of(&saved.hn),
        d_out: Ptr::of(grad),
        dh: Ptr::of_mut(&mut dh),
        dc: Ptr::of_mut(&mut dc),
        d_input: Ptr::of_mut(&mut d_input),
        d_hidden: if gru {
            Ptr::of_mut(&mut d_hidden)
        } else {
            Ptr::of_mut(&mut d_input)
        },
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

    let d_hidden_or_input = if gru { &d_hidden } else { &d_input };
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
        Ptr::of_mut(&mut dw_hh),
        Ptr::of_mut(&mut dw_ih),
        Ptr::of_mut(&mut dx),
    );
    on_threads(threads, |share| {
        let rows = |len: usize| share * len / threads..(share + 1) * len / threads;
        let (g, t) = (rows(gh), rows(n));
        // `v` from element `offset` on (not read when the product is empty).
        let at = |v: &[f32], offset: usize| v.as_ptr().wrapping_add(offset);
        unsafe {
            // dW_hh = dgates_hᵀ · [h_0 .. h_{steps-1}]: the initial states (step 0), then the
            // states after steps 0 .. steps - 2.
            let dw_hh = MatMut(dw_hh_at.add(g.start * hidden), hidden as isize, 1);
            matmul(
                (g.len(), hidden, batch.min(n)),
                dw_hh,
                Mat(at(d_hidden_or_input, g.start), 1, gh as isize),
                Mat::new(&saved.h0, hidden as isize, 1),
                false,
            );
            matmul(
                (g.len(), hidden, n.saturating_sub(batch)),
                MatMut(dw_hh_at.add(g.start * hidden), hidden as isize, 1),
                Mat(
                    at(d_hidden_or_input, batch.min(n) * gh + g.start),
                    1,
                    gh as isize,
                ),
                Mat::new(&saved.h, hidden as isize, 1),
                true,
            );
            // dW_ih = dgates_xᵀ · x
            matmul(
                (g.len(), input, n),
                MatMut(dw_ih_at.add(g.start * input), input as isize, 1),
                Mat(at(&d_input, g.start), 1, gh as isize),
                Mat::new(&saved.x, input as isize, 1),
                false,
            );
            // dx = dgates_x · W_ih
            matmul(
                (t.len(), input, gh),
                MatMut(dx_at.add(t.start * input), input as isize, 1),
                Mat(at(&d_input, t.start * gh), gh as isize, 1),
                Mat::new(&saved.w_ih, input as isize, 1),
                false,
            );
        }
    });
    let perm = &saved.perm;
    // LSTM and Elman add `b_ih + b_hh` once, GRU's n gate adds `b_hh` inside r ⊙ (...).
    let grads = Operands {
        x: dx,
        w_ih: unpermute_rows(dw_ih, input, perm),
        w_hh: unpermute_rows(dw_hh, hidden, perm),
        b_ih: unpermute_rows(column_sums(&d_input, gh), 1, perm),
        b_hh: unpermute_rows(column_sums(d_hidden_or_input, gh), 1, perm),
        h0: dh,
        c0: if lstm { dc } else { vec![0.0; batch * hidden] },
    };
    for buffer in [d_input, d_hidden] {
        pool::give(buffer);
    }
    grads
}

/// Each part's rows of `w` (`[g * hidden, k]`, PyTorch's gate order): the weights of its gate
/// columns, in the permuted order.
fn gate_rows<'a>(
    (w, k): (&'a [f32], usize),
    g: usize,
    parts: &'a [Range<usize>],
    perm: &'a [usize],
) -> PartWeights<'a> {
    PartWeights::new(parts.len(), move |p| {
        let (col0, units) = (g * parts[p].start, parts[p].len());
        Packed::from_rows(g * units, k, |j| &w[perm[col0 + j] * k..][..k])
    })
}

/// `[steps * batch]`: whether step `t` is within example `b`'s length.
fn keep_mask(lengths: Option<&[usize]>, steps: usize, batch: usize) -> Vec<bool> {
    (0..steps)
        .flat_map(|t| (0..batch).map(move |b| (t, b)))
        .map(|(t, b)| lengths.is_none_or(|l| t < l[b]))
        .collect()
}

/// Each part's block of a weight matrix, packed by the thread that first runs the part: in
/// parallel, and into the cache of the core that reads it.
struct PartWeights<'a> {
    packed: Vec<OnceLock<Packed>>,
    pack: Box<dyn Fn(usize) -> Packed + Sync + 'a>,
}

impl<'a> PartWeights<'a> {
    /// `pack(part)` packs the block of part `part`.
    fn new(parts: usize, pack: impl Fn(usize) -> Packed + Sync + 'a) -> Self {
        Self {
            packed: (0..parts).map(|_| OnceLock::new()).collect(),
            pack: Box::new(pack),
        }
    }

    fn of(&self, part: usize) -> &Packed {
        self.packed[part].get_or_init(|| (self.pack)(part))
    }
}

struct ForwardCtx<'a> {
    dims: Dims,
    parts: &'a [Range<usize>],
    /// What the input projection reads.
    x: InputRows<'a>,
    /// The time-major copy of `x` that each lane fills with its examples' rows, step by step
    /// (a training run split by examples).
    x_copy: Option<Ptr>,
    /// Each part's rows of `W_ih` and of `W_hh` (rows permuted like the gates).
    w_ih: PartWeights<'a>,
    w_hh: PartWeights<'a>,
    bias: &'a [f32],
    bias_hn: &'a [f32],
    keep: &'a [bool],
    /// Steps whose input projection is computed at once.
    chunk: usize,
    /// When the backward pass needs them: the gates `[steps * batch, G * hidden]` and, for
    /// GRU, `W_hn h + b_hn` (`[steps * batch, hidden]`) of every step.
    saved: Option<(Ptr, Ptr)>,
    h: States,
    c: States,
}

/// The rows of a per-step quantity one part writes: row `r` of the sequence is row
/// `r % ring` of a buffer whose rows are `stride` apart, the part's values from column `col`.
#[derive(Clone, Copy)]
struct PartRows {
    at: Ptr,
    stride: usize,
    col: usize,
    ring: usize,
}

impl PartRows {
    /// The offset of sequence row `row`'s part from the buffer's start.
    fn offset(self, row: usize) -> usize {
        (row % self.ring) * self.stride + self.col
    }

    /// `len` values of sequence row `row` from the part's column `offset`.
    ///
    /// # Safety
    /// As [`Ptr::row`].
    unsafe fn get<'a>(self, row: usize, offset: usize, len: usize) -> &'a mut [f32] {
        unsafe { self.at.row(self.offset(row) + offset, len) }
    }
}

impl ForwardCtx<'_> {
    /// Step `t` for the units of the lane's part and its examples: at the start of each chunk,
    /// the chunk's input projections `x · W_ih[part's rows]ᵀ` (written where the gate math
    /// reads them, so it reads them from cache); then `h_t · W_hh[part's rows]ᵀ` into the first
    /// `[examples, G * units]` of `scratch`, and the cell's gate math for each example.
    ///
    /// Unless saved, the gates of the chunk's steps and GRU's `W_hn h + b_hn` of the step
    /// live in the rest of `scratch`.
    fn step(&self, t: usize, lane: &Lane, scratch: &mut [f32]) {
        let part = self.parts[lane.part].clone();
        let examples = lane.examples.clone();
        let Dims {
            cell,
            steps,
            batch,
            input,
            hidden,
            ..
        } = self.dims;
        let g = cell.gates();
        let units = part.len();
        let width = g * units;
        let col0 = g * part.start;
        let lstm = matches!(cell, CellKernel::Lstm);
        let gru = matches!(cell, CellKernel::Gru);
        let (hh, rest) = scratch.split_at_mut(examples.len() * width);
        let (gates, hn) = match self.saved {
            Some((gates, hn)) => (
                PartRows {
                    at: gates,
                    stride: g * hidden,
                    col: col0,
                    ring: usize::MAX,
                },
                PartRows {
                    at: hn,
                    stride: hidden,
                    col: part.start,
                    ring: usize::MAX,
                },
            ),
            None => {
                let (gates, hn) = rest.split_at_mut(self.chunk * batch * width);
                (
                    PartRows {
                        at: Ptr::of_mut(gates),
                        stride: width,
                        col: 0,
                        ring: self.chunk * batch,
                    },
                    PartRows {
                        at: Ptr::of_mut(hn),
                        stride: units,
                        col: 0,
                        ring: batch,
                    },
                )
            }
        };
        unsafe {
            if t.is_multiple_of(self.chunk) {
                // Contiguous rows: a chunk has several steps only when a lane has every
                // example.
                let first = t * batch + examples.start;
                let rows = match self.chunk {
                    1 => examples.len(),
                    chunk => chunk.min(steps - t) * batch,
                };
                if let Some(copy) = self.x_copy {
                    for b in examples.clone() {
                        let row = copy.row((t * batch + b) * input, input);
                        row.copy_from_slice(self.x.row(t, b, input));
                    }
                }
                // Rows `example` apart: within a step, or in a time-major `x` across steps.
                let x = (self.x.at(t, examples.start), self.x.example);
                let dst = gates.at.add(gates.offset(first));
                let w_ih = self.w_ih.of(lane.part);
                w_ih.multiply(rows, x, (dst, gates.stride), false);
            }
            let (h, row) = self.h.before(t, examples.start, batch);
            let h = h.add(row * hidden);
            let w_hh = self.w_hh.of(lane.part);
            let rows = examples.len();
            w_hh.multiply(rows, (h, hidden), (hh.as_mut_ptr(), width), false);
        }
        let hh = &*hh;
        // `part`'s units of row `row` of a `[rows, hidden]` buffer (empty when `on` is false).
        let units_of = |(p, row): (Ptr, usize), on: bool| unsafe {
            p.row(row * hidden + part.start, if on { units } else { 0 })
        };
        for b in examples.clone() {
            let row = t * batch + b;
            if !self.keep[row] {
                // Padding: a zero output (the final state is read from the last valid step).
                units_of(self.h.after(t, b, batch), true).fill(0.0);
                continue;
            }
            let gate =
                |k: usize| unsafe { gates.get(row, k * units, if k < g { units } else { 0 }) };
            let hidden_row = &hh[(b - examples.start) * width..][..width];
            let bias = &self.bias[col0..col0 + width];
            // Gate `k`'s units of a part-wide row (empty past the cell's gates).
            fn of_gate(v: &[f32], k: usize, units: usize) -> &[f32] {
                v.get(k * units..(k + 1) * units).unwrap_or(&[])
            }
            cell.forward(Forward {
                gates: [gate(0), gate(1), gate(2), gate(3)],
                hidden: [0, 1, 2, 3].map(|k| of_gate(hidden_row, k, units)),
                bias: [0, 1, 2, 3].map(|k| of_gate(bias, k, units)),
                bias_hn: if gru {
                    &self.bias_hn[part.clone()]
                } else {
                    &[]
                },
                h_prev: units_of(self.h.before(t, b, batch), true),
                h_next: units_of(self.h.after(t, b, batch), true),
                c_prev: units_of(self.c.before(t, b, batch), lstm),
                c_next: units_of(self.c.after(t, b, batch), lstm),
                hn: unsafe { hn.get(row, 0, if gru { units } else { 0 }) },
            });
        }
    }
}

/// The states of one run: the initial states `[batch, hidden]`, and the states after each
/// step `t` in rows `t * batch ..` of another buffer.
#[derive(Clone, Copy)]
struct States {
    initial: Ptr,
    after: Ptr,
}

impl States {
    fn new(initial: &[f32], after: &mut [f32]) -> Self {
        Self {
            initial: Ptr::of(initial),
            after: Ptr::of_mut(after),
        }
    }

    /// The buffer and row of example `b`'s state before step `t`.
    fn before(self, t: usize, b: usize, batch: usize) -> (Ptr, usize) {
        match t {
            0 => (self.initial, b),
            t => self.after(t - 1, b, batch),
        }
    }

    /// The buffer and row of example `b`'s state after step `t`.
    fn after(self, t: usize, b: usize, batch: usize) -> (Ptr, usize) {
        (self.after, t * batch + b)
    }
}

struct BackwardCtx<'a> {
    dims: Dims,
    parts: &'a [Range<usize>],
    /// Each part's columns of `W_hh` (rows permuted like the gates).
    w_hh: PartWeights<'a>,
    keep: &'a [bool],
    gates: Ptr,
    h: States,
    c: States,
    hn: Ptr,
    /// Gradient of the packed output: its first `n` rows are the outputs'.
    d_out: Ptr,
    dh: Ptr,
    dc: Ptr,
    d_input: Ptr,
    /// Same buffer as `d_input` except for GRU.
    d_hidden: Ptr,
}

impl BackwardCtx<'_> {
    /// Adds `dgates_h(t) · W_hh[:, part]` to the carried state gradient of the lane's units and
    /// examples.
    fn recur(&self, t: usize, lane: &Lane) {
        let (part, examples) = (&self.parts[lane.part], &lane.examples);
        let Dims {
            cell,
            batch,
            hidden,
            ..
        } = self.dims;
        let gh = cell.gates() * hidden;
        let w_hh = self.w_hh.of(lane.part);
        unsafe {
            let d_hidden = self.d_hidden.add((t * batch + examples.start) * gh);
            let dh = self.dh.add(examples.start * hidden + part.start);
            w_hh.multiply(examples.len(), (d_hidden, gh), (dh, hidden), true);
        }
    }

    /// Backpropagates step `t` through the gate math of the lane's units and examples.
    fn step(&self, t: usize, lane: &Lane) {
        let part = &self.parts[lane.part];
        let Dims {
            cell,
            batch,
            hidden,
            ..
        } = self.dims;
        let g = cell.gates();
        let gh = g * hidden;
        let units = part.len();
        let col0 = g * part.start;
        let lstm = matches!(cell, CellKernel::Lstm);
        let gru = matches!(cell, CellKernel::Gru);
        let units_of = |(p, row): (Ptr, usize), on: bool| unsafe {
            p.row(row * hidden + part.start, if on { units } else { 0 })
        };
        for b in lane.examples.clone() {
            let row = t * batch + b;
            let gates_of = |p: Ptr, on: bool| -> [&mut [f32]; 4] {
                std::array::from_fn(|k| unsafe {
                    p.row(
                        row * gh + col0 + k * units,
                        if on && k < g { units } else { 0 },
                    )
                })
            };
            let mut d_input = gates_of(self.d_input, true);
            let mut d_hidden = gates_of(self.d_hidden, gru);
            if !self.keep[row] {
                // Padding: no gradient reaches the gates; the state's gradient is carried.
                for d in d_input.iter_mut().chain(d_hidden.iter_mut()) {
                    d.fill(0.0);
                }
                continue;
            }
            let dh = units_of((self.dh, b), true);
            for (d, o) in dh.iter_mut().zip(units_of((self.d_out, row), true).iter()) {
                *d += o;
            }
            cell.backward(Backward {
                gates: gates_of(self.gates, true).map(|r| &*r),
                d_input,
                d_hidden,
                dh,
                dc: units_of((self.dc, b), lstm),
                h_prev: units_of(self.h.before(t, b, batch), true),
                h_next: units_of(self.h.after(t, b, batch), true),
                c_prev: units_of(self.c.before(t, b, batch), lstm),
                c_next: units_of(self.c.after(t, b, batch), lstm),
                hn: units_of((self.hn, row), gru),
            });
        }
    }
}

/// Sums of the columns of `m` (`width` values per row), adding whole rows at a time (which
/// the compiler vectorises).
fn column_sums(m: &[f32], width: usize) -> Vec<f32> {
    let mut sums = vec![0.0f32; width];
    for row in m.chunks_exact(width) {
        for (s, v) in sums.iter_mut().zip(row) {
            *s += v;
        }
    }
    sums
}

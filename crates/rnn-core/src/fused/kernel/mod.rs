//! The fused sequence kernel on host memory: the whole recurrence of one layer and direction,
//! forward ([`forward`]) and backward through time ([`backward`]), for any cell's
//! [`GateMath`].
//!
//! Layout: every per-step quantity is row-major `[n, features]` with `n = steps * batch`, time
//! then batch (the input's own time-major layout), so row `t * batch + b` is example `b` at
//! step `t`. Each part of the state (`h`, and an LSTM's `c`) after each step is
//! `[steps * batch, width]` (the initial states stay in their own buffer), and `h` is the
//! start of the packed output: the outputs are the states, written in place. The width is
//! `hidden`, except `h`'s with a projection (an LSTM's `proj_size`, `P`): the gate math then
//! writes the unprojected `h` (`[steps * batch, hidden]`), and each step projects its rows
//! into `h` with one multiply, which needs all of the hidden units (see [`super::split`]).
//! So a step (or a chunk of steps) is a contiguous block of rows, the input projection of a chunk is one
//! multiply, and the weight gradients are one matmul each (two for `W_hh`: the initial state,
//! then the others).
//!
//! The threads share a run in one of two ways (see [`super::split`]). With enough examples,
//! each thread runs the whole recurrence for its share of the examples, and the threads never
//! wait for each other. With few (a batch of 1 at decode time), the hidden units are split
//! into contiguous parts instead, one per thread, and the gate columns are permuted so that
//! each part's gates (all gates of its units) are contiguous: each step, every part multiplies
//! the previous state with its rows of `W_hh` and applies the cell's gate math to its own
//! units, and the parts meet once per step (the next step needs the whole state).
//! The input projection is computed a chunk of steps at a time, just before those steps, so
//! that the gate math reads it from cache: the projections of a whole sequence (6 MiB for a
//! GRU at batch 32 and hidden 256) would be read back from memory.
//! The backward pass mirrors this: per step, each thread backpropagates its units and examples
//! through the gate math, then takes their share of `dgates · W_hh`.
//!
//! A padded batch runs its examples in order of length ([`order`]): each step multiplies only
//! the rows of the examples still running, as PyTorch's packed sequences do.

mod backward;
mod forward;
mod order;
mod saved;

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use super::dot;
use super::gate_math::GateMath;
use super::packed::Packed;
use super::packed_cache::Owner;
use super::shared::{ReadView, Reads};
use super::strided::{Mat, MatMut, matmul};
pub(super) use saved::Saved;

/// Sizes of one fused run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dims {
    /// Length of the input and output sequences.
    pub seq: usize,
    /// Steps computed (the longest valid length); later outputs are zero.
    pub steps: usize,
    pub batch: usize,
    pub input: usize,
    pub hidden: usize,
    /// The size of `h` (the outputs): the projection's, or `hidden` without one.
    pub proj: usize,
}

impl Dims {
    /// The width of state part `s`: `h`'s is `proj`, the others' `hidden`.
    fn width(&self, s: usize) -> usize {
        if s == 0 { self.proj } else { self.hidden }
    }

    /// Where state part `s` starts in a state of every part flattened (`[batch, width]` each).
    fn state_offset(&self, s: usize) -> usize {
        (0..s).map(|k| self.batch * self.width(k)).sum()
    }
}

/// The inputs of a forward run, in the tensors' own (row-major) layouts: host copies, except `x`
/// and the weights, which the run only reads (borrowed from the tensors where they can be).
pub(crate) struct Inputs<'a> {
    /// `[seq, batch, input]`.
    pub x: InputRows<'a>,
    /// `[G * H, input]`, PyTorch's gate order.
    pub w_ih: &'a [f32],
    /// `[G * H, P]`.
    pub w_hh: &'a [f32],
    /// `[G * H]` each (zeros for a cell without bias).
    pub b_ih: Vec<f32>,
    pub b_hh: Vec<f32>,
    /// The projection of `h`, `[P, H]`; empty without one.
    pub w_hr: &'a [f32],
    /// The initial state's parts (`S` = [`GateMath::STATE_PARTS`]) flattened: `h: [batch, P]`,
    /// then the others, `[batch, H]` each.
    pub state: Vec<f32>,
    /// The tensors of `W_ih` and `W_hh` where their values are read in place: a run of one
    /// step keeps them packed between calls ([`packed_cache`](super::packed_cache)).
    pub owners: [Option<Owner>; 2],
}

/// The input `x: [seq, batch, input]` as a run reads it: the `input` values of step `t` of
/// example `b` from `t * step + b * example` on in `values` (a time-major copy, or the tensor's
/// own memory in any layout with contiguous rows).
#[derive(Clone, Copy)]
pub(crate) struct InputRows<'a> {
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

    /// The offset in `values` of the first value of step `t` of example `b`.
    fn offset(&self, t: usize, b: usize) -> usize {
        t * self.step + b * self.example
    }

    /// The `input` values of step `t` of example `b`.
    fn row(&self, t: usize, b: usize, input: usize) -> &'a [f32] {
        &self.values[self.offset(t, b)..][..input]
    }
}

/// The gradients of a backward run with respect to the seven inputs, in their layouts.
pub(crate) struct Operands {
    /// `[seq, batch, input]`.
    pub x: Vec<f32>,
    /// `[G * H, input]`, PyTorch's gate order.
    pub w_ih: Vec<f32>,
    /// `[G * H, P]`.
    pub w_hh: Vec<f32>,
    /// `[G * H]` each (zeros for a cell without bias).
    pub b_ih: Vec<f32>,
    pub b_hh: Vec<f32>,
    /// `[P, H]`; empty without a projection.
    pub w_hr: Vec<f32>,
    /// As [`Inputs::state`].
    pub state: Vec<f32>,
}

impl Operands {
    /// `[x, w_ih, w_hh, b_ih, b_hh, w_hr, state]`.
    pub fn into_array(self) -> [Vec<f32>; 7] {
        [
            self.x, self.w_ih, self.w_hh, self.b_ih, self.b_hh, self.w_hr, self.state,
        ]
    }
}

/// A cell's gate math with the kernel driver compiled for it: what the backend extension
/// runs, without knowing the cell.
pub(crate) trait FusedCell: Send + Sync + std::fmt::Debug {
    /// Parts of the state (`h`, then the cell's others).
    fn state_parts(&self) -> usize;

    /// The cell's gate math in the CubeCL kernels, if it has one.
    #[cfg(feature = "wgpu")]
    fn cube_math(&self) -> Option<super::cube::CubeMath>;

    /// Runs the recurrence; `run` says whether to save what the backward pass needs, and the
    /// outputs' layout. Returns the packed output: the outputs in that layout (zero in the
    /// padding), then the final state's parts flattened as [`Inputs::state`]; and the saved
    /// run when asked (whose gradient comes in the same layout).
    fn forward(
        &self,
        dims: Dims,
        inputs: Inputs<'_>,
        lengths: Option<&[usize]>,
        run: (bool, OutputLayout),
    ) -> (Vec<f32>, Option<Arc<dyn SavedRun>>);
}

/// How a packed output holds the outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputLayout {
    /// `[seq, batch, P]`: as the run keeps them (no copy when nothing is saved).
    TimeMajor,
    /// `[batch, seq, P]`: what a batch-first caller reads contiguously.
    BatchMajor,
}

/// What a forward run saved, ready to backpropagate.
pub(crate) trait SavedRun: Send + Sync + std::fmt::Debug {
    /// Backpropagates the gradient of the packed output (as [`FusedCell::forward`]'s) through
    /// the recurrence.
    fn backward(&self, grad: &[f32]) -> Operands;
}

impl<K: GateMath> FusedCell for K {
    fn state_parts(&self) -> usize {
        K::STATE_PARTS
    }

    #[cfg(feature = "wgpu")]
    fn cube_math(&self) -> Option<super::cube::CubeMath> {
        GateMath::cube_math(*self)
    }

    fn forward(
        &self,
        dims: Dims,
        inputs: Inputs<'_>,
        lengths: Option<&[usize]>,
        run: (bool, OutputLayout),
    ) -> (Vec<f32>, Option<Arc<dyn SavedRun>>) {
        let (packed, saved) = forward::forward(*self, dims, inputs, lengths, run);
        (packed, saved.map(|s| Arc::new(s) as Arc<dyn SavedRun>))
    }
}

impl<K: GateMath> SavedRun for Saved<K> {
    fn backward(&self, grad: &[f32]) -> Operands {
        backward::backward(self, grad)
    }
}

/// `[steps * batch]`: whether step `t` is within example `b`'s length.
fn keep_mask(lengths: Option<&[usize]>, steps: usize, batch: usize) -> Vec<bool> {
    (0..steps)
        .flat_map(|t| (0..batch).map(move |b| (t, b)))
        .map(|(t, b)| lengths.is_none_or(|l| t < l[b]))
        .collect()
}

/// One past the last of `examples` still running at step `t` (the step is within its
/// length): a step computes the examples before it. In a run's order ([`order`]) those are
/// all running, and the padding of the others comes after them.
fn running_end(keep: &[bool], t: usize, batch: usize, examples: &Range<usize>) -> usize {
    let first_row = t * batch;
    examples
        .clone()
        .rev()
        .find(|&b| keep[first_row + b])
        .map_or(examples.start, |b| b + 1)
}

/// Each part's block of a weight matrix, as the part's multiplies read it.
enum PartWeights<'a> {
    /// Packed by the thread that first runs the part: in parallel, and into the cache of the
    /// core that reads it. A run of several steps multiplies each block at every step.
    Packed {
        packed: Arc<Blocks>,
        pack: Box<dyn Fn(usize) -> Packed + Sync + 'a>,
    },
    /// Each part's block read where it is ([`InPlace`]): a run of one step (a decoder's step)
    /// of a few examples, or whose weights cannot be kept packed between steps, multiplies
    /// each block once, and packing it would cost more than that multiply.
    InPlace(Vec<InPlace<'a>>),
}

impl<'a> PartWeights<'a> {
    /// `pack(part)` packs the block of part `part`.
    fn packed(parts: usize, pack: impl Fn(usize) -> Packed + Sync + 'a) -> Self {
        Self::cached(Blocks::new(parts).into(), pack)
    }

    /// `pack(part)` packs the block of part `part` into `packed` unless an earlier run did.
    fn cached(packed: Arc<Blocks>, pack: impl Fn(usize) -> Packed + Sync + 'a) -> Self {
        Self::Packed {
            packed,
            pack: Box::new(pack),
        }
    }

    /// `dst[b][j] (+)= Σ_i a[b][i] · W(j, i)` for `b < rows` with part `part`'s block `W`, as
    /// [`Packed::multiply`].
    ///
    /// # Safety
    /// As [`Packed::multiply`].
    unsafe fn multiply(
        &self,
        part: usize,
        rows: usize,
        a: (*const f32, usize),
        dst: (*mut f32, usize),
        accumulate: bool,
    ) {
        match self {
            Self::Packed { packed, pack } => {
                let block = packed.0[part].get_or_init(|| pack(part));
                // SAFETY: the caller's, whose views are laid out for the part's `k` inputs and
                // columns: `pack(part)` packs exactly those (and a cached block is reused only
                // under a key holding `[k, g, parts]`).
                unsafe { block.multiply(rows, a, dst, accumulate) }
            }
            // SAFETY: the caller's; the blocks read the part's weights in place with its `k`
            // and columns (`Strided` asserts they lie inside the weights).
            Self::InPlace(blocks) => unsafe { blocks[part].multiply(rows, a, dst, accumulate) },
        }
    }
}

/// Each part's packed block, packed by the first run that multiplies it.
pub(super) struct Blocks(Vec<OnceLock<Packed>>);

impl Blocks {
    fn new(parts: usize) -> Self {
        Self((0..parts).map(|_| OnceLock::new()).collect())
    }
}

/// A block of a weight matrix read in place, as runs `(first, weights)` of its output
/// columns: the columns of `weights` are the block's output columns from `first` on.
struct InPlace<'a> {
    runs: Vec<(usize, Strided<'a>)>,
}

impl<'a> InPlace<'a> {
    /// The block whose output columns are the weight rows `rows` (one run per range) of the
    /// row-major `[_, k]` matrix `w`.
    fn rows(w: &'a [f32], k: usize, rows: impl IntoIterator<Item = Range<usize>>) -> Self {
        let mut first = 0;
        let runs = rows
            .into_iter()
            .map(|r| {
                let run = (
                    first,
                    Strided::new(&w[r.start * k..r.end * k], r.len(), k, (k, 1)),
                );
                first += r.len();
                run
            })
            .collect();
        Self { runs }
    }

    /// As [`Packed::multiply`], a run at a time.
    ///
    /// # Safety
    /// As [`Packed::multiply`], for `dst` rows as wide as the block's columns.
    unsafe fn multiply(
        &self,
        rows: usize,
        a: (*const f32, usize),
        (dst, dst_stride): (*mut f32, usize),
        accumulate: bool,
    ) {
        for (first, run) in &self.runs {
            // SAFETY: the run's columns are columns `first..` of the block, within `dst`'s
            // rows (the caller's); the rest is the caller's.
            unsafe { run.multiply(rows, a, (dst.add(*first), dst_stride), accumulate) }
        }
    }
}

/// A weight matrix read in place: element `W(j, i)` (output column `j < columns`, input
/// `i < k`) at `j * column_stride + i * k_stride` in `w`.
struct Strided<'a> {
    w: &'a [f32],
    columns: usize,
    k: usize,
    column_stride: usize,
    k_stride: usize,
}

impl<'a> Strided<'a> {
    /// `columns` columns of `k` weights at strides `(column_stride, k_stride)` in `w`.
    ///
    /// # Panics
    /// If `w` does not hold them all.
    fn new(
        w: &'a [f32],
        columns: usize,
        k: usize,
        (column_stride, k_stride): (usize, usize),
    ) -> Self {
        let last = (columns.max(1) - 1) * column_stride + (k.max(1) - 1) * k_stride;
        assert!(
            columns * k == 0 || last < w.len(),
            "the weights hold every element"
        );
        Self {
            w,
            columns,
            k,
            column_stride,
            k_stride,
        }
    }

    /// As [`Packed::multiply`]: weights contiguous along `k` (a weight matrix's rows) through
    /// our dot-product tiles ([`dot`]), others through `gemm`.
    ///
    /// # Safety
    /// As [`Packed::multiply`].
    unsafe fn multiply(
        &self,
        rows: usize,
        (a, a_stride): (*const f32, usize),
        (dst, dst_stride): (*mut f32, usize),
        accumulate: bool,
    ) {
        if self.k_stride == 1 && rows <= dot::MOST_ROWS {
            // SAFETY: as below; `w` holds `columns` rows of `k` contiguous values
            // `column_stride` apart.
            return unsafe {
                dot::multiply(
                    (rows, self.columns, self.k),
                    (a, a_stride),
                    (self.w.as_ptr(), self.column_stride),
                    (dst, dst_stride),
                    accumulate,
                )
            };
        }
        // SAFETY: `a` covers `rows` rows of `k` values `a_stride` apart and `dst` `rows` rows
        // of `columns` values `dst_stride` apart (the caller's), not overlapping each other or
        // `w`; the weights' `k × columns` elements lie inside `w` (asserted by `new`).
        unsafe {
            matmul(
                (rows, self.columns, self.k),
                MatMut(dst, dst_stride as isize, 1),
                Mat(a, a_stride as isize, 1),
                Mat(
                    self.w.as_ptr(),
                    self.k_stride as isize,
                    self.column_stride as isize,
                ),
                accumulate,
            )
        }
    }
}

/// One part of the state over a run: its initial values (`[batch, width]` from offset
/// `initial.1` of `initial.0`), and its values after each step `t` in rows `t * batch ..` of
/// `after` (a read or a write view), `width` values per row.
#[derive(Clone, Copy)]
struct States<'a, P> {
    initial: (Reads<'a>, usize),
    after: P,
    width: usize,
}

impl<P: ReadView> States<'_, P> {
    /// `len` values from unit `unit` of example `b`'s state before step `t`.
    ///
    /// # Safety
    /// As [`ReadView::slice`]: nothing writes them during `'a`.
    unsafe fn before<'a>(&self, at: RowAt, unit: usize, len: usize) -> &'a [f32] {
        let RowAt { t, b, batch, .. } = at;
        let width = self.width;
        // SAFETY: the caller's.
        unsafe {
            match t {
                0 => (self.initial.0).slice(self.initial.1 + b * width + unit, len),
                t => self.after.slice(((t - 1) * batch + b) * width + unit, len),
            }
        }
    }

    /// The offset in `after` of example `b`'s row after step `t`.
    fn after_row(&self, at: RowAt) -> usize {
        (at.t * at.batch + at.b) * self.width
    }
}

/// Example `b` at step `t` of a run over `batch` examples.
#[derive(Clone, Copy)]
struct RowAt {
    t: usize,
    b: usize,
    batch: usize,
}

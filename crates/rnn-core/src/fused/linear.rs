//! Dense layers, `y = x W + b` (Burn's `Linear`), as one operation on the CPU backends
//! (ndarray, flex): the weights packed once per call into the panels that the fused kernels'
//! multiply reads ([`Packed`]), the rows shared between the kernel threads, and under autodiff
//! one graph node whose backward pass computes `dx = dy Wᵀ`, `dW = xᵀ dy` and `db = Σ dy` the
//! same way. Burn's matmul on these backends (`gemm` on flex, `matrixmultiply` on ndarray)
//! packs the weights at every call (for some 3-D inputs, once per batch entry), and its
//! multiply is slower than ours at the shapes of a model's heads (a few thousand rows, a few
//! hundred inputs: the output layer over a vocabulary, attention's projections).

use std::cell::Cell;

#[cfg(feature = "flex")]
use burn::backend::Flex;
#[cfg(feature = "ndarray")]
use burn::backend::NdArray;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, NodeGuard, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, TensorMetadata, backend_extension};
use burn::tensor::{DType, Tensor, TensorData};

use super::host::{read, with_matrix, with_values};
use super::packed::Packed;
use super::packed_cache::{self, Owner};
use super::pool;
use super::shared::Writes;
use super::threads::{kernel_threads, on_threads};

/// `x · weight + bias`.
#[backend_extension(NdArray: cfg(feature = "ndarray"), Flex: cfg(feature = "flex"), Autodiff)]
pub(crate) trait FusedLinear: Backend {
    /// `x: [rows, in]` times `weight: [in, out]` plus `bias: [out]`: `[rows, out]`. A `[0]`
    /// bias is none. With `keep`, the packed weights are kept for the next call with the same
    /// weights ([`packed_cache`]).
    fn fused_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        keep: bool,
    ) -> FloatTensor<Self>;
}

/// Multiply-adds worth a thread of their own: the second thread is started per call, which
/// costs more than it saves below this.
const WORK_PER_SHARE: usize = 1 << 22;

/// Fewest rows whose product pays for packing the weights (a copy of them all) at every call:
/// fewer rows (a small batch) go through Burn's matmul, which reads them in place.
const FUSED_FROM_ROWS: usize = 128;

/// Fewest rows whose product pays for packing the weights once and keeping them between
/// calls (inference: a decoder's steps multiply the same weights), for at most
/// [`KEPT_MOST_INPUTS`] inputs: with more, Burn's matmul (blocked over the inputs) is faster
/// at a decoder's few rows than our panels, which read every row's inputs for each panel.
const KEPT_FROM_ROWS: usize = 16;

/// Most inputs of a layer whose product reads kept packed weights below [`FUSED_FROM_ROWS`]
/// rows.
const KEPT_MOST_INPUTS: usize = 256;

/// A weight matrix in place: element `(i, j)` at `i * strides[0] + j * strides[1]`.
#[derive(Clone, Copy)]
struct Matrix<'a> {
    values: &'a [f32],
    strides: [usize; 2],
}

impl Matrix<'_> {
    /// This `[m, n]` matrix (`transposed`: its transpose) as the right operand of a product:
    /// `n` output columns of `m` inputs (transposed: `m` of `n`), packed.
    fn packed(self, [m, n]: [usize; 2], transposed: bool) -> Packed {
        let [s0, s1] = self.strides;
        match transposed {
            false if s1 == 1 => Packed::from_inputs(n, m, self.values, s0),
            true if s0 == 1 => Packed::from_inputs(m, n, self.values, s1),
            false => Packed::new(n, m, |j, i| self.values[i * s0 + j * s1]),
            true => Packed::new(m, n, |j, i| self.values[j * s0 + i * s1]),
        }
    }
}

/// `dst [rows, columns] = a [rows, k] · w` for `w` packed as `columns × k`, `a`'s rows
/// `a_stride` apart, the rows shared between kernel threads.
///
/// # Panics
/// If `a` or `dst` is too short for those rows, or `w` is not `columns × k`.
fn multiply(
    w: &Packed,
    (rows, columns, k): (usize, usize, usize),
    (a, a_stride): (&[f32], usize),
    dst: &mut [f32],
) {
    if rows == 0 || columns == 0 {
        return;
    }
    assert!(
        w.dims() == (columns, k)
            && a.len() >= (rows - 1) * a_stride + k
            && dst.len() >= rows * columns,
        "the operands hold every row, and `w` is `columns × k`"
    );
    let shares = (rows * columns * k / WORK_PER_SHARE).clamp(1, kernel_threads().min(rows));
    let out = Writes::of(dst);
    on_threads(shares, |share| {
        let (first, end) = (share * rows / shares, (share + 1) * rows / shares);
        // SAFETY: rows `first..end` of `dst` are this share's alone (the shares' row ranges are
        // disjoint) and nothing reads them during the run.
        let dst = unsafe { out.slice_mut(first * columns, (end - first) * columns) };
        // SAFETY: `a` holds rows `first..end` of `k` values `a_stride` apart and `dst` those
        // rows of `columns` values, `w`'s sizes (asserted above); `dst` is this call's own buffer, so it
        // overlaps neither `a` nor the panels.
        unsafe {
            w.multiply(
                end - first,
                (a[first * a_stride..].as_ptr(), a_stride),
                (dst.as_mut_ptr(), columns),
                false,
            )
        };
    });
}

/// `y = x · w + bias` for `x: [rows, input]` (row-major), `w: [input, output]` packed.
fn forward(
    x: &[f32],
    [rows, input, output]: [usize; 3],
    weights: &Packed,
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let mut y = pool::take(rows * output);
    multiply(weights, (rows, output, input), (x, input), &mut y);
    if let Some(bias) = bias {
        for row in y.chunks_exact_mut(output) {
            row.iter_mut().zip(bias).for_each(|(y, b)| *y += b);
        }
    }
    y
}

/// The gradients of [`forward`]'s `y` with respect to `x`, `w` and the bias, for the output's
/// gradient `dy: [rows, output]`, each computed when `wanted`.
fn backward(
    dy: &[f32],
    x: &[f32],
    [rows, input, output]: [usize; 3],
    w: Matrix<'_>,
    wanted: [bool; 3],
) -> [Option<Vec<f32>>; 3] {
    // dx[b][i] = Σ_j dy[b][j] · w[i][j]: columns `i`, inputs `j`.
    let dx = wanted[0].then(|| {
        let weights = w.packed([input, output], true);
        let mut dx = pool::take(rows * input);
        multiply(&weights, (rows, input, output), (dy, output), &mut dx);
        dx
    });
    // dw[i][j] = Σ_b x[b][i] · dy[b][j]: rows of `xᵀ`, columns `j`, inputs `b`.
    let dw = wanted[1].then(|| {
        let packed = Packed::from_inputs(output, rows, dy, output);
        let mut xt = pool::take(input * rows);
        transpose(x, [rows, input], &mut xt);
        let mut dw = pool::take(input * output);
        multiply(&packed, (input, output, rows), (&xt, rows), &mut dw);
        pool::give(xt);
        dw
    });
    let db = wanted[2].then(|| {
        let mut db = vec![0.0f32; output];
        for row in dy.chunks_exact(output) {
            db.iter_mut().zip(row).for_each(|(d, g)| *d += g);
        }
        db
    });
    [dx, dw, db]
}

/// `t = xᵀ` for `x: [rows, columns]` (row-major): block by block, so that the block's rows of
/// `t` stay in the cache while its columns are written (one at a time they would be written a
/// cache line per value, `rows` values apart).
fn transpose(x: &[f32], [rows, columns]: [usize; 2], t: &mut [f32]) {
    const BLOCK: usize = 32;
    for r0 in (0..rows).step_by(BLOCK) {
        for c0 in (0..columns).step_by(BLOCK) {
            for r in r0..(r0 + BLOCK).min(rows) {
                let row = &x[r * columns..][c0..(c0 + BLOCK).min(columns)];
                for (c, &v) in (c0..).zip(row) {
                    t[c * rows + r] = v;
                }
            }
        }
    }
}

thread_local! {
    static RUNS: Cell<usize> = const { Cell::new(0) };
}

/// How many times this thread has run the fused dense layer ([`linear`](crate::linear)). For
/// tests that must fail if it silently runs Burn's matmul where the kernel should run; not a
/// stable API.
#[doc(hidden)]
pub fn linear_runs_on_this_thread() -> usize {
    RUNS.get()
}

/// Runs [`forward`] on backend `B`'s tensors, the packed weights kept between calls when
/// `keep`.
fn run_host<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
    keep: bool,
) -> FloatTensor<B> {
    RUNS.set(RUNS.get() + 1);
    let device = x.device();
    let [rows, input] = x.shape().dims::<2>();
    let output = weight.shape().dims::<2>()[1];
    let bias = Some(bias)
        .filter(|b| b.shape().num_elements() > 0)
        .map(read::<B>);
    let owner = keep.then(|| Owner::of::<B>(&weight)).flatten();
    let y = with_values::<B, _>(x, |x| {
        with_matrix::<B, _>(weight, |values, strides| {
            let w = Matrix { values, strides };
            let pack = || w.packed([input, output], false);
            let layout = [input, output, strides[0], strides[1]].to_vec();
            match owner.and_then(|owner| packed_cache::blocks(owner, values, layout, pack)) {
                Some(kept) => forward(x, [rows, input, output], &kept, bias.as_deref()),
                None => forward(x, [rows, input, output], &pack(), bias.as_deref()),
            }
        })
    });
    if let Some(bias) = bias {
        pool::give(bias);
    }
    B::float_from_data(TensorData::new(y, [rows, output]), &device)
}

macro_rules! host_backend {
    ($backend:ty) => {
        impl FusedLinear for $backend {
            fn fused_linear(
                x: FloatTensor<Self>,
                weight: FloatTensor<Self>,
                bias: FloatTensor<Self>,
                keep: bool,
            ) -> FloatTensor<Self> {
                run_host::<Self>(x, weight, bias, keep)
            }
        }
    };
}

#[cfg(feature = "ndarray")]
host_backend!(NdArray);
#[cfg(feature = "flex")]
host_backend!(Flex);

/// The backward pass of [`FusedLinear::fused_linear`], with `N` parents: `x`, `weight`, and
/// the bias when there is one.
#[derive(Debug)]
struct FusedLinearBackward<const N: usize>;

impl<B: Backend, const N: usize> Backward<B, N> for FusedLinearBackward<N> {
    /// The input and the weights (Burn's tensors share their data), and their device.
    type State = (FloatTensor<B>, FloatTensor<B>, B::Device);

    fn backward(self, ops: Ops<Self::State, N>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (x, weight, device) = ops.state;
        let dy = grads.consume::<B>(&ops.node);
        let [rows, input] = x.shape().dims::<2>();
        let [_, output] = weight.shape().dims::<2>();
        let parents: [_; 3] = std::array::from_fn(|p| ops.parents.get(p).cloned().flatten());
        let gradients = with_values::<B, _>(dy, |dy| {
            with_values::<B, _>(x, |x| {
                with_matrix::<B, _>(weight, |values, strides| {
                    let w = Matrix { values, strides };
                    let wanted = parents.each_ref().map(Option::is_some);
                    backward(dy, x, [rows, input, output], w, wanted)
                })
            })
        });
        let shapes = [vec![rows, input], vec![input, output], vec![output]];
        for ((parent, gradient), shape) in parents.into_iter().zip(gradients).zip(shapes) {
            if let (Some(node), Some(gradient)) = (parent, gradient) {
                let gradient = B::float_from_data(TensorData::new(gradient, shape), &device);
                grads.register::<B>(node.id, gradient);
            }
        }
    }
}

/// The autodiff node of a dense layer whose parents' nodes are `nodes` (`x`, `weight`, and the
/// bias when there is one).
fn tracked<B: FusedLinear, C: CheckpointStrategy, const N: usize>(
    nodes: [NodeGuard; N],
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
    keep: bool,
) -> FloatTensor<Autodiff<B, C>> {
    let prep = FusedLinearBackward::<N>
        .prepare::<C>(nodes)
        .compute_bound()
        .stateful();
    match prep {
        OpsKind::Tracked(prep) => {
            let device = x.device();
            let y = B::fused_linear(x.clone(), weight.clone(), bias, keep);
            prep.finish((x, weight, device), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(B::fused_linear(x, weight, bias, keep)),
    }
}

impl<B: FusedLinear, C: CheckpointStrategy> FusedLinear for Autodiff<B, C> {
    fn fused_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        keep: bool,
    ) -> FloatTensor<Self> {
        let [x_node, weight_node] = [x.node(), weight.node()];
        let (x, weight) = (x.into_primitive(), weight.into_primitive());
        if bias.shape().num_elements() == 0 {
            let bias = bias.into_primitive();
            return tracked::<B, C, 2>([x_node, weight_node], x, weight, bias, keep);
        }
        let nodes = [x_node, weight_node, bias.node()];
        tracked::<B, C, 3>(nodes, x, weight, bias.into_primitive(), keep)
    }
}

/// `x: [.., in] · weight: [in, out] + bias` over the last dimension through the fused
/// kernel when it can run there (`f32` tensors on ndarray or flex, with or without autodiff)
/// and pays (`x`'s leading dimensions together: from [`FUSED_FROM_ROWS`] rows, or for
/// inference, where the packed weights are kept between calls, from [`KEPT_FROM_ROWS`] rows
/// of at most [`KEPT_MOST_INPUTS`] inputs); `None` otherwise.
pub(crate) fn linear<const D: usize>(
    x: &Tensor<D>,
    weight: &Tensor<2>,
    bias: Option<&Tensor<1>>,
) -> Option<Tensor<D>> {
    let dims = x.dims();
    let rows = dims[..D - 1].iter().product::<usize>();
    let f32s = [x.dtype(), weight.dtype()]
        .into_iter()
        .chain(bias.map(Tensor::dtype))
        .all(|d| d == DType::F32);
    // Training changes the weights at every step: keeping them packed would only hold the
    // old ones alive.
    let keep = !x.device().is_autodiff();
    let [input, output] = weight.dims();
    let fewest = if keep && input <= KEPT_MOST_INPUTS {
        KEPT_FROM_ROWS
    } else {
        FUSED_FROM_ROWS
    };
    if !f32s || rows < fewest || !super::on_cpu_backend(&x.device()) {
        return None;
    }
    // Without a bias, `[0]`.
    let bias = bias
        .cloned()
        .unwrap_or_else(|| Tensor::zeros([0], (&x.device(), x.dtype())));
    let y = Tensor::<2>::from_dispatch(<burn::backend::Dispatch as FusedLinear>::fused_linear(
        x.clone().reshape([rows, input]).into_dispatch(),
        weight.clone().into_dispatch(),
        bias.into_dispatch(),
        keep,
    ));
    let mut out = dims;
    out[D - 1] = output;
    Some(y.reshape(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Block edges and partial blocks.
    #[test]
    fn transpose_moves_every_value() {
        for [rows, columns] in [[1, 1], [3, 70], [33, 32], [65, 7]] {
            let x: Vec<f32> = (0..rows * columns).map(|v| v as f32).collect();
            let mut t = vec![0.0; x.len()];
            transpose(&x, [rows, columns], &mut t);
            for (r, c) in (0..rows).flat_map(|r| (0..columns).map(move |c| (r, c))) {
                assert_eq!(
                    t[c * rows + r],
                    x[r * columns + c],
                    "{rows}x{columns} at {r},{c}"
                );
            }
        }
    }
}

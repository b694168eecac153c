//! The fused recurrence as a Burn backend extension: implemented on the CPU backends by the
//! host kernel, and on their autodiff wrappers as one graph node with a hand-written backward
//! through time.

use std::sync::Arc;

#[cfg(feature = "flex")]
use burn::backend::Flex;
#[cfg(feature = "ndarray")]
use burn::backend::NdArray;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, TensorMetadata, backend_extension};
use burn::tensor::{Slice, TensorData, try_read_sync};

use super::CellKernel;
use super::kernel::{self, Dims, InputRows, Inputs, Saved};
use super::pool;

/// What the fused recurrence computes besides its tensors.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub cell: CellKernel,
    /// Valid length of each example; `None` when all are full length.
    pub lengths: Option<Vec<usize>>,
}

/// One layer and direction of a recurrent network over a whole sequence.
#[backend_extension(NdArray: cfg(feature = "ndarray"), Flex: cfg(feature = "flex"), Autodiff)]
pub(crate) trait FusedRecurrence: Backend {
    /// `x: [seq, batch, input]` (time-major), weights and biases in PyTorch's layout
    /// (`[G * H, input]`, `[G * H, H]`, `[G * H]`), `h0` and `c0: [batch, H]` (`c0` is read for
    /// LSTM only). Returns the outputs `[seq, batch, H]` (zero in the padding) and the final
    /// states `[1 (+ 1), batch, H]`: the hidden state, and for LSTM the cell state.
    #[allow(clippy::too_many_arguments)]
    fn fused_recurrence(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        b_ih: FloatTensor<Self>,
        b_hh: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        c0: FloatTensor<Self>,
        spec: Spec,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
}

/// The seven tensor inputs, in the trait's order.
type Primitives<B> = [FloatTensor<B>; 7];

/// `tensor` as an ndarray tensor, when `B` is ndarray.
#[cfg(feature = "ndarray")]
fn as_ndarray<B: Backend>(
    tensor: &FloatTensor<B>,
) -> Option<&burn::backend::ndarray::NdArrayTensor> {
    (tensor as &dyn std::any::Any).downcast_ref()
}

fn read<B: Backend>(tensor: FloatTensor<B>) -> Vec<f32> {
    #[cfg(feature = "ndarray")]
    if let Some(values) = as_ndarray::<B>(&tensor).and_then(ndarray_values) {
        return values;
    }
    try_read_sync(B::float_into_data(tensor))
        .expect("the CPU backends read synchronously")
        .expect("reading a CPU tensor cannot fail")
        .try_into_vec::<f32>()
        .expect("the fused kernels only run on f32 tensors")
}

/// `tensor` as a flex tensor, when `B` is flex.
#[cfg(feature = "flex")]
fn as_flex<B: Backend>(tensor: &FloatTensor<B>) -> Option<&burn::backend::flex::FlexTensor> {
    (tensor as &dyn std::any::Any).downcast_ref()
}

/// Calls `f` with the values of `tensor` in row-major order: borrowed from the tensor when it
/// is a contiguous ndarray or flex `f32` array (parameters and the output gradient usually are:
/// 2 MiB at the benchmark shape, a copy and page faults saved per backward pass), else a host
/// copy.
fn with_values<B: Backend, R>(tensor: FloatTensor<B>, f: impl FnOnce(&[f32]) -> R) -> R {
    #[cfg(feature = "ndarray")]
    if let Some(burn::backend::ndarray::NdArrayTensor::F32(storage)) = as_ndarray::<B>(&tensor) {
        let view = storage.view();
        if let Some(values) = view.as_slice() {
            return f(values);
        }
    }
    #[cfg(feature = "flex")]
    if let Some(values) = as_flex::<B>(&tensor).and_then(|t| t.as_slice::<f32>()) {
        return f(values);
    }
    let values = read::<B>(tensor);
    let result = f(&values);
    pool::give(values);
    result
}

/// Calls `f` with the rows of `x: [seq, batch, input]`: the tensor's own memory when it is an
/// ndarray or flex `f32` array whose rows are contiguous (the usual batch-first input, seen
/// time-major, is), else a time-major host copy.
fn with_rows<B: Backend, R>(x: FloatTensor<B>, f: impl FnOnce(InputRows<'_>) -> R) -> R {
    let [_, batch, input] = x.shape().dims::<3>();
    #[cfg(feature = "ndarray")]
    if let Some(burn::backend::ndarray::NdArrayTensor::F32(storage)) = as_ndarray::<B>(&x) {
        let view = storage.view();
        if let Some((step, example, span)) = row_strides(view.shape(), view.strides()) {
            // SAFETY: every element of the view lies in the `span` values from its first
            // (`row_strides`), which belong to the array the view borrows.
            let values = unsafe { std::slice::from_raw_parts(view.as_ptr(), span) };
            return f(InputRows {
                values,
                step,
                example,
            });
        }
    }
    #[cfg(feature = "flex")]
    if let Some(t) = as_flex::<B>(&x).filter(|t| t.dtype() == burn::tensor::DType::F32) {
        let layout = t.layout();
        if let Some((step, example, span)) =
            row_strides(layout.shape().as_slice(), layout.strides())
        {
            let values = &t.storage::<f32>()[layout.start_offset()..][..span];
            return f(InputRows {
                values,
                step,
                example,
            });
        }
    }
    let values = read::<B>(x);
    let result = f(InputRows::time_major(&values, batch, input));
    pool::give(values);
    result
}

/// For a non-empty `[seq, batch, input]` view with contiguous rows and non-negative strides:
/// the strides of a step and of an example, and how many values from the first element hold
/// them all.
#[cfg(any(feature = "ndarray", feature = "flex"))]
fn row_strides(shape: &[usize], strides: &[isize]) -> Option<(usize, usize, usize)> {
    let empty = shape.contains(&0);
    if empty || strides[2] != 1 || strides.iter().any(|&s| s < 0) {
        return None;
    }
    let (step, example) = (strides[0] as usize, strides[1] as usize);
    Some((
        step,
        example,
        (shape[0] - 1) * step + (shape[1] - 1) * example + shape[2],
    ))
}

/// The values of an ndarray `f32` tensor in row-major order: one `memcpy` when the array is
/// contiguous, else a copy that follows its strides (the parameters are shared arrays and the
/// input a permuted view, which ndarray's `into_data` copies one element at a time through its
/// dynamic-rank iterator: 12 ms of a 15 ms batch-1 LSTM forward). `None` for other dtypes.
#[cfg(feature = "ndarray")]
fn ndarray_values(tensor: &burn::backend::ndarray::NdArrayTensor) -> Option<Vec<f32>> {
    let burn::backend::ndarray::NdArrayTensor::F32(storage) = tensor else {
        return None;
    };
    let view = storage.view();
    if view.is_empty() {
        return Some(Vec::new());
    }
    // Pooled buffers: fresh ones would be faulted in page by page at every call.
    let mut values = pool::take(view.len());
    if let Some(contiguous) = view.as_slice() {
        values.copy_from_slice(contiguous);
        return Some(values);
    }
    values.clear();
    let (shape, strides) = (view.shape(), view.strides());
    // Row-major walk over every index but the last; each row copied along the last stride.
    let (rows, last) = (shape.len() - 1, shape[shape.len() - 1]);
    let mut index = vec![0usize; rows];
    'rows: loop {
        let start: isize = index
            .iter()
            .zip(strides)
            .map(|(&i, &s)| i as isize * s)
            .sum();
        // SAFETY: every offset is within the view (indices below the shape, the view's strides).
        unsafe {
            let row = view.as_ptr().offset(start);
            if strides[rows] == 1 {
                values.extend_from_slice(std::slice::from_raw_parts(row, last));
            } else {
                values.extend((0..last).map(|k| *row.offset(k as isize * strides[rows])));
            }
        }
        for d in (0..rows).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                continue 'rows;
            }
            index[d] = 0;
        }
        break;
    }
    Some(values)
}

fn write<B: Backend>(data: Vec<f32>, shape: Vec<usize>, device: &B::Device) -> FloatTensor<B> {
    B::float_from_data(TensorData::new(data, shape), device)
}

/// Runs the host kernel on backend `B`'s tensors: the packed output (the outputs, then the
/// final states, see [`kernel::forward`]) as host values, its dimensions, and when `save`
/// what the backward pass needs.
fn run_host<B: Backend>(
    tensors: Primitives<B>,
    spec: &Spec,
    save: bool,
) -> (Vec<f32>, Dims, Option<Saved>) {
    let [seq, batch, input] = tensors[0].shape().dims::<3>();
    let hidden = tensors[2].shape().dims::<2>()[1];
    let dims = Dims {
        cell: spec.cell,
        seq,
        steps: spec
            .lengths
            .as_ref()
            .map_or(seq, |l| l.iter().copied().max().unwrap_or(0)),
        batch,
        input,
        hidden,
    };
    let [x, w_ih, w_hh, b_ih, b_hh, h0, c0] = tensors;
    let [b_ih, b_hh, h0, c0] = [b_ih, b_hh, h0, c0].map(read::<B>);
    // `x` and the weights are only read: no host copy of an ndarray tensor (2.5 MiB per call at
    // the benchmark shape, copied on one thread while the others waited).
    let (packed, saved) = with_rows::<B, _>(x, |x| {
        with_values::<B, _>(w_ih, |w_ih| {
            with_values::<B, _>(w_hh, |w_hh| {
                let inputs = Inputs {
                    x,
                    w_ih,
                    w_hh,
                    b_ih,
                    b_hh,
                    h0,
                    c0,
                };
                kernel::forward(dims, inputs, spec.lengths.as_deref(), save)
            })
        })
    });
    (packed, dims, saved)
}

/// The shape `[rows, batch, H]` of `rows` rows of the packed output.
fn rows_shape(rows: usize, dims: &Dims) -> Vec<usize> {
    vec![rows, dims.batch, dims.hidden]
}

macro_rules! host_backend {
    ($backend:ty) => {
        impl FusedRecurrence for $backend {
            fn fused_recurrence(
                x: FloatTensor<Self>,
                w_ih: FloatTensor<Self>,
                w_hh: FloatTensor<Self>,
                b_ih: FloatTensor<Self>,
                b_hh: FloatTensor<Self>,
                h0: FloatTensor<Self>,
                c0: FloatTensor<Self>,
                spec: Spec,
            ) -> (FloatTensor<Self>, FloatTensor<Self>) {
                let device = x.device();
                let (mut outputs, dims, _) =
                    run_host::<Self>([x, w_ih, w_hh, b_ih, b_hh, h0, c0], &spec, false);
                // The final states move out of the host buffer, which the outputs keep
                // (slicing a Burn tensor would copy the outputs instead).
                let finals = outputs.split_off(dims.seq * dims.batch * dims.hidden);
                let final_rows = kernel::packed_rows(&dims) - dims.seq;
                (
                    write::<Self>(outputs, rows_shape(dims.seq, &dims), &device),
                    write::<Self>(finals, rows_shape(final_rows, &dims), &device),
                )
            }
        }
    };
}

#[cfg(feature = "ndarray")]
host_backend!(NdArray);
#[cfg(feature = "flex")]
host_backend!(Flex);

/// The backward through time of [`FusedRecurrence::fused_recurrence`].
#[derive(Debug)]
struct FusedRecurrenceBackward;

impl<B: Backend> Backward<B, 7> for FusedRecurrenceBackward {
    /// The forward pass's saved buffers, the input shapes, and the device.
    type State = (Arc<Saved>, [Vec<usize>; 7], B::Device);

    fn backward(self, ops: Ops<Self::State, 7>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (saved, shapes, device) = ops.state;
        let values = with_values::<B, _>(grads.consume::<B>(&ops.node), |grad| {
            kernel::backward(&saved, grad).into_array()
        });
        for ((parent, value), shape) in ops.parents.into_iter().zip(values).zip(shapes) {
            if let Some(node) = parent {
                grads.register::<B>(node.id, write::<B>(value, shape, &device));
            }
        }
    }
}

impl<B: FusedRecurrence, C: CheckpointStrategy> FusedRecurrence for Autodiff<B, C> {
    fn fused_recurrence(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        b_ih: FloatTensor<Self>,
        b_hh: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        c0: FloatTensor<Self>,
        spec: Spec,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let tensors = [x, w_ih, w_hh, b_ih, b_hh, h0, c0];
        let nodes = tensors.each_ref().map(|t| t.node());
        let shapes = tensors.each_ref().map(|t| t.shape().to_vec());
        let primitives = tensors.map(|t| t.into_primitive());
        let device = primitives[0].device();
        let prep = FusedRecurrenceBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful();
        let tracked = matches!(prep, OpsKind::Tracked(_));
        let (packed, dims, saved) = run_host::<B>(primitives, &spec, tracked);
        let rows = kernel::packed_rows(&dims);
        let packed = write::<B>(packed, rows_shape(rows, &dims), &device);
        let packed = match prep {
            OpsKind::Tracked(prep) => {
                let saved = Arc::new(saved.expect("saved when tracked"));
                prep.finish((saved, shapes, device), packed)
            }
            OpsKind::UnTracked(prep) => prep.finish(packed),
        };
        // One graph node; the outputs and the final states are slices of it.
        let slice = |range: std::ops::Range<usize>| {
            Self::float_slice(
                packed.clone(),
                &[Slice::from(range), Slice::from(..), Slice::from(..)],
            )
        };
        (slice(0..dims.seq), slice(dims.seq..rows))
    }
}

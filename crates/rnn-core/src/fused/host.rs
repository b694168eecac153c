//! The memory of the CPU backends' tensors as the host kernel reads it: one view of an ndarray
//! or flex `f32` tensor (its values, shape and strides), and what is read through it.

// burn-ndarray is deprecated upstream in favour of flex, but still supported.
#![allow(deprecated)]

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, TensorMetadata};
use burn::tensor::try_read_sync;

use super::kernel::InputRows;
use super::pool;

/// A host tensor's values in place: `values` starts at its first element and holds every
/// element, at offsets `Σ index[d] * strides[d]` (strides in elements, non-negative).
struct HostView<'a> {
    values: &'a [f32],
    shape: Vec<usize>,
    strides: Vec<usize>,
}

impl<'a> HostView<'a> {
    /// The view of `tensor` when backend `B` is ndarray or flex and the tensor holds `f32`
    /// values at non-negative strides; `None` otherwise (the caller reads a copy).
    fn of<B: Backend>(tensor: &'a FloatTensor<B>) -> Option<Self> {
        #[cfg(feature = "ndarray")]
        if let Some(burn::backend::ndarray::NdArrayTensor::F32(storage)) =
            (tensor as &dyn std::any::Any).downcast_ref()
        {
            let view = storage.view();
            let (shape, strides) = (view.shape().to_vec(), unsigned(view.strides())?);
            let span = span(&shape, &strides);
            // SAFETY: the view's elements lie at the offsets the strides give from its first
            // element, all below `span` (`span`), inside the array that `storage` owns; the
            // array lives as long as `tensor` is borrowed (`'a`), and a tensor we hold a shared
            // reference to is not written.
            let values = unsafe { std::slice::from_raw_parts(view.as_ptr(), span) };
            return Some(Self {
                values,
                shape,
                strides,
            });
        }
        #[cfg(feature = "flex")]
        if let Some(t) = (tensor as &dyn std::any::Any)
            .downcast_ref::<burn::backend::flex::FlexTensor>()
            .filter(|t| t.dtype() == burn::tensor::DType::F32)
        {
            let layout = t.layout();
            let (shape, strides) = (
                layout.shape().as_slice().to_vec(),
                unsigned(layout.strides())?,
            );
            let span = span(&shape, &strides);
            let values = &t.storage::<f32>()[layout.start_offset()..][..span];
            return Some(Self {
                values,
                shape,
                strides,
            });
        }
        None
    }

    /// The values in row-major order, when they are stored so (without gaps).
    fn row_major(&self) -> Option<&'a [f32]> {
        let mut expected = 1;
        for (&size, &stride) in self.shape.iter().zip(&self.strides).rev() {
            if size > 1 && stride != expected {
                return None;
            }
            expected *= size;
        }
        Some(&self.values[..expected])
    }

    /// A row-major copy in a pooled buffer (fresh ones would be faulted in page by page at
    /// every call), copying rows along the last stride.
    fn to_vec(&self) -> Vec<f32> {
        if let Some(values) = self.row_major() {
            let mut copy = pool::take(values.len());
            copy.copy_from_slice(values);
            return copy;
        }
        let len = self.shape.iter().product();
        let mut copy = pool::take(len);
        copy.clear();
        if len == 0 {
            return copy;
        }
        let (rows, last) = (self.shape.len() - 1, self.shape[self.shape.len() - 1]);
        let last_stride = self.strides[rows];
        // Row-major walk over every index but the last.
        let mut index = vec![0usize; rows];
        'rows: loop {
            let start: usize = index.iter().zip(&self.strides).map(|(i, s)| i * s).sum();
            if last_stride == 1 {
                copy.extend_from_slice(&self.values[start..][..last]);
            } else {
                copy.extend((0..last).map(|k| self.values[start + k * last_stride]));
            }
            for d in (0..rows).rev() {
                index[d] += 1;
                if index[d] < self.shape[d] {
                    continue 'rows;
                }
                index[d] = 0;
            }
            break;
        }
        copy
    }
}

/// The address and length of `tensor`'s values as the host kernels read them in place (from
/// its first element to its last, whatever its strides); `None` when backend `B` has no host
/// view of it (the kernels then read a copy).
pub(super) fn values_address<B: Backend>(tensor: &FloatTensor<B>) -> Option<(usize, usize)> {
    HostView::of::<B>(tensor).map(|view| (view.values.as_ptr() as usize, view.values.len()))
}

/// `strides` when none is negative.
fn unsigned(strides: &[isize]) -> Option<Vec<usize>> {
    strides.iter().map(|&s| usize::try_from(s).ok()).collect()
}

/// How many values from the first element hold every element of `shape` at `strides`.
fn span(shape: &[usize], strides: &[usize]) -> usize {
    if shape.contains(&0) {
        return 0;
    }
    1 + shape
        .iter()
        .zip(strides)
        .map(|(&size, &stride)| (size - 1) * stride)
        .sum::<usize>()
}

/// The values of `tensor` in row-major order, in a pooled buffer: copied from the host view
/// where there is one (ndarray's own `into_data` copies a permuted view one element at a time
/// through its dynamic-rank iterator: 12 ms of a 15 ms batch-1 LSTM forward), else read.
pub(super) fn read<B: Backend>(tensor: FloatTensor<B>) -> Vec<f32> {
    if let Some(view) = HostView::of::<B>(&tensor) {
        return view.to_vec();
    }
    try_read_sync(B::float_into_data(tensor))
        .expect("the CPU backends read synchronously")
        .expect("reading a CPU tensor cannot fail")
        .try_into_vec::<f32>()
        .expect("the fused kernels only run on f32 tensors")
}

/// Calls `f` with the values of `tensor` in row-major order: borrowed from the tensor when it
/// is stored so (parameters and the output gradient usually are: 2 MiB at the benchmark
/// shape, a copy and page faults saved per backward pass), else a host copy.
pub(super) fn with_values<B: Backend, R>(tensor: FloatTensor<B>, f: impl FnOnce(&[f32]) -> R) -> R {
    if let Some(values) = HostView::of::<B>(&tensor).and_then(|v| v.row_major()) {
        return f(values);
    }
    let values = read::<B>(tensor);
    let result = f(&values);
    pool::give(values);
    result
}

/// Calls `f` with the values of a matrix `tensor` and its `[row, column]` strides: borrowed
/// from the tensor however it is laid out (a transposed weight is read in place), else a
/// row-major host copy.
pub(super) fn with_matrix<B: Backend, R>(
    tensor: FloatTensor<B>,
    f: impl FnOnce(&[f32], [usize; 2]) -> R,
) -> R {
    if let Some(view) = HostView::of::<B>(&tensor)
        && let [rows, columns] = view.strides[..]
    {
        return f(view.values, [rows, columns]);
    }
    let columns = tensor.shape().dims::<2>()[1];
    let values = read::<B>(tensor);
    let result = f(&values, [columns, 1]);
    pool::give(values);
    result
}

/// Calls `f` with the rows of `x: [seq, batch, input]`: the tensor's own memory when its rows
/// are contiguous (the usual batch-first input, seen time-major, is), else a time-major host
/// copy.
pub(super) fn with_rows<B: Backend, R>(x: FloatTensor<B>, f: impl FnOnce(InputRows<'_>) -> R) -> R {
    let [_, batch, input] = x.shape().dims::<3>();
    if let Some(view) = HostView::of::<B>(&x)
        && !view.values.is_empty()
        && view.strides[2] == 1
    {
        return f(InputRows {
            values: view.values,
            step: view.strides[0],
            example: view.strides[1],
        });
    }
    let values = read::<B>(x);
    let result = f(InputRows::time_major(&values, batch, input));
    pool::give(values);
    result
}

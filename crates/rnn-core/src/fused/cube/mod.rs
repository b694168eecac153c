//! The fused recurrence on Burn's CubeCL backend (wgpu and the other CubeCL runtimes): the input
//! projection of every step as one matmul, then the time loop in one launch
//! ([`recurrence::forward_loop`](fn@recurrence::forward_loop)); backward, the reverse time loop in
//! one launch ([`recurrence::backward_loop`](fn@recurrence::backward_loop)), then the weight
//! gradients as one matmul each over all steps.

pub(crate) mod recurrence;

use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::IntTensor;
use burn::backend::{TensorMetadata, ops::IntTensorOps};
use burn::tensor::{FloatDType, Shape, Slice, TensorData};
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;

use super::backend::{Primitives, Spec};
use super::device::{DeviceRecurrence, Layout};
use super::kernel::{Dims, OutputLayout};

/// Which cell's gate math a CubeCL kernel runs (each cell's `kernel::cube::forward` and
/// `backward`, next to its CPU `GateMath`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CubeMath {
    /// Gates `i, f, g, o`, state `(h, c)`.
    Lstm,
    /// Gates `r, z, n`, state `h`.
    Gru,
    /// One gate, `tanh`.
    ElmanTanh,
    /// One gate, ReLU.
    ElmanRelu,
}

impl CubeMath {
    /// Gates `G`: rows of `W_ih`, `W_hh` and the biases are `G * H`.
    pub fn gates(self) -> usize {
        match self {
            Self::Lstm => 4,
            Self::Gru => 3,
            Self::ElmanTanh | Self::ElmanRelu => 1,
        }
    }

    /// Parts `S` of the state, `h` first.
    pub fn state_parts(self) -> usize {
        match self {
            Self::Lstm => 2,
            _ => 1,
        }
    }

    /// The leading gates whose part of `b_hh` is added to the input projection (the GRU's n
    /// gate scales its `b_hh` by `r`).
    pub fn additive_hidden_bias(self) -> usize {
        match self {
            Self::Gru => 2,
            _ => self.gates(),
        }
    }

    /// Whether the gradient of the hidden projections differs from the input projections'.
    pub fn separate_hidden_gradient(self) -> bool {
        self == Self::Gru
    }

    /// Whether the gate math returns a value the backward pass reads.
    pub fn saves(self) -> bool {
        self == Self::Gru
    }

    /// The shared memory (in `f32`s) of a cube running `rows` examples with `hidden` units: the
    /// forward loop's (`h` twice, the other parts of the state, one spare value) or the
    /// backward loop's (the state's gradient and the gates'), whichever is more.
    fn shared(self, rows: usize, hidden: usize) -> usize {
        let forward = (self.state_parts() + 1) * rows * hidden + 1;
        let backward = (self.state_parts() + self.gates()) * rows * hidden;
        forward.max(backward)
    }
}

/// Shared memory a cube's state must fit for the kernels to run a cell: wgpu's downlevel
/// minimum (`Limits::downlevel_defaults`, 32 bytes below WebGPU's 16 KiB), so that every cell
/// that runs them on one adapter runs them on every adapter. (Larger cells run them slower than
/// step by step on lavapipe, one example a cube: an LSTM of 1400 units; BENCHMARKS.md,
/// 2026-12-07 night.)
const SHARED_BYTES: usize = 16352;

/// Most examples a cube runs: more read `W_hh` fewer times, fewer spread a step over more of
/// the GPU's cores.
const MAX_ROWS: usize = 8;

/// Whether the kernels run `math` with `hidden` units (the state of one example, and its
/// gradients, must fit [`SHARED_BYTES`] of shared memory). Larger cells run step by step.
pub(crate) fn fits(math: CubeMath, hidden: usize) -> bool {
    math.shared(1, hidden) * size_of::<f32>() <= SHARED_BYTES
}

/// Examples per cube for `batch` examples on a device with `shared_bytes` of shared memory per
/// cube: every cube reads all of `W_hh` at each step, and each value it reads feeds one
/// multiply-add per example it runs, so up to 4 examples per cube (fewer only for a smaller
/// batch), more once the batch would need more than 128 cubes (a GPU has about that many
/// cores), as many of those as the device's shared memory holds.
fn rows_per_cube(math: CubeMath, batch: usize, hidden: usize, shared_bytes: usize) -> usize {
    let mut rows = batch.div_ceil(128).max(batch.min(4)).clamp(1, MAX_ROWS);
    while rows > 1 && math.shared(rows, hidden) * size_of::<f32>() > shared_bytes {
        rows -= 1;
    }
    rows
}

/// [`rows_per_cube`] on `client`'s device (its `max_shared_memory_size`; at least
/// [`SHARED_BYTES`], which every adapter has).
fn rows_on(client: &cubecl::client::Client, math: CubeMath, batch: usize, hidden: usize) -> usize {
    let bytes = client.properties().hardware.max_shared_memory_size;
    rows_per_cube(math, batch, hidden, bytes.max(SHARED_BYTES))
}

/// A launch of `cubes` cubes within the device's limit on each dimension (65,535 on WebGPU):
/// spread over y and z when there are more, with idle cubes at the end (the kernels skip rows
/// past the batch, and find their examples from the cube's position on all three axes).
fn cube_count(client: &cubecl::client::Client, cubes: usize) -> CubeCount {
    cubecl::server::CubeCountSelection::new(client, cubes as u32).cube_count()
}

/// Threads per cube: one per hidden unit, in whole warps, at most 256.
fn threads(hidden: usize) -> u32 {
    hidden.next_multiple_of(32).min(256) as u32
}

type B = CubeBackend;

fn zeros(
    shape: impl Into<Shape>,
    device: &<B as burn::backend::BackendTypes>::Device,
) -> CubeTensor {
    B::float_zeros(shape.into(), device, FloatDType::F32)
}

fn empty(
    shape: impl Into<Shape>,
    device: &<B as burn::backend::BackendTypes>::Device,
) -> CubeTensor {
    B::float_empty(shape.into(), device, FloatDType::F32)
}

/// `tensor[range]` along its first dimension.
fn leading(tensor: CubeTensor, range: std::ops::Range<usize>) -> CubeTensor {
    let mut slices: Vec<Slice> = tensor.shape().iter().map(|&n| Slice::from(0..n)).collect();
    slices[0] = Slice::from(range);
    B::float_slice(tensor, &slices)
}

/// Where the kernels find step `t` of example `b` among rows of `layout`: row `t * step + b *
/// example`, as `[step, example]`.
fn row_strides(layout: OutputLayout, dims: &Dims) -> [usize; 2] {
    match layout {
        OutputLayout::TimeMajor => [dims.batch, 1],
        OutputLayout::BatchMajor => [1, dims.seq],
    }
}

/// The input `x: [seq, batch, input]` as the rows that the input projection multiplies, and
/// their order: a batch-first caller's input (a time-major view of a batch-major tensor) is
/// read in place, batch-major, when the longest length is the sequence's (`steps == seq`, so
/// that no row past the longest length enters `W_ih`'s gradient); otherwise the first `steps`
/// steps time-major (a copy where `x` is not time-major already).
fn input_rows(x: CubeTensor, dims: &Dims) -> (CubeTensor, OutputLayout) {
    let Dims {
        seq,
        steps,
        batch,
        input,
        ..
    } = *dims;
    let batch_major = B::float_swap_dims(x.clone(), 0, 1);
    if steps == seq && batch_major.is_contiguous() {
        let rows = B::float_reshape(batch_major, Shape::new([seq * batch, input]));
        (rows, OutputLayout::BatchMajor)
    } else {
        let rows = B::float_reshape(leading(x, 0..steps), Shape::new([steps * batch, input]));
        (rows, OutputLayout::TimeMajor)
    }
}

/// The dimensions of a run on inputs of `shapes` (without a projection: `P = H`).
fn dims(shapes: &[Shape; 7], spec: &Spec) -> Dims {
    assert_eq!(
        shapes[5].dims::<2>()[0],
        0,
        "the CubeCL kernels have no projection"
    );
    spec.dims(shapes)
}

/// The cell's CubeCL math.
fn math(spec: &Spec) -> CubeMath {
    spec.cell
        .cube_math()
        .expect("a kernel runs on CubeCL only with the cell's CubeCL math")
}

/// The shapes of what [`forward`] saves: the activations, the parts of the state past `h`
/// after each step, and the cell's saved values (one unread value where there are none).
fn saved_shapes(math: CubeMath, dims: &Dims) -> Vec<Shape> {
    let Dims {
        steps,
        batch,
        hidden,
        ..
    } = *dims;
    let n = steps * batch;
    vec![
        Shape::new([(n * math.gates() * hidden).max(1)]),
        Shape::new([(n * (math.state_parts() - 1) * hidden).max(1)]),
        Shape::new([if math.saves() { n * hidden } else { 1 }.max(1)]),
    ]
}

/// The lengths of `spec` as a `[batch]` tensor (`seq` for each example without lengths).
fn lengths(
    spec: &Spec,
    dims: &Dims,
    device: &<B as burn::backend::BackendTypes>::Device,
) -> IntTensor<B> {
    B::int_from_data(
        TensorData::new(
            spec.lengths.as_ref().map_or_else(
                || vec![dims.seq as u32; dims.batch],
                |l| l.iter().map(|&n| n as u32).collect(),
            ),
            [dims.batch],
        ),
        device,
    )
}

impl DeviceRecurrence for CubeBackend {
    fn layout(shapes: &[Shape; 7], spec: &Spec, save: bool) -> Layout {
        let dims = dims(shapes, spec);
        Layout {
            packed: dims.seq * dims.batch * dims.hidden + shapes[6].num_elements(),
            saved: if save {
                saved_shapes(math(spec), &dims)
            } else {
                Vec::new()
            },
        }
    }

    fn run_forward(
        tensors: Primitives<B>,
        spec: &Spec,
        save: bool,
    ) -> (CubeTensor, Vec<CubeTensor>) {
        forward(math(spec), tensors, spec, save)
    }

    fn run_backward(
        inputs: Primitives<B>,
        packed: CubeTensor,
        saved: Vec<CubeTensor>,
        grad: CubeTensor,
        spec: &Spec,
    ) -> Primitives<B> {
        backward(math(spec), inputs, packed, saved, grad, spec)
    }
}

/// Runs the recurrence with `math`: the packed output and, when `save`, what the backward
/// pass reads ([`saved_shapes`]).
fn forward(
    math: CubeMath,
    tensors: Primitives<B>,
    spec: &Spec,
    save: bool,
) -> (CubeTensor, Vec<CubeTensor>) {
    let shapes = tensors.each_ref().map(TensorMetadata::shape);
    let dims = dims(&shapes, spec);
    let Dims {
        seq,
        steps,
        batch,
        hidden,
        ..
    } = dims;
    let device = tensors[0].device.clone();
    let s = math.state_parts();
    let finals = seq * batch * hidden;
    let lengths = lengths(spec, &dims, &device);
    let [x, w_ih, w_hh, b_ih, b_hh, _, state] = tensors;

    // Every step's input projection (the kernel adds the biases), in the input's row order.
    let (gates, input_order) = if steps == 0 {
        (empty([1], &device), OutputLayout::TimeMajor)
    } else {
        let (x, order) = input_rows(x, &dims);
        let gates = into_contiguous(B::float_matmul(x, B::float_transpose(w_ih)));
        (gates, order)
    };
    // What only the backward pass reads besides the activations (one unread value each
    // without `save`).
    let [rest, saved] = if save {
        let [_, rest, saved] = saved_shapes(math, &dims)
            .try_into()
            .expect("three saved tensors");
        [rest, saved]
    } else {
        [Shape::new([1]), Shape::new([1])]
    };
    let (rest, saved) = (empty(rest, &device), empty(saved, &device));
    let rows = rows_on(&gates.client, math, batch, hidden);
    let [input_step, input_example] = row_strides(input_order, &dims);
    let [output_step, output_example] = row_strides(spec.layout, &dims);
    let packed = if steps == 0 {
        // No step: zero outputs, and the final state is the initial one.
        B::float_cat(vec![zeros([finals], &device), state], 0)
    } else {
        let packed = empty([finals + s * batch * hidden], &device);
        // One step multiplies `W_hh` once: by the initial state, as one matmul, rather than
        // the loop's (which would first transpose `W_hh`, for the steps it reads it again).
        let projected = steps == 1;
        let recurrent = if projected {
            let h0 = B::float_reshape(
                leading(state.clone(), 0..batch * hidden),
                Shape::new([batch, hidden]),
            );
            into_contiguous(B::float_matmul(h0, B::float_transpose(w_hh)))
        } else {
            into_contiguous(B::float_transpose(w_hh))
        };
        recurrence::forward_loop::launch(
            &packed.client.clone(),
            cube_count(&packed.client, batch.div_ceil(rows)),
            CubeDim::new_1d(threads(hidden)),
            gates.clone().into_tensor_arg(),
            recurrent.into_tensor_arg(),
            into_contiguous(b_ih).into_tensor_arg(),
            into_contiguous(b_hh).into_tensor_arg(),
            into_contiguous(state).into_tensor_arg(),
            lengths.into_tensor_arg(),
            packed.clone().into_tensor_arg(),
            rest.clone().into_tensor_arg(),
            saved.clone().into_tensor_arg(),
            input_step,
            input_example,
            output_step,
            output_example,
            batch,
            steps,
            finals,
            hidden,
            rows,
            math,
            save,
            projected,
        );
        packed
    };
    let kept = if save {
        let len = gates.shape().num_elements();
        vec![B::float_reshape(gates, Shape::new([len])), rest, saved]
    } else {
        Vec::new()
    };
    (packed, kept)
}

/// Backpropagates `grad`, the gradient of the packed output, through the run on `inputs` that
/// returned `packed` and `saved`: the gradients of the seven inputs.
fn backward(
    math: CubeMath,
    inputs: Primitives<B>,
    packed: CubeTensor,
    saved: Vec<CubeTensor>,
    grad: CubeTensor,
    spec: &Spec,
) -> Primitives<B> {
    let dims = dims(&inputs.each_ref().map(TensorMetadata::shape), spec);
    let [gates, rest, saved]: [CubeTensor; 3] = saved.try_into().expect("three saved tensors");
    let rows = rows_on(&grad.client, math, dims.batch, dims.hidden);
    let Dims {
        seq,
        steps,
        batch,
        input,
        hidden,
        ..
    } = dims;
    let [x, w_ih, w_hh, _, _, w_hr, state] = inputs;
    let device = x.device.clone();
    let (g, s) = (math.gates(), math.state_parts());
    let width = g * hidden;
    let finals = seq * batch * hidden;
    let n = steps * batch;
    let grad = into_contiguous(grad);
    let lengths = lengths(spec, &dims, &device);
    if steps == 0 {
        return [
            zeros([seq, batch, input], &device),
            zeros([width, input], &device),
            zeros([width, hidden], &device),
            zeros([width], &device),
            zeros([width], &device),
            zeros([0, hidden], &device),
            leading(grad, finals..finals + s * batch * hidden),
        ];
    }
    let (x, input_order) = input_rows(x, &dims);
    let d_input = empty([n, width], &device);
    let separate = math.separate_hidden_gradient();
    let d_hidden = empty(if separate { [n, width] } else { [1, 1] }, &device);
    let h_prev = empty([n, hidden], &device);
    let grad_state = empty([s * batch * hidden], &device);
    let [input_step, input_example] = row_strides(input_order, &dims);
    let [output_step, output_example] = row_strides(spec.layout, &dims);
    let client = grad.client.clone();
    recurrence::backward_loop::launch(
        &client,
        cube_count(&client, batch.div_ceil(rows)),
        CubeDim::new_1d(threads(hidden)),
        gates.into_tensor_arg(),
        into_contiguous(w_hh).into_tensor_arg(),
        into_contiguous(state).into_tensor_arg(),
        lengths.into_tensor_arg(),
        packed.into_tensor_arg(),
        rest.into_tensor_arg(),
        saved.into_tensor_arg(),
        grad.into_tensor_arg(),
        d_input.clone().into_tensor_arg(),
        d_hidden.clone().into_tensor_arg(),
        h_prev.clone().into_tensor_arg(),
        grad_state.clone().into_tensor_arg(),
        input_step,
        input_example,
        output_step,
        output_example,
        batch,
        steps,
        finals,
        hidden,
        rows,
        math,
    );
    let d_hidden = if separate { d_hidden } else { d_input.clone() };
    // `x`'s gradient in its rows' order, as `[seq, batch, input]`.
    let d_x = B::float_matmul(d_input.clone(), w_ih);
    let d_x = match input_order {
        OutputLayout::BatchMajor => {
            B::float_swap_dims(B::float_reshape(d_x, Shape::new([batch, seq, input])), 0, 1)
        }
        OutputLayout::TimeMajor if steps < seq => B::float_cat(
            vec![
                B::float_reshape(d_x, Shape::new([steps, batch, input])),
                zeros([seq - steps, batch, input], &device),
            ],
            0,
        ),
        OutputLayout::TimeMajor => B::float_reshape(d_x, Shape::new([steps, batch, input])),
    };
    let d_w_ih = B::float_matmul(B::float_transpose(d_input.clone()), x);
    let d_w_hh = B::float_matmul(B::float_transpose(d_hidden.clone()), h_prev);
    let sum_rows = |t: CubeTensor| B::float_reshape(B::float_sum_dim(t, 0), Shape::new([width]));
    let d_b_ih = sum_rows(d_input);
    // Where the hidden projections' gradient is the input projections', so are the biases':
    // the same tensor twice (Burn adds into a gradient or updates a parameter in place only
    // where nothing else holds its buffer, so neither changes the other).
    let d_b_hh = if separate {
        sum_rows(d_hidden)
    } else {
        d_b_ih.clone()
    };
    [
        d_x,
        d_w_ih,
        d_w_hh,
        d_b_ih,
        d_b_hh,
        zeros(w_hr.shape(), &device),
        grad_state,
    ]
}

#[cfg(test)]
mod tests {
    use super::{CubeMath, fits, rows_per_cube};

    /// Examples per cube: 4 (fewer for a smaller batch), more past 128 cubes, at most 8, as
    /// many as the device's shared memory holds (an LSTM of 256 units: 2 in wgpu's minimum of
    /// 16,352 bytes, 4 in lavapipe's 32 KiB or NVIDIA's 48 KiB).
    #[test]
    fn cubes_run_as_many_examples_as_wanted_and_the_device_holds() {
        let lstm = |batch, bytes| rows_per_cube(CubeMath::Lstm, batch, 256, bytes);
        assert_eq!(lstm(32, 16352), 2);
        assert_eq!(lstm(32, 32768), 4);
        assert_eq!(lstm(32, 49152), 4);
        assert_eq!(lstm(3, 49152), 3);
        assert_eq!(lstm(1000, 49152), 8);
        assert_eq!(lstm(1000, 16352), 2);
    }

    /// The largest cells whose state and gradients fit a cube's shared memory (the README's
    /// limits): an LSTM's backward loop keeps `6 · H` values, a GRU's `4 · H`, an Elman RNN's
    /// forward loop `2 · H + 1`.
    #[test]
    fn the_largest_cells_that_fit_are_the_documented_ones() {
        for (math, largest) in [
            (CubeMath::Lstm, 681),
            (CubeMath::Gru, 1022),
            (CubeMath::ElmanTanh, 2043),
            (CubeMath::ElmanRelu, 2043),
        ] {
            assert!(fits(math, largest), "{math:?} {largest}");
            assert!(!fits(math, largest + 1), "{math:?} {}", largest + 1);
        }
    }
}

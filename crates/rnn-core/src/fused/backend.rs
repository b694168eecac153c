//! The fused recurrence as a Burn backend extension: implemented on the CPU backends by the
//! host kernel, on the CubeCL backend (wgpu) by the kernels of [`super::cube`], and on their
//! autodiff wrappers as one graph node with a hand-written backward through time.

use std::ops::Range;
use std::sync::Arc;

#[cfg(feature = "flex")]
use burn::backend::Flex;
#[cfg(feature = "ndarray")]
use burn::backend::NdArray;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, TensorMetadata, backend_extension};
use burn::tensor::{Shape, Slice, TensorData};

#[cfg(feature = "wgpu")]
use super::device::{self, DeviceRecurrence};
use super::host::{read, with_rows, with_values};
use super::kernel::{Dims, FusedCell, Inputs, OutputLayout, SavedRun};
use super::packed_cache::Owner;

/// What the fused recurrence computes besides its tensors.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// The cell's gate math with its kernel driver.
    pub cell: &'static dyn FusedCell,
    /// Valid length of each example; `None` when all are full length.
    pub lengths: Option<Vec<usize>>,
    /// How the caller reads the outputs: batch-major when they go straight to a batch-first
    /// caller, time-major when the next layer, the other direction or a time reversal reads
    /// them. A hint: see [`Differentiable::outputs_layout`].
    pub layout: OutputLayout,
    /// Whether the packed-weight cache may keep `W_hh` ([`Kernel::weight_hh_kept`]).
    ///
    /// [`Kernel::weight_hh_kept`]: super::Kernel::weight_hh_kept
    pub weight_hh_kept: bool,
}

impl Spec {
    /// The dimensions of a run on inputs of `shapes` (the trait's seven, in its order): the
    /// steps computed are the longest length.
    pub fn dims(&self, shapes: &[Shape; 7]) -> Dims {
        let [seq, batch, input] = shapes[0].dims::<3>();
        Dims {
            seq,
            steps: self
                .lengths
                .as_ref()
                .map_or(seq, |l| l.iter().copied().max().unwrap_or(0)),
            batch,
            input,
            hidden: shapes[5].dims::<2>()[1],
            proj: shapes[2].dims::<2>()[1],
        }
    }
}

/// One layer and direction of a recurrent network over a whole sequence.
#[backend_extension(
    NdArray: cfg(feature = "ndarray"),
    Flex: cfg(feature = "flex"),
    Cube: cfg(feature = "wgpu"),
    Autodiff
)]
pub(crate) trait FusedRecurrence: Backend {
    /// `x: [seq, batch, input]` (time-major), weights and biases in PyTorch's layout
    /// (`[G * H, input]`, `[G * H, P]`, `[G * H]`), the projection of `h` `[P, H]` (`[0, H]`
    /// without one: `P = H`), and the initial state flattened, `[batch * (P + (S - 1) * H)]`
    /// (its `S` parts: `h: [batch, P]`, then the cell's others, `[batch, H]` each). Returns the
    /// outputs `[seq, batch, P]` (zero in the padding; a view of batch-major values where
    /// `spec` asks, on the CPU backends for training only, on the device backends always, see
    /// [`Differentiable::outputs_layout`]) and the final state, flattened as the initial one.
    #[allow(clippy::too_many_arguments)]
    fn fused_recurrence(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        b_ih: FloatTensor<Self>,
        b_hh: FloatTensor<Self>,
        w_hr: FloatTensor<Self>,
        state: FloatTensor<Self>,
        spec: Spec,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
}

/// The seven tensor inputs, in the trait's order.
pub(crate) type Primitives<B> = [FloatTensor<B>; 7];

/// What the autodiff wrapper needs of a backend's fused recurrence: a forward pass that keeps
/// what the backward pass reads, and that backward pass.
pub(crate) trait Differentiable: Backend {
    /// What the forward pass keeps.
    type Saved: Clone + Send + Sync + std::fmt::Debug + 'static;

    /// The layout of the outputs in the packed output of a run of `spec`.
    fn outputs_layout(spec: &Spec) -> OutputLayout;

    /// The packed output (the outputs in [`Self::outputs_layout`], then the final state
    /// flattened, as one `[len]` tensor), its dimensions, and when `save` what the backward
    /// pass needs.
    fn forward_saving(
        tensors: Primitives<Self>,
        spec: &Spec,
        save: bool,
    ) -> (FloatTensor<Self>, Dims, Option<Self::Saved>);

    /// The gradients of the seven inputs, from `grad`, the packed output's.
    fn backward(saved: Self::Saved, grad: FloatTensor<Self>) -> Primitives<Self>;
}

fn write<B: Backend>(data: Vec<f32>, shape: Vec<usize>, device: &B::Device) -> FloatTensor<B> {
    B::float_from_data(TensorData::new(data, shape), device)
}

/// Runs the host kernel on backend `B`'s tensors: the packed output (the outputs in `layout`,
/// then the final state's parts, see [`FusedCell::forward`]) as host values, its dimensions,
/// and when `save` what the backward pass needs.
fn run_host<B: Backend>(
    tensors: Primitives<B>,
    spec: &Spec,
    (save, layout): (bool, OutputLayout),
) -> (Vec<f32>, Dims, Option<Arc<dyn SavedRun>>) {
    let dims = spec.dims(&tensors.each_ref().map(TensorMetadata::shape));
    let [x, w_ih, w_hh, b_ih, b_hh, w_hr, state] = tensors;
    let [b_ih, b_hh, state] = [b_ih, b_hh, state].map(read::<B>);
    // A run of one step (a decoder's) and inference keep their packed weights between calls;
    // training changes the weights at every optimizer step. Not a `W_hh` made for this call.
    let keep = dims.steps == 1 || !save;
    let owners = [(&w_ih, true), (&w_hh, spec.weight_hh_kept)]
        .map(|(w, kept)| (keep && kept).then(|| Owner::of::<B>(w)).flatten());
    // `x` and the weights are only read: no host copy of an ndarray tensor (2.5 MiB per call at
    // the benchmark shape, copied on one thread while the others waited).
    let (packed, saved) = with_rows::<B, _>(x, |x| {
        with_values::<B, _>(w_ih, |w_ih| {
            with_values::<B, _>(w_hh, |w_hh| {
                with_values::<B, _>(w_hr, |w_hr| {
                    let inputs = Inputs {
                        x,
                        w_ih,
                        w_hh,
                        b_ih,
                        b_hh,
                        w_hr,
                        state,
                        owners,
                    };
                    spec.cell
                        .forward(dims, inputs, spec.lengths.as_deref(), (save, layout))
                })
            })
        })
    });
    (packed, dims, saved)
}

/// The shape `[seq, batch, P]` of the outputs, the packed output's first values.
fn outputs_shape(dims: &Dims) -> Vec<usize> {
    vec![dims.seq, dims.batch, dims.proj]
}

/// The shape `[batch, seq, P]` of batch-major outputs.
fn batch_major_shape(dims: &Dims) -> Vec<usize> {
    vec![dims.batch, dims.seq, dims.proj]
}

macro_rules! host_backend {
    ($backend:ty) => {
        impl Differentiable for $backend {
            /// The host kernel's saved run, the input shapes, and the device.
            type Saved = (
                Arc<dyn SavedRun>,
                [Vec<usize>; 7],
                <$backend as burn::backend::BackendTypes>::Device,
            );

            /// The layout `spec` asks for: batch-major, what a batch-first caller gets is
            /// contiguous rather than a permuted view of a slice of the packed output (on
            /// flex, a sum of such a view takes 3.8× as long, an element-wise operation 10×:
            /// BENCHMARKS.md), for the price of a transposing copy where the saved run copied
            /// its outputs anyway.
            fn outputs_layout(spec: &Spec) -> OutputLayout {
                spec.layout
            }

            fn forward_saving(
                tensors: Primitives<Self>,
                spec: &Spec,
                save: bool,
            ) -> (FloatTensor<Self>, Dims, Option<Self::Saved>) {
                let device = tensors[0].device();
                let shapes = tensors.each_ref().map(|t| t.shape().to_vec());
                let layout = (save, Self::outputs_layout(spec));
                let (packed, dims, saved) = run_host::<Self>(tensors, spec, layout);
                let len = packed.len();
                let packed = write::<Self>(packed, vec![len], &device);
                (packed, dims, saved.map(|saved| (saved, shapes, device)))
            }

            fn backward(
                (saved, shapes, device): Self::Saved,
                grad: FloatTensor<Self>,
            ) -> Primitives<Self> {
                let values = with_values::<Self, _>(grad, |grad| saved.backward(grad).into_array());
                let mut shapes = shapes.into_iter();
                values.map(|value| {
                    write::<Self>(value, shapes.next().expect("seven shapes"), &device)
                })
            }
        }

        impl FusedRecurrence for $backend {
            fn fused_recurrence(
                x: FloatTensor<Self>,
                w_ih: FloatTensor<Self>,
                w_hh: FloatTensor<Self>,
                b_ih: FloatTensor<Self>,
                b_hh: FloatTensor<Self>,
                w_hr: FloatTensor<Self>,
                state: FloatTensor<Self>,
                spec: Spec,
            ) -> (FloatTensor<Self>, FloatTensor<Self>) {
                let device = x.device();
                // Time-major: the run's own buffer, not copied.
                let tensors = [x, w_ih, w_hh, b_ih, b_hh, w_hr, state];
                let layout = (false, OutputLayout::TimeMajor);
                let (mut outputs, dims, _) = run_host::<Self>(tensors, &spec, layout);
                // The final state moves out of the host buffer, which the outputs keep
                // (slicing a Burn tensor would copy the outputs instead).
                let finals = outputs.split_off(dims.seq * dims.batch * dims.proj);
                let len = finals.len();
                (
                    write::<Self>(outputs, outputs_shape(&dims), &device),
                    write::<Self>(finals, vec![len], &device),
                )
            }
        }
    };
}

#[cfg(feature = "ndarray")]
host_backend!(NdArray);
#[cfg(feature = "flex")]
host_backend!(Flex);

/// [`Differentiable`] and [`FusedRecurrence`] on a [`DeviceRecurrence`] backend.
#[cfg(feature = "wgpu")]
macro_rules! device_backend {
    ([$($generics:tt)*] $backend:ty) => {
        impl<$($generics)*> Differentiable for $backend {
            type Saved = device::DeviceSaved<Self>;

            /// The layout `spec` asks for: the kernels write either in place.
            fn outputs_layout(spec: &Spec) -> OutputLayout {
                spec.layout
            }

            fn forward_saving(
                tensors: Primitives<Self>,
                spec: &Spec,
                save: bool,
            ) -> (FloatTensor<Self>, Dims, Option<Self::Saved>) {
                device::forward_saving(tensors, spec, save)
            }

            fn backward(saved: Self::Saved, grad: FloatTensor<Self>) -> Primitives<Self> {
                device::backward(saved, grad)
            }
        }

        impl<$($generics)*> FusedRecurrence for $backend {
            fn fused_recurrence(
                x: FloatTensor<Self>,
                w_ih: FloatTensor<Self>,
                w_hh: FloatTensor<Self>,
                b_ih: FloatTensor<Self>,
                b_hh: FloatTensor<Self>,
                w_hr: FloatTensor<Self>,
                state: FloatTensor<Self>,
                spec: Spec,
            ) -> (FloatTensor<Self>, FloatTensor<Self>) {
                let tensors = [x, w_ih, w_hh, b_ih, b_hh, w_hr, state];
                let (packed, dims, _) = device::forward_saving::<Self>(tensors, &spec, false);
                split_packed::<Self>(packed, &dims, spec.layout)
            }
        }
    };
}

#[cfg(feature = "wgpu")]
device_backend!([] burn_cubecl::CubeBackend);
// What burn's default features (`fusion`) make of the CubeCL backend.
#[cfg(feature = "wgpu")]
device_backend!([B: burn_fusion::FusionBackend + DeviceRecurrence] burn_fusion::Fusion<B>);

/// The outputs `[seq, batch, P]` (stored as `layout` says) and the final state `[len]` of a
/// packed output.
fn split_packed<B: Backend>(
    packed: FloatTensor<B>,
    dims: &Dims,
    layout: OutputLayout,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let len = packed.shape()[0];
    let slice =
        |range: std::ops::Range<usize>| B::float_slice(packed.clone(), &[Slice::from(range)]);
    let outputs = slice(0..dims.seq * dims.batch * dims.proj);
    let outputs = match layout {
        OutputLayout::TimeMajor => B::float_reshape(outputs, outputs_shape(dims).into()),
        OutputLayout::BatchMajor => B::float_swap_dims(
            B::float_reshape(outputs, batch_major_shape(dims).into()),
            0,
            1,
        ),
    };
    (outputs, slice(dims.seq * dims.batch * dims.proj..len))
}

/// The backward through time of [`FusedRecurrence::fused_recurrence`].
#[derive(Debug)]
struct FusedRecurrenceBackward;

impl<B: Differentiable> Backward<B, 7> for FusedRecurrenceBackward {
    type State = B::Saved;

    fn backward(self, ops: Ops<Self::State, 7>, grads: &mut Gradients, _: &mut Checkpointer) {
        let values = B::backward(ops.state, grads.consume::<B>(&ops.node));
        for (parent, value) in ops.parents.into_iter().zip(values) {
            if let Some(node) = parent {
                grads.register::<B>(node.id, value);
            }
        }
    }
}

impl<B: FusedRecurrence + Differentiable, C: CheckpointStrategy> FusedRecurrence
    for Autodiff<B, C>
{
    fn fused_recurrence(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        b_ih: FloatTensor<Self>,
        b_hh: FloatTensor<Self>,
        w_hr: FloatTensor<Self>,
        state: FloatTensor<Self>,
        spec: Spec,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let tensors = [x, w_ih, w_hh, b_ih, b_hh, w_hr, state];
        let nodes = tensors.each_ref().map(|t| t.node());
        let primitives = tensors.map(|t| t.into_primitive());
        let prep = FusedRecurrenceBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful();
        let tracked = matches!(prep, OpsKind::Tracked(_));
        let (packed, dims, saved) = B::forward_saving(primitives, &spec, tracked);
        let layout = B::outputs_layout(&spec);
        let packed = match prep {
            OpsKind::Tracked(prep) => prep.finish(saved.expect("saved when tracked"), packed),
            OpsKind::UnTracked(prep) => prep.finish(packed),
        };
        // One graph node; the outputs and the final states are parts of it.
        let len = packed.shape()[0];
        let outputs = dims.seq * dims.batch * dims.proj;
        let (shape, swapped) = match layout {
            OutputLayout::BatchMajor => (batch_major_shape(&dims), true),
            OutputLayout::TimeMajor => (outputs_shape(&dims), false),
        };
        (
            packed_part::<B, C>(&packed, (0..outputs, len), shape, swapped),
            packed_part::<B, C>(&packed, (outputs..len, len), vec![len - outputs], false),
        )
    }
}

/// Values `range` of the packed output (of `len` values) as a tensor of `shape` (with its first
/// two dimensions `swapped` after), a graph node of its own ([`PackedPart`]).
fn packed_part<B: Backend, C: CheckpointStrategy>(
    packed: &FloatTensor<Autodiff<B, C>>,
    (range, len): (Range<usize>, usize),
    shape: Vec<usize>,
    swapped: bool,
) -> FloatTensor<Autodiff<B, C>> {
    let node = packed.node();
    let values = packed.clone().into_primitive();
    let device = values.device();
    let part = B::float_slice(values, &[Slice::from(range.clone())]);
    let mut part = B::float_reshape(part, shape.into());
    if swapped {
        part = B::float_swap_dims(part, 0, 1);
    }
    match PackedPart.prepare::<C>([node]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish((range, len, swapped, device), part),
        OpsKind::UnTracked(prep) => prep.finish(part),
    }
}

/// The backward of a part of the packed output: the packed output's gradient is the part's,
/// with zeros around it, in one concatenation. (Burn's `slice` backward writes the gradient
/// into a zeroed tensor of the packed length; flex zeroes 2 MiB in 1.4 ms, see BENCHMARKS.md.)
#[derive(Debug)]
struct PackedPart;

impl<B: Backend> Backward<B, 1> for PackedPart {
    /// The part's values in the packed output, the packed output's length, whether the part
    /// swapped its first two dimensions, the device.
    type State = (Range<usize>, usize, bool, B::Device);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (range, len, swapped, device) = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |grad| {
            let dtype = grad.dtype().into();
            let zeros = |n: usize| B::float_zeros(Shape::new([n]), &device, dtype);
            let grad = if swapped {
                B::float_swap_dims(grad, 0, 1)
            } else {
                grad
            };
            let grad = B::float_reshape(grad, Shape::new([range.len()]));
            let parts = [
                (range.start > 0).then(|| zeros(range.start)),
                Some(grad),
                (range.end < len).then(|| zeros(len - range.end)),
            ];
            B::float_cat(parts.into_iter().flatten().collect(), 0)
        });
    }
}

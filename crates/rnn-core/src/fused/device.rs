//! The fused recurrence on a backend that keeps what its backward pass reads in tensors on the
//! device (the CubeCL kernels, [`super::cube`]), rather than in host memory as the CPU kernels
//! do: so that Burn's fusion can defer it like any other operation ([`super::fusion`]).

use burn::backend::Backend;
use burn::backend::tensor::FloatTensor;
use burn::tensor::Shape;

use super::backend::{Primitives, Spec};
use super::kernel::Dims;

/// A backend with the fused recurrence on the device.
pub(crate) trait DeviceRecurrence: Backend {
    /// The length of the packed output of a run on inputs of these shapes, and the shapes of
    /// the tensors it saves for the backward pass (none unless `save`).
    fn layout(shapes: &[Shape; 7], spec: &Spec, save: bool) -> Layout;

    /// Runs the recurrence: the packed output `[len]` (the outputs, `[seq, batch, P]` or
    /// `[batch, seq, P]` as `spec.layout` says, then the final state flattened) and, when
    /// `save`, the saved tensors (as [`Self::layout`] says).
    fn run_forward(
        tensors: Primitives<Self>,
        spec: &Spec,
        save: bool,
    ) -> (FloatTensor<Self>, Vec<FloatTensor<Self>>);

    /// The gradients of the seven inputs from `grad`, the packed output's, for the run on
    /// `inputs` that returned `packed` and `saved`.
    fn run_backward(
        inputs: Primitives<Self>,
        packed: FloatTensor<Self>,
        saved: Vec<FloatTensor<Self>>,
        grad: FloatTensor<Self>,
        spec: &Spec,
    ) -> Primitives<Self>;
}

/// What [`DeviceRecurrence::layout`] says of a run.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// The length of the packed output.
    pub packed: usize,
    /// The shapes of the saved tensors.
    pub saved: Vec<Shape>,
}

/// What the backward pass of a run on the device reads.
#[derive(Debug, Clone)]
pub(crate) struct DeviceSaved<B: Backend> {
    inputs: Primitives<B>,
    packed: FloatTensor<B>,
    saved: Vec<FloatTensor<B>>,
    spec: Spec,
}

/// [`Differentiable::forward_saving`](super::backend::Differentiable::forward_saving) on a
/// [`DeviceRecurrence`] backend.
pub(crate) fn forward_saving<B: DeviceRecurrence>(
    tensors: Primitives<B>,
    spec: &Spec,
    save: bool,
) -> (FloatTensor<B>, Dims, Option<DeviceSaved<B>>) {
    let shapes = tensors.each_ref().map(burn::backend::TensorMetadata::shape);
    let dims = spec.dims(&shapes);
    let inputs = save.then(|| tensors.clone());
    let (packed, saved) = B::run_forward(tensors, spec, save);
    let kept = inputs.map(|inputs| DeviceSaved {
        inputs,
        packed: packed.clone(),
        saved,
        spec: spec.clone(),
    });
    (packed, dims, kept)
}

/// [`Differentiable::backward`](super::backend::Differentiable::backward) on a
/// [`DeviceRecurrence`] backend.
pub(crate) fn backward<B: DeviceRecurrence>(
    saved: DeviceSaved<B>,
    grad: FloatTensor<B>,
) -> Primitives<B> {
    let DeviceSaved {
        inputs,
        packed,
        saved,
        spec,
    } = saved;
    B::run_backward(inputs, packed, saved, grad, &spec)
}

//! The fused recurrence under Burn's fusion (`Fusion<CubeBackend>`, what `burn`'s default
//! features make of wgpu): the forward and the backward pass are each one custom operation
//! in the fusion stream, run by the inner backend's kernels when the stream executes.

use burn::backend::TensorMetadata;
use burn::backend::tensor::FloatTensor;
use burn::tensor::Shape;
use burn_fusion::custom::{
    CustomOpIr, HandleContainer, Operation, OperationIr, StreamId, TensorIr,
};
use burn_fusion::{ExecutionError, Fusion, FusionBackend, FusionRuntime, FusionTensor};

use super::backend::{Primitives, Spec};
use super::device::{DeviceRecurrence, Layout};

/// The forward pass as a fusion operation.
#[derive(Debug)]
struct Forward<B> {
    desc: CustomOpIr,
    spec: Spec,
    save: bool,
    backend: std::marker::PhantomData<fn() -> B>,
}

impl<B: FusionBackend + DeviceRecurrence> Operation<B::FusionRuntime> for Forward<B> {
    fn execute(
        &self,
        handles: &mut HandleContainer<<B::FusionRuntime as FusionRuntime>::FusionHandle>,
    ) -> Result<(), ExecutionError> {
        let inputs: Primitives<B> =
            std::array::from_fn(|k| handles.get_float_tensor::<B>(&self.desc.inputs[k]));
        let (packed, saved) = B::run_forward(inputs, &self.spec, self.save);
        for (ir, tensor) in self
            .desc
            .outputs
            .iter()
            .zip(std::iter::once(packed).chain(saved))
        {
            handles.register_float_tensor::<B>(&ir.id, tensor);
        }
        Ok(())
    }
}

/// The backward pass as a fusion operation: inputs the forward pass's seven, its packed output,
/// what it saved, and the packed output's gradient.
#[derive(Debug)]
struct Backward<B> {
    desc: CustomOpIr,
    spec: Spec,
    backend: std::marker::PhantomData<fn() -> B>,
}

impl<B: FusionBackend + DeviceRecurrence> Operation<B::FusionRuntime> for Backward<B> {
    fn execute(
        &self,
        handles: &mut HandleContainer<<B::FusionRuntime as FusionRuntime>::FusionHandle>,
    ) -> Result<(), ExecutionError> {
        let mut tensors = self
            .desc
            .inputs
            .iter()
            .map(|ir| handles.get_float_tensor::<B>(ir))
            .collect::<Vec<_>>();
        let grad = tensors.pop().expect("the gradient");
        let rest = tensors.split_off(7);
        let mut rest = rest.into_iter();
        let packed = rest.next().expect("the packed output");
        let inputs: Primitives<B> = tensors.try_into().expect("seven inputs");
        let grads = B::run_backward(inputs, packed, rest.collect(), grad, &self.spec);
        for (ir, tensor) in self.desc.outputs.iter().zip(grads) {
            handles.register_float_tensor::<B>(&ir.id, tensor);
        }
        Ok(())
    }
}

/// Registers the custom operation `name` on `inputs` with outputs of `shapes` (`f32`), run by
/// `operation(desc)`; returns the outputs.
fn register<B: FusionBackend, O: Operation<B::FusionRuntime> + 'static>(
    name: &'static str,
    inputs: Vec<FusionTensor<B::FusionRuntime>>,
    shapes: Vec<Shape>,
    operation: impl FnOnce(CustomOpIr) -> O,
) -> Vec<FusionTensor<B::FusionRuntime>> {
    let client = inputs[0].client.clone();
    let outputs: Vec<TensorIr> = shapes
        .into_iter()
        .map(|shape| {
            TensorIr::uninit(
                client.create_empty_handle(),
                shape,
                burn::tensor::DType::F32,
            )
        })
        .collect();
    let inputs: Vec<TensorIr> = inputs.into_iter().map(FusionTensor::into_ir).collect();
    let desc = CustomOpIr::new(name, &inputs, &outputs);
    client.register(
        StreamId::current(),
        OperationIr::Custom(desc.clone()),
        operation(desc),
    )
}

impl<B: FusionBackend + DeviceRecurrence> DeviceRecurrence for Fusion<B> {
    fn layout(shapes: &[Shape; 7], spec: &Spec, save: bool) -> Layout {
        B::layout(shapes, spec, save)
    }

    fn run_forward(
        tensors: Primitives<Self>,
        spec: &Spec,
        save: bool,
    ) -> (FloatTensor<Self>, Vec<FloatTensor<Self>>) {
        let shapes = tensors.each_ref().map(TensorMetadata::shape);
        let layout = B::layout(&shapes, spec, save);
        let shapes = std::iter::once(Shape::new([layout.packed]))
            .chain(layout.saved)
            .collect();
        let mut outputs = register::<B, _>(
            "rnn-core::fused_recurrence",
            tensors.into(),
            shapes,
            |desc| Forward::<B> {
                desc,
                spec: spec.clone(),
                save,
                backend: std::marker::PhantomData,
            },
        );
        let saved = outputs.split_off(1);
        (outputs.pop().expect("the packed output"), saved)
    }

    fn run_backward(
        inputs: Primitives<Self>,
        packed: FloatTensor<Self>,
        saved: Vec<FloatTensor<Self>>,
        grad: FloatTensor<Self>,
        spec: &Spec,
    ) -> Primitives<Self> {
        let shapes = inputs.iter().map(TensorMetadata::shape).collect();
        let tensors = inputs
            .into_iter()
            .chain(std::iter::once(packed))
            .chain(saved)
            .chain(std::iter::once(grad))
            .collect();
        let grads = register::<B, _>(
            "rnn-core::fused_recurrence_backward",
            tensors,
            shapes,
            |desc| Backward::<B> {
                desc,
                spec: spec.clone(),
                backend: std::marker::PhantomData,
            },
        );
        grads.try_into().expect("seven gradients")
    }
}

//! Gradient clipping by the global norm of all of a module's gradients.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{FloatDType, Tensor};

/// Scales the gradients in `grads` of all of `module`'s float parameters by one common factor,
/// `min(1, max_norm / (norm + 1e-6))`, where `norm` is their global L2 norm (the norm of all the
/// gradients as one vector): PyTorch's `torch.nn.utils.clip_grad_norm_`, Keras'
/// `global_clipnorm`. Unlike burn-optim's `GradientClipping::Norm`, which clips each
/// parameter's gradient on its own, this keeps the direction of the whole update.
///
/// Call it between the backward pass and the optimizer step; with burn-train, on the `grads`
/// of the `TrainOutput` that `TrainStep::step` returns. Parameters without a gradient are
/// left out. The norm is computed in f32 (an f16 sum of squares overflows) and stays on the
/// device: clipping does not wait for it.
///
/// Returns the global norm before clipping, `[1]`, or `None` if no parameter has a gradient.
///
/// # Panics
/// If `max_norm` is not a positive finite number.
pub fn clip_grad_norm<M: Module>(
    module: &M,
    grads: &mut GradientsParams,
    max_norm: f64,
) -> Option<Tensor<1>> {
    assert!(
        max_norm.is_finite() && max_norm > 0.0,
        "max_norm: expected a positive finite number, got {max_norm}"
    );
    let mut squares = SumOfSquares { grads, sum: None };
    module.visit(&mut squares);
    let norm = squares.sum?.sqrt();
    let factor = (norm.clone().add_scalar(1e-6).recip() * max_norm).clamp_max(1.0);
    module.visit(&mut Scale { grads, factor });
    Some(norm)
}

/// Adds up the squares of every gradient (f32).
struct SumOfSquares<'a> {
    grads: &'a GradientsParams,
    sum: Option<Tensor<1>>,
}

impl ModuleVisitor for SumOfSquares<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.get::<D>(param.id) {
            let squares = grad.cast(FloatDType::F32).square().sum();
            self.sum = Some(match self.sum.take() {
                Some(sum) => sum + squares,
                None => squares,
            });
        }
    }
}

/// Multiplies every gradient by `factor` (`[1]`, f32).
struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: Tensor<1>,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.remove::<D>(param.id) {
            let dtype = grad.dtype();
            let factor = self.factor.clone().cast(dtype).unsqueeze::<D>();
            self.grads.register(param.id, grad * factor);
        }
    }
}

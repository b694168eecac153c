//! Dropout of the layers around a recurrent network, as one operation on the CPU backends.

use burn::nn::Dropout;
use burn::tensor::Tensor;

/// `layer`'s forward pass: what [`Dropout::forward`] computes. While training (an autodiff
/// device, the layer not frozen, `prob > 0`) each element of `input` (any shape) is zeroed
/// with probability `prob` and the others are scaled by `1 / (1 - prob)`; otherwise `input` is
/// returned as it is.
///
/// On ndarray and flex (`f32`) this is one operation: each element's mask is a hash of its
/// index under a key drawn from Burn's random generator (one draw per call, so `seed` on the
/// backend makes it reproducible), computed in the CPU's vector instructions, the elements
/// shared between the kernel threads ([`kernel_threads`](crate::kernel_threads)) when there
/// are many, and one graph node whose backward pass recomputes the mask instead of keeping it.
/// Burn's dropout draws each element through its ChaCha generator. The masks differ from
/// Burn's (both are Bernoulli draws); elsewhere this is Burn's dropout. NaN stays NaN even
/// where it is dropped, as in Burn and PyTorch.
///
/// ```
/// use burn::nn::DropoutConfig;
/// use burn::tensor::{Device, Tensor};
///
/// let device = Device::default().autodiff();
/// let layer = DropoutConfig::new(0.5).init();
/// let y = rnn_core::dropout_layer(&layer, Tensor::<2>::ones([4, 1000], &device));
/// let kept = y.clone().greater_elem(0.0).int().sum().into_scalar::<i64>();
/// assert!((1800..2200).contains(&kept));
/// ```
pub fn dropout_layer<const D: usize>(layer: &Dropout, input: Tensor<D>) -> Tensor<D> {
    if !layer.training.is_enabled() || !input.device().is_autodiff() || layer.prob == 0.0 {
        return input;
    }
    crate::fused::dropout::dropout(&input, layer.prob).unwrap_or_else(|| layer.forward(input))
}

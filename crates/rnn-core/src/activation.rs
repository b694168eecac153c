//! Activations of the layers around a recurrent network, as one operation on the CPU backends.

use burn::tensor::Tensor;

/// `tanh` of every element of `input` (any shape), what Burn's
/// [`Tensor::tanh`](burn::tensor::Tensor::tanh) computes.
///
/// On ndarray and flex (`f32`, with or without autodiff) this is one operation compiled for the
/// CPU's vector instructions, the elements shared between the kernel threads
/// ([`kernel_threads`](crate::kernel_threads)) when there are many, and one graph node whose
/// backward pass computes `dy (1 - tanh(x)²)` in one pass: those backends compute Burn's `tanh`
/// one element at a time through the C library. Elsewhere it is Burn's `tanh`. Results agree
/// with Burn's to about `1e-7` (absolute); NaN stays NaN.
///
/// ```
/// use burn::tensor::{Device, Tensor};
///
/// let device = Device::default();
/// let x = Tensor::<2>::from_floats([[0.0, 1.0], [-2.0, 20.0]], &device);
/// let y = rnn_core::tanh(x);
/// assert_eq!(y.dims(), [2, 2]);
/// ```
pub fn tanh<const D: usize>(input: Tensor<D>) -> Tensor<D> {
    crate::fused::tanh::tanh(&input).unwrap_or_else(|| input.tanh())
}

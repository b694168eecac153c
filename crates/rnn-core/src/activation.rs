//! Activations of the layers around a recurrent network, and the log-probabilities decoders
//! read from its logits, as one operation on the CPU backends.

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

/// `log_softmax` of `input` along `dim` (`x - ln Σ_dim e^x`), what Burn's
/// [`log_softmax`](burn::tensor::activation::log_softmax) computes: the log-probabilities of
/// logits, e.g. a decoder's `[rows, vocabulary]` at every step.
///
/// Along the last dimension on ndarray and flex (`f32`, with or without autodiff) this is one
/// operation compiled for the CPU's vector instructions, the rows shared between the kernel
/// threads ([`kernel_threads`](crate::kernel_threads)) when there are many, and one graph node
/// whose backward pass computes `dy - softmax(x) Σ dy` in one pass: Burn's is five passes with
/// the C library's `expf` per element. Elsewhere it is Burn's. Results agree with Burn's to
/// about `1e-6` (relative). As in Burn and PyTorch, a row with NaN or `+inf` is NaN throughout,
/// and `-inf` stays `-inf` in a row that has a finite value.
///
/// # Panics
/// If `dim` is not below `D`.
///
/// ```
/// use burn::tensor::{Device, Tensor};
///
/// let device = Device::default();
/// let logits = Tensor::<2>::from_floats([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], &device);
/// let log_probs = rnn_core::log_softmax(logits, 1);
/// let total = log_probs.exp().sum_dim(1); // each row sums to 1
/// total.into_data().assert_approx_eq::<f32>(
///     &burn::tensor::TensorData::from([[1.0], [1.0]]),
///     burn::tensor::Tolerance::default(),
/// );
/// ```
pub fn log_softmax<const D: usize>(input: Tensor<D>, dim: usize) -> Tensor<D> {
    assert!(dim < D, "dim: expected a dimension below {D}, got {dim}");
    let fused = (dim + 1 == D)
        .then(|| crate::fused::log_softmax::log_softmax(&input))
        .flatten();
    fused.unwrap_or_else(|| burn::tensor::activation::log_softmax(input, dim))
}

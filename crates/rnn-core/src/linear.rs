//! Dense layers over the last dimension, `y = x W + b`: Burn's `linear` as one operation on the
//! CPU backends, for the layers around a recurrent network (attention's projections, the
//! output layer over a vocabulary).

use burn::nn::Linear;
use burn::tensor::Tensor;

/// `input · weight + bias` over the last dimension: `input: [.., in]`, `weight: [in, out]`,
/// `bias: [out]` → `[.., out]`, what Burn's [`linear`](burn::tensor::module::linear)
/// computes.
///
/// On ndarray and flex (`f32`, with or without autodiff), from 128 rows (`input`'s leading
/// dimensions together: a training batch's steps, a beam search's hypotheses), this is one
/// operation: the weights packed into the fused kernels' multiply, the rows shared between
/// their threads ([`kernel_threads`](crate::kernel_threads)), and one graph node with a
/// hand-written backward pass. For inference (no autodiff) the packed weights are kept
/// between calls with the same weights (a few per thread, the least recently used dropped),
/// so a decoder's steps pack them once, and from 16 rows of at most 256 inputs the kernel runs
/// too. With fewer rows, where packing the weights would cost more than it saves, and on
/// other backends, it is Burn's `linear`. `weight` may be a transposed view (a layer tied to
/// an embedding, `embedding.weight.val().transpose()`); it is read in place.
///
/// ```
/// use burn::tensor::{Device, Distribution, Tensor};
///
/// let device = Device::default();
/// let x = Tensor::<3>::random([2, 5, 8], Distribution::Default, &device);
/// let weight = Tensor::<2>::random([8, 3], Distribution::Default, &device);
/// let y = rnn_core::linear(x, weight, None);
/// assert_eq!(y.dims(), [2, 5, 3]);
/// ```
///
/// # Panics
/// If `weight`'s first dimension is not `input`'s last, or `bias` is not `[out]` (the message
/// names the argument, the expected and the actual size).
pub fn linear<const D: usize>(
    input: Tensor<D>,
    weight: Tensor<2>,
    bias: Option<Tensor<1>>,
) -> Tensor<D> {
    let dims = input.dims();
    let [d_in, d_out] = weight.dims();
    let features = dims.last().copied().unwrap_or(0);
    assert!(
        D > 0 && features == d_in,
        "input: expected a last dimension of {d_in} (the weight's input size), got shape {dims:?}"
    );
    if let Some(bias) = &bias {
        assert!(
            bias.dims() == [d_out],
            "bias: expected [{d_out}] (the weight's output size), got {:?}",
            bias.dims()
        );
    }
    crate::fused::linear::linear(&input, &weight, bias.as_ref())
        .unwrap_or_else(|| burn::tensor::module::linear(input, weight, bias))
}

/// `layer`'s forward pass through [`linear`]: what [`Linear::forward`] computes, on the CPU
/// backends as one operation. `input: [.., in]` → `[.., out]`.
///
/// # Panics
/// As [`linear`].
pub fn linear_layer<const D: usize>(layer: &Linear, input: Tensor<D>) -> Tensor<D> {
    linear(
        input,
        layer.weight.val(),
        layer.bias.as_ref().map(|b| b.val()),
    )
}

//! The largest values along a dimension, as one pass on the CPU backends: the ranking step of
//! beam search.

use burn::tensor::{Int, Tensor};

/// The `k` largest values of `input` along `dim`, largest first, and their indices: what
/// Burn's [`Tensor::topk_with_indices`] computes (gradients flow to the picked positions).
///
/// Along the last dimension on ndarray and flex (`f32`, with or without autodiff) each row is
/// read once, keeping the best `k` so far (the rows shared between the kernel threads when
/// there are many), where those backends sort the whole row: for beam search's `beam ×
/// vocabulary` candidates per example, most of a step's time. Equal values come lower index
/// first (`-0.0` equals `0.0`), and a NaN of either sign ranks above `+inf`, as in PyTorch's
/// `topk`; Burn's order of ties and NaN differs between backends. Elsewhere, or along another
/// dimension, it is Burn's.
///
/// # Panics
/// As Burn's: if `dim` is not below `D` or `k` is larger than the dimension.
///
/// ```
/// use burn::tensor::{Device, Tensor};
///
/// let device = Device::default();
/// let x = Tensor::<2>::from_floats([[0.1, 0.7, 0.2], [5.0, -1.0, 6.0]], &device);
/// let (values, indices) = rnn_core::topk_with_indices(x, 2, 1);
/// assert_eq!(indices.into_data().iter::<i64>().collect::<Vec<_>>(), [1, 2, 2, 0]);
/// assert_eq!(values.dims(), [2, 2]);
/// ```
pub fn topk_with_indices<const D: usize>(
    input: Tensor<D>,
    k: usize,
    dim: usize,
) -> (Tensor<D>, Tensor<D, Int>) {
    let fused = (dim + 1 == D)
        .then(|| crate::fused::top_k::top_k(&input, k))
        .flatten();
    fused.unwrap_or_else(|| input.topk_with_indices(k, dim))
}

//! `tanh` as one operation on the CPU backends (ndarray, flex): both compute Burn's `tanh` one
//! element at a time with the C library's `tanhf`, here it is [`math::tanh`] compiled for the
//! kernels' vector instructions, and under autodiff one graph node whose backward pass is
//! `dx = dy (1 - y²)` in one pass over the saved output (Burn's is three element-wise
//! operations). For the activations around a recurrent network: Luong attention's
//! attentional state, additive attention's scores, a bridge between encoder and decoder.

use std::cell::Cell;

#[cfg(feature = "flex")]
use burn::backend::Flex;
#[cfg(feature = "ndarray")]
use burn::backend::NdArray;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, backend_extension};
use burn::tensor::Tensor;

use super::elementwise::each_range;
use super::isa::{self, Vectorised};
use super::math;
use super::output_saved::{self, OutputSaved};

/// Element-wise `tanh`.
#[backend_extension(NdArray: cfg(feature = "ndarray"), Flex: cfg(feature = "flex"), Autodiff)]
pub(crate) trait FusedTanh: Backend {
    /// `tanh(x)` of every element, in `x`'s shape (row-major).
    fn fused_tanh(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `out[i] = tanh(x[i])`, or with `dy`, `out[i] = dy[i] (1 - x[i]²)` (`x` being `tanh`'s
/// output): one pass of [`tanh`](crate::tanh) forward or backward over a range of elements.
struct Pass<'a> {
    x: &'a [f32],
    dy: Option<&'a [f32]>,
    out: &'a mut [f32],
}

impl Vectorised for Pass<'_> {
    type Output = ();

    #[inline(always)]
    fn run<const FMA: bool>(self) {
        match self.dy {
            None => self
                .out
                .iter_mut()
                .zip(self.x)
                .for_each(|(out, &x)| *out = math::tanh::<FMA>(x)),
            Some(dy) => self
                .out
                .iter_mut()
                .zip(self.x)
                .zip(dy)
                .for_each(|((out, &y), &dy)| *out = dy * math::mul_add::<FMA>(-y, y, 1.0)),
        }
    }
}

/// [`Pass`] over all of `x` (and `dy`, as long), the elements shared between kernel threads.
fn each_element(x: &[f32], dy: Option<&[f32]>) -> Vec<f32> {
    each_range(x.len(), 1, |first, out| {
        let range = first..first + out.len();
        let (x, dy) = (&x[range.clone()], dy.map(|dy| &dy[range]));
        isa::run(Pass { x, dy, out });
    })
}

thread_local! {
    static RUNS: Cell<usize> = const { Cell::new(0) };
}

/// How many times this thread has run the fused [`tanh`](crate::tanh). For tests that must
/// fail if it silently runs Burn's `tanh` where the kernel should run; not a stable API.
#[doc(hidden)]
pub fn tanh_runs_on_this_thread() -> usize {
    RUNS.get()
}

/// `tanh` as an operation whose backward pass reads its output.
#[derive(Debug)]
struct Tanh;

impl OutputSaved for Tanh {
    fn forward(x: &[f32], _: &[usize]) -> Vec<f32> {
        each_element(x, None)
    }

    fn backward(y: &[f32], dy: &[f32], _: &[usize]) -> Vec<f32> {
        each_element(y, Some(dy))
    }

    fn count_run() {
        RUNS.set(RUNS.get() + 1);
    }
}

macro_rules! host_backend {
    ($backend:ty) => {
        impl FusedTanh for $backend {
            fn fused_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
                output_saved::run_host::<Self, Tanh>(x)
            }
        }
    };
}

#[cfg(feature = "ndarray")]
host_backend!(NdArray);
#[cfg(feature = "flex")]
host_backend!(Flex);

impl<B: FusedTanh, C: CheckpointStrategy> FusedTanh for Autodiff<B, C> {
    fn fused_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        output_saved::tracked::<B, C, Tanh>(x, B::fused_tanh)
    }
}

/// `tanh(x)` through the fused kernel when it can run there (an `f32` tensor on ndarray or
/// flex, with or without autodiff); `None` otherwise.
pub(crate) fn tanh<const D: usize>(x: &Tensor<D>) -> Option<Tensor<D>> {
    if !super::on_host(x) {
        return None;
    }
    Some(Tensor::from_dispatch(
        <burn::backend::Dispatch as FusedTanh>::fused_tanh(x.clone().into_dispatch()),
    ))
}

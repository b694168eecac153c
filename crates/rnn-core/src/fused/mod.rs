//! Fused kernels for the CPU backends (ndarray, flex): one layer and direction of a recurrent
//! network over a whole sequence as a single operation, with a hand-written backward through
//! time under autodiff (one graph node per sequence instead of a dozen per step).
//!
//! [`Recurrent`](crate::Recurrent) uses them when the cell has a [`CellKernel`] and the input
//! is an `f32` tensor on one of those backends; everywhere else it runs the cell step by step
//! with Burn's tensor operations. Both compute the same thing (the PyTorch parity tests run on
//! both paths).

// burn-ndarray is deprecated upstream in favour of flex, but still supported.
#[allow(deprecated)]
mod backend;
mod gates;
mod kernel;
mod math;
mod packed;
mod pool;
mod split;
mod strided;
mod threads;

use burn::backend::DispatchDevice;
use burn::tensor::{DType, Tensor};

use crate::padding::Padding;
use crate::{FusedWeights, Nonlinearity, RnnState};
use backend::{FusedRecurrence, Spec};
pub use threads::{kernel_threads, set_kernel_threads};

/// The gate math of a built-in cell, which the fused CPU kernels implement (see
/// [`Cell::kernel`](crate::Cell::kernel)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKernel {
    /// [`LstmCell`](crate::LstmCell).
    Lstm,
    /// [`GruCell`](crate::GruCell).
    Gru,
    /// [`ElmanCell`](crate::ElmanCell) with its nonlinearity.
    Elman(Nonlinearity),
}

/// Whether the fused kernels can run on `x`'s device and dtype.
pub(crate) fn supports(x: &Tensor<3>) -> bool {
    if x.dtype() != DType::F32 {
        return false;
    }
    match x.device().without_autodiff().as_dispatch() {
        #[cfg(feature = "ndarray")]
        DispatchDevice::NdArray(_) => true,
        #[cfg(feature = "flex")]
        DispatchDevice::Flex(_) => true,
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// Runs `kernel` with `weights` over time-major `input: [seq, batch, input]` from `state`
/// (parts `[batch, hidden]`, zeros when `None`).
///
/// Returns the outputs `[seq, batch, hidden]` (zero past each example's length) and the state
/// after each example's last valid step, like [`Recurrent`](crate::Recurrent)'s step-by-step
/// driver.
pub(crate) fn run(
    kernel: CellKernel,
    weights: &FusedWeights,
    input: Tensor<3>,
    state: Option<RnnState<2>>,
    padding: Option<&Padding>,
) -> (Tensor<3>, RnnState<2>) {
    let [_, batch, _] = input.dims();
    let [width, hidden] = weights.weight_hh.dims();
    let device = input.device();
    let lstm = kernel == CellKernel::Lstm;
    let bias = |b: &Option<burn::module::Param<Tensor<1>>>| {
        b.as_ref()
            .map_or_else(|| Tensor::zeros([width], &device), |b| b.val())
    };
    let (h0, c0) = match state {
        Some(s) => (s.hidden, s.cell),
        None => (Tensor::zeros([batch, hidden], &device), None),
    };
    let c0 = c0.unwrap_or_else(|| Tensor::zeros([batch, hidden], &device));
    let spec = Spec {
        cell: kernel,
        lengths: padding.map(|p| p.lengths.clone()),
    };
    let (outputs, finals) = <burn::backend::Dispatch as FusedRecurrence>::fused_recurrence(
        input.into_dispatch(),
        weights.weight_ih.val().into_dispatch(),
        weights.weight_hh.val().into_dispatch(),
        bias(&weights.bias_ih).into_dispatch(),
        bias(&weights.bias_hh).into_dispatch(),
        h0.into_dispatch(),
        c0.into_dispatch(),
        spec,
    );
    let finals = Tensor::<3>::from_dispatch(finals);
    let state = if lstm {
        let row = |row: usize| finals.clone().narrow(0, row, 1).reshape([batch, hidden]);
        RnnState {
            hidden: row(0),
            cell: Some(row(1)),
        }
    } else {
        RnnState {
            hidden: finals.reshape([batch, hidden]),
            cell: None,
        }
    };
    (Tensor::from_dispatch(outputs), state)
}

//! Fused kernels: one layer and direction of a recurrent network over a whole sequence as a
//! single operation, with a hand-written backward through time under autodiff (one graph node
//! per sequence instead of a dozen per step). On the CPU backends (ndarray, flex) the host
//! kernel ([`kernel`]); on Burn's CubeCL backend (wgpu), with or without burn's `fusion`, the
//! CubeCL kernels ([`cube`], [`fusion`]).
//!
//! [`Recurrent`](crate::Recurrent) uses them when the cell has a [`Kernel`] (the built-in
//! cells: their [`GateMath`](gate_math::GateMath) lives next to their tensor step, and for the
//! classic cells their CubeCL math too) and the input is an `f32` tensor on one of those
//! backends; everywhere else it runs the cell step by step with Burn's tensor operations. Both
//! compute the same thing (the PyTorch parity tests run on both paths).
//!
//! [`cross_entropy`] fuses the training losses' label-smoothed cross-entropy the same way, for
//! [`weighted_cross_entropy`](crate::weighted_cross_entropy), [`linear`] a dense layer, for
//! [`linear`](crate::linear()), [`tanh`] the activation, for [`tanh`](crate::tanh()),
//! [`log_softmax`], for [`log_softmax`](crate::log_softmax()), [`dropout`], for
//! [`dropout_layer`](crate::dropout_layer), and [`top_k`], for
//! [`topk_with_indices`](crate::topk_with_indices).

#![deny(clippy::undocumented_unsafe_blocks)]

// burn-ndarray is deprecated upstream in favour of flex, but still supported.
#[allow(deprecated)]
mod backend;
#[allow(deprecated)]
pub(crate) mod cross_entropy;
#[cfg(feature = "wgpu")]
pub(crate) mod cube;
#[cfg(feature = "wgpu")]
mod device;
mod dot;
#[allow(deprecated)]
pub(crate) mod dropout;
mod elementwise;
#[cfg(feature = "wgpu")]
mod fusion;
pub(crate) mod gate_math;
mod host;
mod isa;
mod kernel;
mod lanes;
#[allow(deprecated)]
pub(crate) mod linear;
#[allow(deprecated)]
pub(crate) mod log_softmax;
pub(crate) mod math;
mod output_saved;
mod packed;
pub(crate) mod packed_cache;
mod pool;
mod shared;
mod split;
mod strided;
#[allow(deprecated)]
pub(crate) mod tanh;
mod threads;
#[allow(deprecated)]
pub(crate) mod top_k;
mod workers;

use burn::backend::DispatchDevice;
use burn::module::Param;
use burn::tensor::{DType, Tensor};

use crate::padding::Padding;
use crate::{Cell, CellState, FusedWeights};
use backend::{FusedRecurrence, Spec};
pub use isa::{KernelIsa, kernel_isa};
use kernel::FusedCell;
pub(crate) use kernel::OutputLayout;
pub use threads::{kernel_threads, set_kernel_threads};

/// The fused kernel of a built-in cell (see [`Cell::kernel`]): its
/// gate math with the kernel driver compiled for it, and the weights it runs with, in the
/// classic cells' layout (PyTorch's, as [`FusedWeights`]). It owns them (Burn tensors share
/// their data), so that a cell whose parameters are laid out otherwise can hand over weights
/// it builds per call (the sLSTM's dense recurrent matrix). Only this crate can make one.
///
/// `P` is the size of `h`: the projection's (`weight_hr`), or `H` without one.
#[derive(Debug, Clone)]
pub struct Kernel {
    pub(crate) math: &'static dyn FusedCell,
    /// `[G * H, input]`.
    pub(crate) weight_ih: Tensor<2>,
    /// `[G * H, P]`, dense.
    pub(crate) weight_hh: Tensor<2>,
    /// `[G * H]` each, zeros when `None`.
    pub(crate) bias_ih: Option<Tensor<1>>,
    pub(crate) bias_hh: Option<Tensor<1>>,
    /// The projection of `h`, `[P, H]` (PyTorch's `weight_hr`), for a cell whose gate math
    /// does not read `h` itself (the LSTM: `h` reaches the gates only through `W_hh`).
    pub(crate) weight_hr: Option<Tensor<2>>,
    /// Whether `weight_hh` holds a parameter's own values, which later calls pass again (not
    /// a matrix made for this call, as the sLSTM's of several heads): only then may the
    /// packed-weight cache keep it (a made one would never be found again, and would evict
    /// weights that would).
    pub(crate) weight_hh_kept: bool,
}

impl Kernel {
    /// The kernel of a classic cell: `math` with the cell's weights as they are, and the
    /// projection `weight_hr` when it has one.
    pub(crate) fn new(
        math: &'static dyn FusedCell,
        weights: &FusedWeights,
        weight_hr: Option<&Param<Tensor<2>>>,
    ) -> Self {
        Self {
            math,
            weight_ih: weights.weight_ih.val(),
            weight_hh: weights.weight_hh.val(),
            bias_ih: weights.bias_ih.as_ref().map(Param::val),
            bias_hh: weights.bias_hh.as_ref().map(Param::val),
            weight_hr: weight_hr.map(Param::val),
            weight_hh_kept: true,
        }
    }
}

/// Where a fused kernel can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The host kernel, on ndarray and flex.
    Host,
    /// The CubeCL kernels, on Burn's CubeCL backend (wgpu and CubeCL's other GPU runtimes).
    #[cfg(feature = "wgpu")]
    Cube,
}

/// Where the fused kernels can run `x` (`None`: on no kernel, for its device or dtype).
fn target(x: &Tensor<3>) -> Option<Target> {
    if on_host(x) {
        return Some(Target::Host);
    }
    if x.dtype() != DType::F32 {
        return None;
    }
    // Not on CubeCL's CPU runtime, which the kernels were never tested on: it runs the layers
    // step by step.
    #[cfg(feature = "wgpu")]
    if let DispatchDevice::Cube(device) = x.device().without_autodiff().as_dispatch()
        && !matches!(device, cubecl::Device::Cpu(_))
    {
        return Some(Target::Cube);
    }
    None
}

/// Whether `x` is an `f32` tensor on one of the CPU backends, where the host kernels (the
/// recurrent ones and the element-wise, loss and dense operations) run.
fn on_host<const D: usize>(x: &Tensor<D>) -> bool {
    x.dtype() == DType::F32 && on_cpu_backend(&x.device())
}

/// Whether `device` is one of the CPU backends that the fused kernels run on (with or without
/// autodiff).
fn on_cpu_backend(device: &burn::tensor::Device) -> bool {
    match device.clone().without_autodiff().as_dispatch() {
        #[cfg(feature = "ndarray")]
        DispatchDevice::NdArray(_) => true,
        #[cfg(feature = "flex")]
        DispatchDevice::Flex(_) => true,
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// `cell`'s kernel when it has one and it can run on `x`'s device and dtype. Only then is it
/// made: making one can cost tensor operations (the sLSTM's dense recurrent matrix). On the
/// CubeCL backend, only for a cell with CubeCL gate math, no projection, and a state that
/// fits a cube's shared memory ([`cube::fits`]).
pub(crate) fn kernel_for<C: Cell>(cell: &C, x: &Tensor<3>) -> Option<Kernel> {
    let target = target(x)?;
    let kernel = cell.kernel()?;
    match target {
        Target::Host => Some(kernel),
        #[cfg(feature = "wgpu")]
        Target::Cube => {
            let math = kernel.math.cube_math()?;
            let hidden = kernel.weight_hh.dims()[1];
            (kernel.weight_hr.is_none() && cube::fits(math, hidden)).then_some(kernel)
        }
    }
}

thread_local! {
    static RUNS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many times this thread has run a fused kernel (on any backend, a sequence or a single
/// step). For tests that must fail if a layer silently runs step by step where a kernel should
/// run; not a stable API.
#[doc(hidden)]
pub fn kernel_runs_on_this_thread() -> usize {
    RUNS.get()
}

/// Runs `kernel` with its weights over time-major `input: [seq, batch, input]` from `state`
/// (parts `h: [batch, P]`, then the others `[batch, H]`; zeros when `None`).
///
/// Returns the outputs `[seq, batch, P]` (zero past each example's length; stored as `layout`
/// says the caller reads them best, where the backend follows it) and the state after each
/// example's last valid step, like [`Recurrent`](crate::Recurrent)'s step-by-step driver.
pub(crate) fn run<S: CellState<2>>(
    kernel: Kernel,
    input: Tensor<3>,
    state: Option<S>,
    padding: Option<&Padding>,
    layout: OutputLayout,
) -> (Tensor<3>, S) {
    RUNS.set(RUNS.get() + 1);
    let [_, batch, _] = input.dims();
    let Kernel {
        math: cell,
        weight_ih,
        weight_hh,
        bias_ih,
        bias_hh,
        weight_hr,
        weight_hh_kept,
    } = kernel;
    let [width, proj] = weight_hh.dims();
    let hidden = weight_hr.as_ref().map_or(proj, |w| w.dims()[1]);
    // Placeholders in the input's dtype (f32, which the kernels read), whatever the device's
    // default float dtype.
    let zeros = (&input.device(), input.dtype());
    let bias = |b: Option<Tensor<1>>| b.unwrap_or_else(|| Tensor::zeros([width], zeros));
    // The parts' widths: `h` (the output), then the cell's others.
    let widths: Vec<usize> = (0..cell.state_parts())
        .map(|k| if k == 0 { proj } else { hidden })
        .collect();
    // `[Σ sizes]`: the parts in the state's order, flattened (they differ in size with a
    // projection).
    let state = match state {
        Some(s) => crate::state::cat(
            s.into_parts()
                .into_iter()
                .map(|p| p.reshape([-1]))
                .collect(),
            0,
        ),
        None => Tensor::zeros([batch * widths.iter().sum::<usize>()], zeros),
    };
    let spec = Spec {
        cell,
        lengths: padding.map(|p| p.lengths.clone()),
        layout,
        weight_hh_kept,
    };
    // Without a projection, `[0, H]`: no rows to project onto.
    let weight_hr = weight_hr.unwrap_or_else(|| Tensor::zeros([0, hidden], zeros));
    let (outputs, finals) = <burn::backend::Dispatch as FusedRecurrence>::fused_recurrence(
        input.into_dispatch(),
        weight_ih.into_dispatch(),
        weight_hh.into_dispatch(),
        bias(bias_ih).into_dispatch(),
        bias(bias_hh).into_dispatch(),
        weight_hr.into_dispatch(),
        state.into_dispatch(),
        spec,
    );
    let finals = Tensor::<1>::from_dispatch(finals);
    let mut start = 0;
    let parts = widths
        .iter()
        .map(|&width| {
            let part = finals.clone().narrow(0, start, batch * width);
            start += batch * width;
            part.reshape([batch, width])
        })
        .collect();
    (Tensor::from_dispatch(outputs), S::from_parts(parts))
}

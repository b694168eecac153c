//! The backend under test, chosen at run time by `RNN_TEST_BACKEND`.

use burn::tensor::{Device, Tensor};

/// Name of the backend under test.
pub fn name() -> String {
    std::env::var("RNN_TEST_BACKEND").unwrap_or_else(|_| "ndarray".to_string())
}

/// Whether the backend under test is one of the CPU backends (ndarray, flex), where the fused
/// host kernels run.
pub fn on_cpu_kernels() -> bool {
    ["ndarray", "flex"].contains(&name().as_str())
}

/// A plain (inference) device of the backend under test.
#[allow(deprecated)] // burn-ndarray is deprecated in favour of flex, and still a backend we support
pub fn device() -> Device {
    match name().as_str() {
        "ndarray" => Device::ndarray(),
        "flex" => Device::flex(),
        "wgpu" => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        other => panic!("RNN_TEST_BACKEND: expected ndarray, wgpu or flex, got {other}"),
    }
}

/// The same device with autodiff.
pub fn autodiff_device() -> Device {
    device().autodiff()
}

/// Whether the backend under test is wgpu wrapped in burn's `fusion` (the `wgpu-fusion` row of
/// `cargo xtask test`, built with `--features burn/fusion`).
#[allow(dead_code)] // rnn-tasks' tests include this file, and do not ask.
pub fn with_fusion() -> bool {
    name() == "wgpu" && std::any::type_name::<burn::backend::Cube>().contains("Fusion")
}

/// Runs first in `cargo xtask test`: the backend can create and read back a tensor.
#[test]
fn backend_available() {
    let device = device();
    let t = Tensor::<1>::from_floats([1.0, 2.0, 3.0], &device);
    let sum: f32 = (t * 2.0).sum().into_scalar();
    assert_eq!(sum, 12.0);
}

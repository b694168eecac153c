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

/// Runs `f` and checks that it ran a fused CPU operation (`what`) exactly `runs` times on the
/// CPU backends and never elsewhere, as `counter` (one of rnn-core's doc-hidden
/// `*_runs_on_this_thread`) counts them.
pub fn expect_runs<R>(what: &str, counter: fn() -> usize, runs: usize, f: impl FnOnce() -> R) -> R {
    let before = counter();
    let result = f();
    let ran = counter() - before;
    let expected = if on_cpu_kernels() { runs } else { 0 };
    assert_eq!(ran, expected, "{what} runs on {}", name());
    result
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

/// Runs first in `cargo xtask test`, with [`backend_available`]: the `wgpu-fusion` row (which
/// sets `RNN_TEST_EXPECT_FUSION=1`, the other rows `0`) really runs wgpu under burn's
/// `fusion`, and the other rows do not (else that row would repeat the wgpu row's tests,
/// reporting success). Without the variable (a plain `cargo test`) there is nothing to check.
#[test]
fn fusion_as_the_row_expects() {
    if let Ok(expected) = std::env::var("RNN_TEST_EXPECT_FUSION") {
        assert_eq!(
            with_fusion(),
            expected == "1",
            "RNN_TEST_EXPECT_FUSION={expected}"
        );
    }
}

/// Runs first in `cargo xtask test`: the backend can create and read back a tensor.
#[test]
fn backend_available() {
    let device = device();
    let t = Tensor::<1>::from_floats([1.0, 2.0, 3.0], &device);
    let sum: f32 = (t * 2.0).sum().into_scalar();
    assert_eq!(sum, 12.0);
}

//! `tanh`: on ndarray and flex the fused CPU activation, against Burn's own `tanh` on the same
//! backend (elsewhere `tanh` is Burn's, and the test checks that nothing else ran): the output
//! and the input's gradient, for 1-D to 4-D tensors, a transposed view, and enough elements to
//! be shared between threads. Saturation, signed zeros and NaN behave as in Burn.

use burn::tensor::{Tensor, TensorData};
use rnn_core::{tanh, tanh_runs_on_this_thread};
use rstest::rstest;

use crate::backend::{autodiff_device, device, on_cpu_kernels};
use crate::fused::assert_close;
use crate::util::{Rng, values};

/// Runs `f` and checks that it ran the tanh exactly `runs` times on the CPU backends.
fn expect_runs<R>(runs: usize, f: impl FnOnce() -> R) -> R {
    crate::backend::expect_runs("fused tanh", tanh_runs_on_this_thread, runs, f)
}

/// The output and the gradient of `x` (under the upstream gradient `upstream`) of `tanh`, the
/// fused one or Burn's.
fn output_and_gradient<const D: usize>(
    x: &Tensor<D>,
    upstream: &Tensor<D>,
    fused: bool,
) -> [Vec<f32>; 2] {
    crate::util::output_and_gradient(x, upstream, |x| {
        if fused {
            expect_runs(1, || tanh(x))
        } else {
            x.tanh()
        }
    })
}

/// Compares the fused `tanh` with Burn's on `x`, inputs scaled by `scale` (values up to about
/// `3 * scale`, into saturation).
fn check<const D: usize>(shape: [usize; D], scale: f32) {
    let device = autodiff_device();
    let mut rng = Rng::new(5);
    let x = rng.tensor::<D>(shape, &device) * scale;
    let upstream = rng.tensor::<D>(shape, &device);
    let fused = output_and_gradient(&x, &upstream, true);
    let expected = output_and_gradient(&x, &upstream, false);
    assert_close("output", &fused[0], &expected[0]);
    assert_close("dx", &fused[1], &expected[1]);
}

#[rstest]
fn matches_burns_tanh(#[values(0.1, 1.0, 4.0)] scale: f32) {
    check([1], scale);
    check([37], scale);
    check([3, 17], scale);
    check([2, 5, 33], scale);
    check([2, 3, 4, 5], scale);
}

/// More elements than one thread takes: the shares' boundaries.
#[test]
fn matches_burns_tanh_across_threads() {
    check([3, 100_003], 2.0);
}

/// A transposed view is read in its logical order.
#[test]
fn reads_a_transposed_view() {
    let device = autodiff_device();
    let mut rng = Rng::new(8);
    let x = rng.tensor::<2>([7, 19], &device).transpose();
    let upstream = rng.tensor::<2>([19, 7], &device);
    let fused = output_and_gradient(&x, &upstream, true);
    let expected = output_and_gradient(&x, &upstream, false);
    assert_close("output", &fused[0], &expected[0]);
    assert_close("dx", &fused[1], &expected[1]);
}

#[test]
fn without_autodiff() {
    let device = device();
    let x = Rng::new(2).tensor::<2>([4, 9], &device);
    let y = expect_runs(1, || tanh(x.clone()));
    assert_close("output", &values(&y), &values(&x.tanh()));
}

/// Exactly where the C library's `tanhf` is exact: zeros keep their sign, tiny values are
/// themselves, large ones and infinities are ±1, NaN stays NaN. (Where the kernel does not run
/// this is Burn's `tanh` as it is: lavapipe's gives `3e-8` for `tanh(1e-30)`.)
#[test]
fn saturates_keeps_signed_zeros_and_propagates_nan() {
    let device = device();
    let inputs = [
        0.0,
        -0.0,
        1e-30,
        -3e-6,
        30.0,
        -30.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    let x = Tensor::<1>::from_data(TensorData::new(inputs.to_vec(), [inputs.len()]), &device);
    let y = values(&expect_runs(1, || tanh(x.clone())));
    if !on_cpu_kernels() {
        assert_eq!(y, values(&x.tanh()));
        return;
    }
    let expected: [f32; 8] = [0.0, -0.0, 1e-30, -3e-6, 1.0, -1.0, 1.0, -1.0];
    for ((got, want), input) in y.iter().zip(expected).zip(inputs) {
        assert!(
            got.to_bits() == want.to_bits() || (got - want).abs() <= 1e-7 * want.abs(),
            "tanh({input}): {got} vs {want}"
        );
    }
    let nan = Tensor::<1>::from_data(TensorData::new(vec![f32::NAN], [1]), &device);
    assert!(values(&tanh(nan))[0].is_nan(), "tanh(NaN)");
}

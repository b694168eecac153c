//! `log_softmax`: along the last dimension on ndarray and flex the fused CPU operation, against
//! Burn's own `log_softmax` on the same backend (elsewhere, and along other dimensions, it is
//! Burn's, and the test checks that nothing else ran): the output and the input's gradient,
//! for 1-D to 4-D tensors, a transposed view, rows of every length against the vector lanes,
//! and enough rows to be shared between threads. NaN, `+inf` and `-inf` behave as in Burn.

use burn::tensor::activation;
use burn::tensor::{Tensor, TensorData};
use rnn_core::{log_softmax, log_softmax_runs_on_this_thread};
use rstest::rstest;

use crate::backend::{autodiff_device, device};
use crate::fused::assert_close;
use crate::util::{Rng, values};

/// Runs `f` and checks that it ran the fused log_softmax exactly `runs` times on the CPU
/// backends.
fn expect_runs<R>(runs: usize, f: impl FnOnce() -> R) -> R {
    crate::backend::expect_runs(
        "fused log_softmax",
        log_softmax_runs_on_this_thread,
        runs,
        f,
    )
}

/// The output and the gradient of `x` (under the upstream gradient `upstream`) of
/// `log_softmax` along the last dimension, the fused one or Burn's.
fn output_and_gradient<const D: usize>(
    x: &Tensor<D>,
    upstream: &Tensor<D>,
    fused: bool,
) -> [Vec<f32>; 2] {
    crate::util::output_and_gradient(x, upstream, |x| {
        if fused {
            expect_runs(1, || log_softmax(x, D - 1))
        } else {
            activation::log_softmax(x, D - 1)
        }
    })
}

/// Compares the fused `log_softmax` with Burn's on `x`, inputs scaled by `scale`.
fn check<const D: usize>(x: Tensor<D>, seed: u64) {
    let mut rng = Rng::new(seed);
    let upstream = rng.tensor::<D>(x.dims(), &x.device());
    let fused = output_and_gradient(&x, &upstream, true);
    let expected = output_and_gradient(&x, &upstream, false);
    assert_close("output", &fused[0], &expected[0]);
    assert_close("dx", &fused[1], &expected[1]);
}

/// A random tensor of `shape` on the autodiff device, its values up to about `3 * scale`.
fn random<const D: usize>(shape: [usize; D], scale: f32) -> Tensor<D> {
    Rng::new(5).tensor::<D>(shape, &autodiff_device()) * scale
}

#[rstest]
fn matches_burns_log_softmax(#[values(0.1, 1.0, 30.0)] scale: f32) {
    check(random([1], scale), 1);
    check(random([37], scale), 2);
    check(random([3, 17], scale), 3);
    check(random([2, 5, 33], scale), 4);
    check(random([2, 3, 4, 5], scale), 5);
    // Rows shorter and longer than a vector, and one row of a decoder's vocabulary.
    for width in [2, 15, 16, 17, 31, 1577] {
        check(random([3, width], scale), 6);
    }
}

/// More rows than one thread takes: the shares' boundaries fall between rows.
#[test]
fn matches_burns_log_softmax_across_threads() {
    check(random([171, 1577], 2.0), 7);
}

/// A transposed view is read in its logical order.
#[test]
fn reads_a_transposed_view() {
    check(random([19, 7], 1.0).transpose(), 8);
}

/// Along any other dimension it is Burn's `log_softmax`.
#[test]
fn other_dimensions_run_burns() {
    let x = Rng::new(3).tensor::<3>([2, 5, 4], &device());
    for dim in 0..2 {
        let y = expect_runs(0, || log_softmax(x.clone(), dim));
        assert_eq!(values(&y), values(&activation::log_softmax(x.clone(), dim)));
    }
}

#[test]
fn without_autodiff() {
    let x = Rng::new(2).tensor::<2>([4, 9], &device());
    let y = expect_runs(1, || log_softmax(x.clone(), 1));
    assert_close(
        "output",
        &values(&y),
        &values(&activation::log_softmax(x, 1)),
    );
}

#[test]
#[should_panic(expected = "dim: expected a dimension below 2, got 2")]
fn refuses_a_dimension_out_of_range() {
    log_softmax(Tensor::<2>::zeros([2, 3], &device()), 2);
}

/// A NaN or `+inf` makes its whole row NaN (PyTorch's and Burn's `log_softmax` too), other
/// rows are untouched, and `-inf` stays `-inf` next to finite values.
#[test]
fn nan_and_infinities_behave_as_in_burn() {
    let (nan, inf) = (f32::NAN, f32::INFINITY);
    let rows = [
        [0.0, nan, 1.0, 2.0],
        [0.0, inf, 1.0, 2.0],
        [-inf, 0.0, 0.0, -inf],
        [1.0, 2.0, 3.0, 4.0],
    ];
    let x = Tensor::<2>::from_data(TensorData::new(rows.concat(), [4, 4]), &device());
    let y = values(&expect_runs(1, || log_softmax(x.clone(), 1)));
    assert!(
        y[..8].iter().all(|v| v.is_nan()),
        "NaN and +inf rows: {y:?}"
    );
    let ln2 = std::f32::consts::LN_2;
    let expected = [-inf, -ln2, -ln2, -inf];
    assert_eq!(y[8], -inf);
    assert_eq!(y[11], -inf);
    assert!((y[9] - expected[1]).abs() < 1e-6 && (y[10] - expected[2]).abs() < 1e-6);
    let finite = values(&activation::log_softmax(x.narrow(0, 3, 1), 1));
    assert_close("finite row", &y[12..], &finite);
}

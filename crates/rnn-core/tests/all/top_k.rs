//! `topk_with_indices`: along the last dimension on ndarray and flex the fused CPU pass, against
//! Burn's own `topk_with_indices` on the same backend (elsewhere, and along other dimensions,
//! it is Burn's, and the test checks that nothing else ran): values, indices and the input's
//! gradient, for every `k` from 1 to the row, rows shared between threads, a transposed view.
//! Ties and `-inf` rows come lower index first on the CPU kernels.

use burn::tensor::{Int, Tensor, TensorData};
use rnn_core::{top_k_runs_on_this_thread, topk_with_indices};

use crate::backend::{autodiff_device, device, on_cpu_kernels};
use crate::fused::assert_close;
use crate::util::{Rng, values};

/// Runs `f` and checks that it ran the fused top-k exactly `runs` times on the CPU backends.
fn expect_runs<R>(runs: usize, f: impl FnOnce() -> R) -> R {
    crate::backend::expect_runs("fused top-k", top_k_runs_on_this_thread, runs, f)
}

fn ints<const D: usize>(t: Tensor<D, Int>) -> Vec<i64> {
    t.into_data().iter::<i64>().collect()
}

/// The values, indices and input gradient (under a random upstream gradient) of the top `k`
/// along the last dimension, the fused pass's or Burn's.
fn top_k<const D: usize>(x: &Tensor<D>, k: usize, fused: bool) -> (Vec<f32>, Vec<i64>, Vec<f32>) {
    let x = x.clone().require_grad();
    let (v, i) = if fused {
        expect_runs(1, || topk_with_indices(x.clone(), k, D - 1))
    } else {
        x.clone().topk_with_indices(k, D - 1)
    };
    let upstream = Rng::new(11).tensor::<D>(v.dims(), &v.device());
    let grads = (v.clone() * upstream).sum().backward();
    (
        values(&v),
        ints(i),
        values(&x.grad(&grads).expect("a gradient")),
    )
}

/// Compares with Burn's on `x` (distinct values: no ties to order differently).
fn check<const D: usize>(x: Tensor<D>, k: usize) {
    let fused = top_k(&x, k, true);
    let expected = top_k(&x, k, false);
    assert_eq!(fused.1, expected.1, "indices, k = {k}");
    assert_close("values", &fused.0, &expected.0);
    assert_close("dx", &fused.2, &expected.2);
}

#[test]
fn matches_burns_topk() {
    let device = autodiff_device();
    let x = Rng::new(3).tensor::<2>([3, 17], &device);
    for k in 1..=17 {
        check(x.clone(), k);
    }
    check(Rng::new(4).tensor::<1>([40], &device), 5);
    check(Rng::new(5).tensor::<3>([2, 3, 50], &device), 10);
}

/// Enough rows for two threads (a beam search step's shape): the shares' rows in order.
#[test]
fn matches_burns_topk_across_threads() {
    check(
        Rng::new(6).tensor::<2>([64, 5 * 1577], &autodiff_device()),
        10,
    );
}

/// A transposed view is read in its logical order.
#[test]
fn reads_a_transposed_view() {
    check(
        Rng::new(7)
            .tensor::<2>([30, 6], &autodiff_device())
            .transpose(),
        4,
    );
}

/// Along any other dimension it is Burn's.
#[test]
fn other_dimensions_run_burns() {
    let x = Rng::new(3).tensor::<2>([6, 5], &device());
    let (v, i) = expect_runs(0, || topk_with_indices(x.clone(), 2, 0));
    let (ev, ei) = x.topk_with_indices(2, 0);
    assert_eq!(values(&v), values(&ev));
    assert_eq!(ints(i), ints(ei));
}

/// `k` larger than the row is refused as Burn refuses it.
#[test]
#[should_panic(expected = "Top K")]
fn refuses_k_larger_than_the_row() {
    topk_with_indices(Tensor::<2>::zeros([2, 3], &device()), 4, 1);
}

/// On the CPU kernels ties come lower index first, a row of `-inf` (a dead beam) gives its
/// first indices, and a NaN of either sign ranks above everything and `-0.0` ties with `0.0`,
/// as in PyTorch's `topk`.
#[test]
fn ties_infinities_and_nan_are_ordered() {
    let inf = f32::INFINITY;
    // What `inf - inf` gives on x86: a NaN with its sign bit set.
    let negative_nan = -f32::NAN;
    let rows = [
        [1.0, 2.0, 1.0, 2.0, 0.0],
        [-inf, -inf, -inf, -inf, -inf],
        [0.0, inf, f32::NAN, -inf, 5.0],
        [1.0, negative_nan, inf, 0.0, 2.0],
        [-1.0, -0.0, 0.0, -2.0, -0.0],
    ];
    let x = Tensor::<2>::from_data(TensorData::new(rows.concat(), [5, 5]), &device());
    let (v, i) = expect_runs(1, || topk_with_indices(x, 3, 1));
    if !on_cpu_kernels() {
        return;
    }
    assert_eq!(ints(i), [1, 3, 0, 0, 1, 2, 2, 1, 4, 1, 2, 4, 1, 2, 4]);
    let v = values(&v);
    assert_eq!(v[..6], [2.0, 2.0, 1.0, -inf, -inf, -inf]);
    assert!(v[6].is_nan() && v[7] == inf && v[8] == 5.0, "{v:?}");
    assert!(v[9].is_nan() && v[10] == inf && v[11] == 2.0, "{v:?}");
}

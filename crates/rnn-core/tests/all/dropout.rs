//! `dropout_layer`: on ndarray and flex the fused CPU dropout, elsewhere Burn's (the test
//! checks that nothing else ran). Both must behave as dropout: while training each element is
//! zeroed or scaled by `1 / (1 - p)`, about a fraction `p` zeroed, the gradient masked the
//! same way, a new mask each call; outside training (an inference device, a frozen layer,
//! `p = 0`) the input as it is. NaN stays NaN.

use burn::module::Module;
use burn::nn::DropoutConfig;
use burn::tensor::{Tensor, TensorData};
use rnn_core::{dropout_layer, dropout_runs_on_this_thread};

use crate::backend::{autodiff_device, device};
use crate::util::{Rng, values};

/// Runs `f` and checks that it ran the dropout exactly `runs` times on the CPU backends.
fn expect_runs<R>(runs: usize, f: impl FnOnce() -> R) -> R {
    crate::backend::expect_runs("fused dropout", dropout_runs_on_this_thread, runs, f)
}

#[test]
fn zeroes_a_fraction_p_and_scales_the_rest_and_their_gradients() {
    let device = autodiff_device();
    let mut rng = Rng::new(4);
    for prob in [0.1, 0.3, 0.8] {
        let layer = DropoutConfig::new(prob).init();
        let shape = [3, 200, 167];
        let x = (rng.tensor::<3>(shape, &device) + 2.0).require_grad();
        let upstream = rng.tensor::<3>(shape, &device);
        let y = expect_runs(1, || dropout_layer(&layer, x.clone()));
        let grads = (y.clone() * upstream.clone()).sum().backward();
        let (xs, ys) = (values(&x), values(&y));
        let (dx, dys) = (values(&x.grad(&grads).unwrap()), values(&upstream));
        let scale = (1.0 / (1.0 - prob)) as f32;
        let mut kept = 0;
        for i in 0..xs.len() {
            let (want_y, want_dx) = match ys[i] {
                0.0 => (0.0, 0.0),
                _ => {
                    kept += 1;
                    (xs[i] * scale, dys[i] * scale)
                }
            };
            let close = |a: f32, b: f32| (a - b).abs() <= 1e-6 * b.abs();
            assert!(
                close(ys[i], want_y),
                "p = {prob}, y[{i}]: {} vs {want_y}",
                ys[i]
            );
            assert!(
                close(dx[i], want_dx),
                "p = {prob}, dx[{i}]: {} vs {want_dx}",
                dx[i]
            );
        }
        // 100,200 Bernoulli draws: the kept fraction's standard deviation is below 0.0016.
        let fraction = kept as f64 / xs.len() as f64;
        assert!(
            (fraction - (1.0 - prob)).abs() < 0.01,
            "p = {prob}: kept {fraction}"
        );
    }
}

#[test]
fn draws_a_new_mask_each_call() {
    let device = autodiff_device();
    let layer = DropoutConfig::new(0.5).init();
    let x = Tensor::<2>::ones([10, 100], &device);
    let first = values(&expect_runs(1, || dropout_layer(&layer, x.clone())));
    let second = values(&expect_runs(1, || dropout_layer(&layer, x)));
    let differ = first.iter().zip(&second).filter(|(a, b)| a != b).count();
    // About half of the elements differ between two independent masks.
    assert!((350..650).contains(&differ), "{differ} of 1,000 differ");
}

#[test]
fn is_the_identity_outside_training() {
    let mut rng = Rng::new(6);
    let x = rng.tensor::<2>([5, 7], &device());
    let layer = DropoutConfig::new(0.5).init();
    let y = expect_runs(0, || dropout_layer(&layer, x.clone()));
    assert_eq!(values(&y), values(&x), "on an inference device");
    let x = x.to_device(&autodiff_device());
    let frozen = DropoutConfig::new(0.5).init().freeze();
    let y = expect_runs(0, || dropout_layer(&frozen, x.clone()));
    assert_eq!(values(&y), values(&x), "frozen");
    let none = DropoutConfig::new(0.0).init();
    let y = expect_runs(0, || dropout_layer(&none, x.clone()));
    assert_eq!(values(&y), values(&x), "p = 0");
}

#[test]
fn nan_stays_nan_where_dropped() {
    let device = autodiff_device();
    let layer = DropoutConfig::new(0.5).init();
    let x = Tensor::<1>::from_data(TensorData::new(vec![f32::NAN; 64], [64]), &device);
    let y = values(&expect_runs(1, || dropout_layer(&layer, x)));
    assert!(y.iter().all(|v| v.is_nan()), "{y:?}");
}

//! `weighted_cross_entropy`: on ndarray and flex the fused CPU kernel, against the same loss
//! composed of Burn's tensor operations, `cross_entropy_in_tensor_ops` (which rnn-tasks' loss
//! tests check against PyTorch on wgpu, where no kernel runs): the value and the logits'
//! gradient, with and without autodiff, label smoothing, padding rows of weight 0, enough rows
//! to be shared between threads. NaN propagates; bad arguments are errors naming them.

use burn::tensor::{Device, Tensor, TensorData};
use rnn_core::{cross_entropy_in_tensor_ops as reference, weighted_cross_entropy};
use rstest::rstest;

use crate::backend::{autodiff_device, device};
use crate::fused::assert_close;
use crate::util::{Rng, values};

/// Rows of logits scaled by up to 8 (so that the softmax is far from uniform), targets, and
/// weights with every seventh row 0 (padding).
fn case(rows: usize, classes: usize, device: &Device) -> (Tensor<2>, Vec<usize>, Vec<f32>) {
    let mut rng = Rng::new(5);
    let logits = rng.tensor([rows, classes], device) * 8.0;
    let targets = (0..rows).map(|_| rng.range(0, classes - 1)).collect();
    let weights = (0..rows)
        .map(|r| {
            if r % 7 == 3 {
                0.0
            } else {
                0.5 + rng.float().abs()
            }
        })
        .collect();
    (logits, targets, weights)
}

#[rstest]
fn matches_the_tensor_operations(
    #[values((5, 3), (37, 133), (300, 1577))] (rows, classes): (usize, usize),
    #[values(0.0, 0.1, 1.0)] eps: f64,
) {
    // Without autodiff: the value.
    let (logits, targets, weights) = case(rows, classes, &device());
    let fused = weighted_cross_entropy(logits.clone(), &targets, &weights, eps).unwrap();
    let expected = reference(logits, &targets, &weights, eps);
    assert_close("loss", &values(&fused), &values(&expected));
    // With autodiff: the value and the logits' gradient.
    let run = |fused: bool| {
        let (logits, targets, weights) = case(rows, classes, &autodiff_device());
        let logits = logits.require_grad();
        let loss = if fused {
            weighted_cross_entropy(logits.clone(), &targets, &weights, eps).unwrap()
        } else {
            reference(logits.clone(), &targets, &weights, eps)
        };
        let grads = loss.backward();
        (values(&loss), values(&logits.grad(&grads).unwrap()))
    };
    let ((loss, grad), (expected_loss, expected_grad)) = (run(true), run(false));
    assert_close("loss under autodiff", &loss, &expected_loss);
    assert_close("gradient", &grad, &expected_grad);
    // A padding row's gradient is zero.
    let zero_row = &grad[3 * classes..4 * classes];
    assert!(zero_row.iter().all(|&g| g == 0.0), "{zero_row:?}");
    if crate::backend::on_cpu_kernels() {
        assert_ne!(
            grad, expected_grad,
            "the same bits as the tensor operations: the kernel did not run"
        );
    }
}

#[test]
fn nan_propagates() {
    for device in [device(), autodiff_device()] {
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![0.5f32, f32::NAN, 1.0, 0.0, 1.0, 2.0], [2, 3]),
            &device,
        );
        let loss = weighted_cross_entropy(logits, &[0, 2], &[1.0, 1.0], 0.1).unwrap();
        assert!(values(&loss)[0].is_nan(), "{:?}", values(&loss));
    }
}

/// A class masked out with `-inf` (on a step that is not padding): without smoothing the loss
/// is the softmax's over the other classes, as PyTorch's `cross_entropy` gives
/// (`log(1 + e)` for `[0, -inf, 1]` and target 0); with smoothing `+inf`, as in PyTorch
/// (the smoothing term reads the masked class's log-probability). The same on the kernel and
/// on the tensor operations.
#[test]
fn a_masked_class_is_left_out_without_smoothing() {
    let inf = f32::INFINITY;
    for device in [device(), autodiff_device()] {
        let logits =
            || Tensor::<2>::from_data(TensorData::new(vec![0.0f32, -inf, 1.0], [1, 3]), &device);
        let fused = weighted_cross_entropy(logits(), &[0], &[1.0], 0.0).unwrap();
        let expected = (1.0 + std::f32::consts::E).ln();
        assert!(
            (values(&fused)[0] - expected).abs() < 1e-5,
            "{:?}",
            values(&fused)
        );
        assert_eq!(
            values(&fused),
            values(&reference(logits(), &[0], &[1.0], 0.0))
        );
        let smoothed = weighted_cross_entropy(logits(), &[0], &[1.0], 0.1).unwrap();
        assert_eq!(values(&smoothed), [inf]);
        assert_eq!(values(&reference(logits(), &[0], &[1.0], 0.1)), [inf]);
    }
}

/// A row of weight 0 is left out whatever its logits (NaN, `-inf`): the loss is the other
/// rows', and the row gets a zero gradient, on the kernel and on the tensor operations.
#[test]
fn a_row_of_weight_0_is_left_out_whatever_its_logits() {
    let (nan, inf) = (f32::NAN, f32::INFINITY);
    let run = |fused: bool| {
        let device = autodiff_device();
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![0.5f32, 1.0, -0.5, nan, -inf, 2.0], [2, 3]),
            &device,
        )
        .require_grad();
        let (targets, weights) = ([0, 1], [1.0, 0.0]);
        let loss = if fused {
            weighted_cross_entropy(logits.clone(), &targets, &weights, 0.1).unwrap()
        } else {
            reference(logits.clone(), &targets, &weights, 0.1)
        };
        let grads = loss.backward();
        (values(&loss), values(&logits.grad(&grads).unwrap()))
    };
    let alone = {
        let logits =
            Tensor::<2>::from_data(TensorData::new(vec![0.5f32, 1.0, -0.5], [1, 3]), &device());
        values(&reference(logits, &[0], &[1.0], 0.1))
    };
    for fused in [true, false] {
        let (loss, grad) = run(fused);
        assert!(
            (loss[0] - alone[0]).abs() < 1e-6,
            "{loss:?} against {alone:?}"
        );
        assert_eq!(grad[3..], [0.0; 3], "fused: {fused}");
        assert!(grad[..3].iter().all(|g| g.is_finite()), "{grad:?}");
    }
}

#[test]
fn bad_arguments_are_errors_naming_them() {
    let device = device();
    let logits = || Tensor::<2>::zeros([2, 3], &device);
    let error = |r: Result<Tensor<1>, rnn_core::RnnError>| r.unwrap_err().to_string();
    assert_eq!(
        error(weighted_cross_entropy(logits(), &[0], &[1.0, 1.0], 0.0)),
        "targets: expected one per row of the logits (2), got 1"
    );
    assert_eq!(
        error(weighted_cross_entropy(logits(), &[0, 1], &[1.0], 0.0)),
        "weights: expected one per row of the logits (2), got 1"
    );
    assert_eq!(
        error(weighted_cross_entropy(logits(), &[0, 3], &[1.0, 1.0], 0.0)),
        "targets[1]: expected a class index in 0..3 (the logits' last dimension), got 3"
    );
    assert_eq!(
        error(weighted_cross_entropy(logits(), &[0, 1], &[1.0, 1.0], 1.5)),
        "smoothing: expected a value in [0, 1], got 1.5"
    );
}

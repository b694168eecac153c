//! Label-smoothed cross-entropy against PyTorch's `cross_entropy(..., label_smoothing=ε)`
//! (values printed by `tests/fixtures/label_smoothing.py`).

use burn::tensor::{Int, Tensor, TensorData};
use rnn_tasks::{label_smoothed_cross_entropy, masked_cross_entropy};
use rstest::rstest;

use crate::backend::device;

/// `[2, 3, 4]` logits, as in the Python script.
const LOGITS: [f32; 24] = [
    0.5, -1.0, 2.0, 0.1, 1.5, 0.3, -0.7, -2.0, 0.0, 0.9, 0.4, -0.3, //
    -0.2, 1.1, 0.6, 2.4, 3.0, 3.0, 3.0, 3.0, 9.0, -9.0, 0.0, 1.0,
];
/// Targets; example 1's last two steps are padding (any value).
const TARGETS: [i64; 6] = [2, 0, 3, 1, 0, 0];
const LENGTHS: [usize; 2] = [3, 1];

#[rstest]
#[case(0.0, 1.1177947897)]
#[case(0.1, 1.1902947897)]
#[case(0.3, 1.3352947897)]
#[case(1.0, 1.8427947897)]
fn label_smoothing_matches_pytorch(#[case] smoothing: f64, #[case] torch_loss: f64) {
    let device = device();
    let logits = Tensor::<3>::from_data(TensorData::new(LOGITS.to_vec(), [2, 3, 4]), &device);
    // Garbage at the padded steps must not count.
    let mut targets = TARGETS;
    targets[4] = 3;
    let targets = Tensor::<2, Int>::from_data(TensorData::new(targets.to_vec(), [2, 3]), &device);
    let loss: f32 =
        label_smoothed_cross_entropy(logits.clone(), targets.clone(), Some(&LENGTHS), smoothing)
            .into_scalar();
    assert!(
        (loss as f64 - torch_loss).abs() < 1e-5,
        "smoothing {smoothing}: {loss} vs PyTorch {torch_loss}"
    );
    if smoothing == 0.0 {
        let plain: f32 = masked_cross_entropy(logits, targets, Some(&LENGTHS)).into_scalar();
        assert_eq!(plain, loss);
    }
}

#[test]
#[should_panic(expected = "smoothing: expected a value in [0, 1], got 1.5")]
fn smoothing_outside_unit_interval_is_refused() {
    let device = device();
    let logits = Tensor::<3>::zeros([1, 1, 3], &device);
    let targets = Tensor::<2, Int>::zeros([1, 1], &device);
    label_smoothed_cross_entropy(logits, targets, None, 1.5);
}

//! Label-smoothed cross-entropy against PyTorch's `cross_entropy(..., label_smoothing=ε)`
//! (values printed by `tests/fixtures/label_smoothing.py`), and the losses' argument checks:
//! lengths, shapes and class indices that would give NaN or a wrong mean are refused.

use burn::tensor::{Device, Int, Tensor, TensorData};
use rnn_tasks::{
    label_smoothed_cross_entropy, masked_cross_entropy, masked_mse,
    try_label_smoothed_cross_entropy, try_masked_cross_entropy, try_masked_mse,
};
use rstest::rstest;

use crate::backend::{autodiff_device, device};

/// `[2, 3, 4]` logits, as in the Python script.
const LOGITS: [f32; 24] = [
    0.5, -1.0, 2.0, 0.1, 1.5, 0.3, -0.7, -2.0, 0.0, 0.9, 0.4, -0.3, //
    -0.2, 1.1, 0.6, 2.4, 3.0, 3.0, 3.0, 3.0, 9.0, -9.0, 0.0, 1.0,
];
/// Targets; example 1's last two steps are padding (any value).
const TARGETS: [i64; 6] = [2, 0, 3, 1, 0, 0];
const LENGTHS: [usize; 2] = [3, 1];

/// The `[2, 3, 4]` [`LOGITS`].
fn logits(device: &Device) -> Tensor<3> {
    Tensor::from_data(TensorData::new(LOGITS.to_vec(), [2, 3, 4]), device)
}

/// `[2, 3]` targets.
fn targets(values: [i64; 6], device: &Device) -> Tensor<2, Int> {
    Tensor::from_data(TensorData::new(values.to_vec(), [2, 3]), device)
}

#[rstest]
#[case(0.0, 1.1177947897)]
#[case(0.1, 1.1902947897)]
#[case(0.3, 1.3352947897)]
#[case(1.0, 1.8427947897)]
fn label_smoothing_matches_pytorch(#[case] smoothing: f64, #[case] torch_loss: f64) {
    let device = device();
    let logits = logits(&device);
    // Garbage at the padded steps must not count.
    let mut garbage = TARGETS;
    garbage[4] = 3;
    let targets = targets(garbage, &device);
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

#[rstest]
#[case::too_few_lengths(
    TARGETS,
    Some(&[3][..]),
    "lengths: expected one length per batch example (2), got 1 lengths"
)]
#[case::zero_length(
    TARGETS,
    Some(&[3, 0][..]),
    "lengths[1]: expected a length in 1..=3 (the sequence length), got 0"
)]
#[case::length_past_the_sequence(
    TARGETS,
    Some(&[4, 1][..]),
    "lengths[0]: expected a length in 1..=3 (the sequence length), got 4"
)]
#[case::class_too_large(
    [2, 4, 3, 1, 0, 0],
    Some(&LENGTHS[..]),
    "targets[0, 1]: expected a class index in 0..4 (the logits' last dimension), got 4"
)]
#[case::negative_class(
    [2, 0, 3, -1, 0, 0],
    Some(&LENGTHS[..]),
    "targets[1, 0]: expected a class index in 0..4 (the logits' last dimension), got -1"
)]
#[case::every_step_is_valid_without_lengths(
    [2, 0, 3, 1, -100, 0],
    None,
    "targets[1, 1]: expected a class index in 0..4 (the logits' last dimension), got -100"
)]
fn cross_entropy_refuses_bad_lengths_and_targets(
    #[case] target_values: [i64; 6],
    #[case] lengths: Option<&[usize]>,
    #[case] expected: &str,
    #[values(0.0, 0.1)] smoothing: f64,
) {
    let device = device();
    let error = try_label_smoothed_cross_entropy(
        logits(&device),
        targets(target_values, &device),
        lengths,
        smoothing,
    )
    .unwrap_err();
    assert_eq!(error.to_string(), expected);
    let error = try_masked_cross_entropy(logits(&device), targets(target_values, &device), lengths)
        .unwrap_err();
    assert_eq!(error.to_string(), expected);
}

#[test]
fn cross_entropy_refuses_bad_shapes_and_smoothing() {
    let device = device();
    let message = |logits: Tensor<3>, targets: Tensor<2, Int>, smoothing: f64| {
        try_label_smoothed_cross_entropy(logits, targets, None, smoothing)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        message(logits(&device), Tensor::zeros([2, 2], &device), 0.0),
        "targets: expected shape [2, 3] (the logits' [batch, seq]), got [2, 2]"
    );
    assert_eq!(
        message(
            Tensor::zeros([0, 3, 4], &device),
            Tensor::zeros([0, 3], &device),
            0.0
        ),
        "logits: expected a non-empty [batch, seq, classes] tensor, got shape [0, 3, 4]"
    );
    assert_eq!(
        message(logits(&device), targets(TARGETS, &device), f64::NAN),
        "smoothing: expected a value in [0, 1], got NaN"
    );
}

/// Padded steps may hold a padding id or PyTorch's ignore index: only valid steps are checked.
#[test]
fn padded_targets_may_hold_anything() {
    let device = device();
    let mut garbage = TARGETS;
    (garbage[4], garbage[5]) = (-100, 99);
    let loss: f32 =
        try_masked_cross_entropy(logits(&device), targets(garbage, &device), Some(&LENGTHS))
            .unwrap()
            .into_scalar();
    let reference: f32 =
        masked_cross_entropy(logits(&device), targets(TARGETS, &device), Some(&LENGTHS))
            .into_scalar();
    assert_eq!(loss, reference);
}

/// Non-finite logits at padded steps (a class masked to `-inf`, NaN) leave the loss and the
/// valid steps' gradients as they are, as PyTorch's `ignore_index` does; the padded steps get
/// no gradient.
#[rstest]
fn padded_logits_may_hold_anything(#[values(0.0, 0.1)] smoothing: f64) {
    let device = autodiff_device();
    let mut wild = LOGITS;
    // Example 1's steps 1 and 2 are padding.
    wild[16..20].copy_from_slice(&[f32::NEG_INFINITY, 0.0, f32::INFINITY, f32::NAN]);
    wild[20..24].copy_from_slice(&[f32::NEG_INFINITY; 4]);
    let loss_and_grad = |values: [f32; 24]| {
        let logits = Tensor::<3>::from_data(TensorData::new(values.to_vec(), [2, 3, 4]), &device)
            .require_grad();
        let loss = label_smoothed_cross_entropy(
            logits.clone(),
            targets(TARGETS, &device),
            Some(&LENGTHS),
            smoothing,
        );
        let grads = loss.backward();
        let grad: Vec<f32> = logits.grad(&grads).unwrap().into_data().iter().collect();
        (loss.into_scalar::<f32>(), grad)
    };
    let (loss, grad) = loss_and_grad(wild);
    let (reference, reference_grad) = loss_and_grad(LOGITS);
    assert_eq!(loss, reference, "smoothing {smoothing}");
    assert_eq!(grad[..16], reference_grad[..16]);
    assert_eq!(grad[16..], [0.0; 8]);
}

#[test]
#[should_panic(
    expected = "targets[0, 1]: expected a class index in 0..4 (the logits' last dimension), got 4"
)]
fn cross_entropy_panics_with_the_message() {
    let device = device();
    masked_cross_entropy(logits(&device), targets([2, 4, 3, 1, 0, 0], &device), None);
}

#[rstest]
#[case::other_features(
    [2, 3, 2],
    [2, 3, 1],
    None,
    "targets: expected shape [2, 3, 2] (the predictions' shape), got [2, 3, 1]"
)]
#[case::empty(
    [2, 0, 2],
    [2, 0, 2],
    None,
    "predictions: expected a non-empty [batch, seq, features] tensor, got shape [2, 0, 2]"
)]
#[case::too_many_lengths(
    [2, 3, 2],
    [2, 3, 2],
    Some(&[3, 1, 2][..]),
    "lengths: expected one length per batch example (2), got 3 lengths"
)]
#[case::zero_length(
    [2, 3, 2],
    [2, 3, 2],
    Some(&[0, 1][..]),
    "lengths[0]: expected a length in 1..=3 (the sequence length), got 0"
)]
#[case::length_past_the_sequence(
    [2, 3, 2],
    [2, 3, 2],
    Some(&[3, 5][..]),
    "lengths[1]: expected a length in 1..=3 (the sequence length), got 5"
)]
fn mse_refuses_bad_shapes_and_lengths(
    #[case] predictions: [usize; 3],
    #[case] goal: [usize; 3],
    #[case] lengths: Option<&[usize]>,
    #[case] expected: &str,
) {
    let device = device();
    let error = try_masked_mse(
        Tensor::zeros(predictions, &device),
        Tensor::zeros(goal, &device),
        lengths,
    )
    .unwrap_err();
    assert_eq!(error.to_string(), expected);
}

#[test]
#[should_panic(expected = "lengths[1]: expected a length in 1..=3 (the sequence length), got 0")]
fn mse_panics_with_the_message() {
    let device = device();
    let zeros = Tensor::<3>::zeros([2, 3, 2], &device);
    masked_mse(zeros.clone(), zeros, Some(&[3, 0]));
}

/// NaN or infinite targets and predictions at padded steps leave the loss and the valid
/// steps' gradients as they are, and give the padded predictions no gradient (not NaN).
#[test]
fn mse_ignores_anything_at_padded_steps() {
    let device = autodiff_device();
    // [2, 3, 2]: example 1 has one valid step.
    let valid: Vec<f32> = (0..12).map(|i| (i as f32 * 0.7).sin()).collect();
    let targets_of = |padding: f32| -> Vec<f32> {
        (0..12)
            .map(|i| {
                if i >= 8 {
                    padding
                } else {
                    (i as f32 * 0.3).cos()
                }
            })
            .collect()
    };
    let loss_and_grad = |predictions: Vec<f32>, targets: Vec<f32>| {
        let predictions =
            Tensor::<3>::from_data(TensorData::new(predictions, [2, 3, 2]), &device).require_grad();
        let targets = Tensor::<3>::from_data(TensorData::new(targets, [2, 3, 2]), &device);
        let loss = masked_mse(predictions.clone(), targets, Some(&[3, 1]));
        let grads = loss.backward();
        let grad: Vec<f32> = predictions
            .grad(&grads)
            .unwrap()
            .into_data()
            .iter()
            .collect();
        (loss.into_scalar::<f32>(), grad)
    };
    let (reference, reference_grad) = loss_and_grad(valid.clone(), targets_of(0.0));
    let mut wild = valid;
    wild[8..].copy_from_slice(&[f32::INFINITY, f32::NAN, -1e30, f32::NEG_INFINITY]);
    for padding in [f32::NAN, f32::INFINITY] {
        let (loss, grad) = loss_and_grad(wild.clone(), targets_of(padding));
        assert_eq!(loss, reference, "padding {padding}");
        assert_eq!(grad[..8], reference_grad[..8]);
        assert_eq!(grad[8..], [0.0; 4]);
    }
}

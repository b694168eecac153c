//! Synchronised many-to-many: one output per valid step, exactly zero at padding.

use burn::tensor::{Int, Tensor, TensorData};
use rnn_tasks::{
    CellKind, InputConfig, RecurrentConfig, SequenceTaggerConfig, masked_cross_entropy, masked_mse,
};
use rstest::rstest;

use crate::backend::device;
use crate::support::{padded, random_sequences, row, single};
use crate::util::{Rng, assert_close};

#[rstest]
fn padding_does_not_change_any_example(#[values(false, true)] bidirectional: bool) {
    for cell in CellKind::ALL {
        padding_does_not_change_an_example_of(cell, bidirectional);
    }
}

fn padding_does_not_change_an_example_of(cell: CellKind, bidirectional: bool) {
    let device = device();
    let tagger = SequenceTaggerConfig::new(
        InputConfig::tokens(15, 4),
        RecurrentConfig::new(6)
            .with_cell(cell)
            .with_bidirectional(bidirectional)
            .with_num_layers(2),
        5,
    )
    .init(&device);
    let sequences = random_sequences(&mut Rng::new(2), &[3, 6, 1], 1, 15);
    let batch = padded(&sequences, 0, 1, &device);
    let out = tagger.forward(batch.tokens, Some(&batch.lengths));
    let seq = out.dims()[1];
    for (b, sequence) in sequences.iter().enumerate() {
        let len = sequence.len();
        let alone = tagger.forward(single(sequence, &device), None);
        let mine = row(&out, b);
        assert_close(
            &format!("example {b}"),
            &mine.clone().narrow(1, 0, len),
            &alone,
            1e-5,
        );
        if len < seq {
            let rest = mine.narrow(1, len, seq - len);
            assert_eq!(
                rest.abs().max().into_scalar::<f32>(),
                0.0,
                "padding is exactly 0"
            );
        }
    }
}

/// The masked losses against their definitions, computed here on the host.
#[test]
fn masked_losses_count_only_valid_steps() {
    let device = device();
    let mut rng = Rng::new(9);
    let logits = rng.tensor([2, 3, 4], &device);
    let targets: Vec<i64> = vec![1, 3, 0, 2, 99, 99]; // example 1 has 1 valid step
    let targets_t = Tensor::<2, Int>::from_data(TensorData::new(targets.clone(), [2, 3]), &device);
    let lengths = [3, 1];
    let loss: f32 = masked_cross_entropy(logits.clone(), targets_t, Some(&lengths)).into_scalar();
    let values = crate::util::values(&logits);
    let mut expected = 0.0f64;
    for (b, &len) in lengths.iter().enumerate() {
        for t in 0..len {
            let row = &values[(b * 3 + t) * 4..(b * 3 + t + 1) * 4];
            let lse = row.iter().map(|&v| (v as f64).exp()).sum::<f64>().ln();
            expected += lse - row[targets[b * 3 + t] as usize] as f64;
        }
    }
    expected /= 4.0;
    assert!(
        (loss as f64 - expected).abs() < 1e-5,
        "cross-entropy {loss} vs {expected}"
    );

    let predictions = rng.tensor([2, 3, 2], &device);
    let goal = rng.tensor([2, 3, 2], &device);
    let mse: f32 = masked_mse(predictions.clone(), goal.clone(), Some(&lengths)).into_scalar();
    let (p, g) = (
        crate::util::values(&predictions),
        crate::util::values(&goal),
    );
    // Valid: example 0's 3 steps and example 1's first step, 2 features each.
    let expected: f32 = (0..8).map(|i| (p[i] - g[i]).powi(2)).sum::<f32>() / 8.0;
    assert!((mse - expected).abs() < 1e-6, "mse {mse} vs {expected}");
}

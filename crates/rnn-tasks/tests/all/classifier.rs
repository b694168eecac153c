//! Many-to-one: every pooling gives, for each example of a padded batch, exactly what the
//! example gives alone; the poolings compute what they say.

use burn::tensor::Tensor;
use rnn_tasks::{
    CellKind, InputConfig, Pooling, RecurrentConfig, SequenceClassifier, SequenceClassifierConfig,
};
use rstest::rstest;

use crate::backend::device;
use crate::support::{padded, random_sequences, row, single};
use crate::util::{Rng, assert_close};

const VOCAB: usize = 20;

fn classifier(
    cell: CellKind,
    bidirectional: bool,
    layers: usize,
    pooling: Pooling,
) -> SequenceClassifier {
    SequenceClassifierConfig::new(
        InputConfig::tokens(VOCAB, 6),
        RecurrentConfig::new(5)
            .with_cell(cell)
            .with_bidirectional(bidirectional)
            .with_num_layers(layers),
        3,
    )
    .with_pooling(pooling)
    .with_mlp_hidden(vec![7])
    .init(&device())
}

#[rstest]
fn padding_does_not_change_any_example(
    #[values(Pooling::Last, Pooling::Mean, Pooling::Max, Pooling::Attention)] pooling: Pooling,
    #[values(
        CellKind::Lstm,
        CellKind::Gru,
        CellKind::Elman,
        CellKind::Slstm,
        CellKind::Mlstm
    )]
    cell: CellKind,
    #[values(false, true)] bidirectional: bool,
) {
    let device = device();
    let model = classifier(cell, bidirectional, 2, pooling);
    let lengths = [4, 7, 1, 5];
    let sequences = random_sequences(&mut Rng::new(11), &lengths, 1, VOCAB);
    // Two more padded steps than the longest sequence needs.
    let batch = padded(&sequences, 0, 2, &device);
    let out = model.forward(batch.tokens, Some(&batch.lengths));
    let seq = out.attention.as_ref().map(|a| a.dims()[1]);
    for (b, sequence) in sequences.iter().enumerate() {
        let alone = model.forward(single(sequence, &device), None);
        let what = format!("{pooling:?} {cell:?} bi={bidirectional} example {b}");
        assert_close(
            &format!("{what} logits"),
            &row(&out.logits, b),
            &alone.logits,
            1e-5,
        );
        assert_close(
            &format!("{what} pooled"),
            &row(&out.pooled, b),
            &alone.pooled,
            1e-5,
        );
        if let (Some(weights), Some(alone_weights)) = (&out.attention, &alone.attention) {
            let len = sequence.len();
            let padded_row = row(weights, b);
            assert_close(
                &format!("{what} attention"),
                &padded_row.clone().narrow(1, 0, len),
                alone_weights,
                1e-5,
            );
            if len < seq.unwrap() {
                let rest = padded_row.narrow(1, len, seq.unwrap() - len);
                assert_eq!(
                    rest.abs().max().into_scalar::<f32>(),
                    0.0,
                    "{what}: padding gets exactly 0"
                );
            }
        }
    }
}

/// Each pooling against its definition, computed here from the encoder outputs (the top
/// layer's: with two layers, `Last` pools the last layer's final state, not the first's).
#[rstest]
fn poolings_compute_their_definition(
    #[values(Pooling::Last, Pooling::Mean, Pooling::Max)] pooling: Pooling,
    #[values(false, true)] bidirectional: bool,
    #[values(1, 2)] layers: usize,
) {
    let device = device();
    let model = classifier(CellKind::Gru, bidirectional, layers, pooling);
    let sequences = random_sequences(&mut Rng::new(3), &[3, 6], 1, VOCAB);
    let batch = padded(&sequences, 0, 0, &device);
    let out = model.forward(batch.tokens.clone(), Some(&batch.lengths));
    let embedded = model
        .input
        .embedding
        .as_ref()
        .unwrap()
        .forward(batch.tokens);
    let outputs = model
        .encoder
        .forward(embedded, None, Some(&batch.lengths))
        .output;
    let hidden = 5;
    for (b, &len) in batch.lengths.iter().enumerate() {
        let valid = row(&outputs, b).narrow(1, 0, len).squeeze_dim::<2>(0); // [len, features]
        let expected: Tensor<2> = match pooling {
            Pooling::Mean => valid.mean_dim(0),
            Pooling::Max => valid.max_dim(0),
            Pooling::Last if bidirectional => Tensor::cat(
                vec![
                    valid.clone().narrow(0, len - 1, 1).narrow(1, 0, hidden),
                    valid.narrow(0, 0, 1).narrow(1, hidden, hidden),
                ],
                1,
            ),
            Pooling::Last => valid.narrow(0, len - 1, 1),
            Pooling::Attention => unreachable!(),
        };
        assert_close(
            &format!("{pooling:?} example {b}"),
            &row(&out.pooled, b),
            &expected,
            1e-6,
        );
    }
}

#[test]
fn attention_weights_are_a_distribution_over_valid_steps() {
    let device = device();
    let model = classifier(CellKind::Lstm, true, 1, Pooling::Attention);
    let sequences = random_sequences(&mut Rng::new(5), &[2, 5, 3], 1, VOCAB);
    let batch = padded(&sequences, 0, 0, &device);
    let weights = model
        .forward(batch.tokens, Some(&batch.lengths))
        .attention
        .unwrap();
    let sums = weights.clone().sum_dim(1);
    assert_close(
        "weights sum to 1",
        &sums,
        &Tensor::ones([3, 1], &device),
        1e-6,
    );
    assert!(weights.min().into_scalar::<f32>() >= 0.0);
}

#[test]
fn raw_features_go_straight_to_the_encoder() {
    let device = device();
    let model = SequenceClassifierConfig::new(InputConfig::features(4), RecurrentConfig::new(6), 2)
        .with_pooling(Pooling::Mean)
        .init(&device);
    let x = Rng::new(1).tensor([3, 5, 4], &device);
    let out = model.forward(x.clone(), Some(&[5, 2, 3]));
    assert_eq!(out.logits.dims(), [3, 2]);
    let alone = model.forward(x.narrow(0, 1, 1).narrow(1, 0, 2), None);
    assert_close(
        "features, padded vs alone",
        &row(&out.logits, 1),
        &alone.logits,
        1e-5,
    );
}

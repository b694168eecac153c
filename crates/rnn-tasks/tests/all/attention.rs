//! The attention weights and context against their definitions, computed here element by
//! element from the module's weights (Burn's `Linear` holds `[in, out]`, `y = x W + b`): the
//! weights the softmax over the valid source positions (0 at padding) of Bahdanau's scores
//! `vᵀ tanh(W_q q + W_k k + b)`, Luong's `qᵀ k` or `qᵀ W k` (so the scores are checked up to
//! a constant per row, which no softmax sees), the context their average of the values.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::Tensor;
use rnn_tasks::{Attention, AttentionKind, padding_mask};
use rstest::rstest;

use crate::backend::device;
use crate::support::Redraw;
use crate::util::{Rng, values};

const BATCH: usize = 2;
const SOURCE: usize = 4;
const KEY: usize = 3;
const ATTENTION: usize = 5;

/// `x W (+ b)` of a `Linear` on one vector, element by element.
fn apply(linear: &Linear, x: &[f32]) -> Vec<f32> {
    let [inputs, outputs] = linear.weight.dims();
    assert_eq!(x.len(), inputs);
    let w = values(&linear.weight.val());
    let b = linear.bias.as_ref().map(|b| values(&b.val()));
    (0..outputs)
        .map(|o| {
            let sum: f32 = (0..inputs).map(|i| x[i] * w[i * outputs + o]).sum();
            sum + b.as_ref().map_or(0.0, |b| b[o])
        })
        .collect()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// The score of `query` against one key (a row of the values) by the kind's definition.
fn score(attention: &Attention, query: &[f32], key: &[f32]) -> f32 {
    match attention {
        Attention::Bahdanau(a) => {
            let (q, k) = (apply(&a.query, query), apply(&a.key, key));
            let hidden: Vec<f32> = q.iter().zip(&k).map(|(q, k)| (q + k).tanh()).collect();
            apply(&a.score, &hidden)[0]
        }
        Attention::Luong(l) => match &l.general {
            Some(general) => dot(query, &apply(general, key)),
            None => dot(query, key),
        },
    }
}

#[rstest]
fn scores_weights_and_context_follow_the_definitions(
    #[values(
        AttentionKind::Bahdanau,
        AttentionKind::LuongDot,
        AttentionKind::LuongGeneral
    )]
    kind: AttentionKind,
    #[values(false, true)] padded: bool,
) {
    let device = device();
    let query_size = if kind == AttentionKind::LuongDot {
        KEY
    } else {
        6
    };
    let attention = Attention::new(kind, query_size, KEY, ATTENTION, &device)
        .map(&mut Redraw(Rng::new(5), 0.8));
    let mut rng = Rng::new(9);
    let keys: Tensor<3> = rng.tensor([BATCH, SOURCE, KEY], &device);
    let query: Tensor<2> = rng.tensor([BATCH, query_size], &device);
    let lengths = if padded { [SOURCE, 2] } else { [SOURCE; 2] };
    let pad = padded.then(|| padding_mask(&lengths, SOURCE, &device).expect("lengths"));
    let memory = attention.memory(keys.clone(), pad);
    let (context, weights) = attention.attend(query.clone(), &memory);
    let (keys, query) = (values(&keys), values(&query));
    let (context, weights) = (values(&context), values(&weights));
    for b in 0..BATCH {
        let q = &query[b * query_size..][..query_size];
        let key = |s: usize| &keys[(b * SOURCE + s) * KEY..][..KEY];
        let scores: Vec<f32> = (0..lengths[b])
            .map(|s| score(&attention, q, key(s)))
            .collect();
        let top = scores.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let total: f32 = scores.iter().map(|s| (s - top).exp()).sum();
        for s in 0..SOURCE {
            let expected = scores
                .get(s)
                .map_or(0.0, |score| (score - top).exp() / total);
            let got = weights[b * SOURCE + s];
            assert!(
                (got - expected).abs() <= 1e-5,
                "{kind:?}, example {b}, source {s}: weight {got}, expected {expected}"
            );
        }
        for k in 0..KEY {
            let expected: f32 = (0..SOURCE)
                .map(|s| weights[b * SOURCE + s] * key(s)[k])
                .sum();
            let got = context[b * KEY + k];
            assert!(
                (got - expected).abs() <= 1e-5,
                "{kind:?}, example {b}: context[{k}] {got}, expected {expected}"
            );
        }
    }
}

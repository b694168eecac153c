//! One-to-many: generation follows the teacher-forced model, sampling is seeded and
//! respects temperature and top-k, the initial state comes from the condition or is learned.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor};
use rnn_tasks::{
    CellKind, DecodeConfig, RecurrentConfig, Sampling, SequenceGenerator, SequenceGeneratorConfig,
};
use rstest::rstest;

use crate::backend::device;
use crate::seq2seq::targets;
use crate::support::row;
use crate::util::{Rng, assert_close};

const VOCAB: usize = 11;
const START: usize = 0;
const END: usize = 1;

fn generator(cell: CellKind, condition: Option<usize>, device: &Device) -> SequenceGenerator {
    SequenceGeneratorConfig::new(
        VOCAB,
        5,
        RecurrentConfig::new(8).with_cell(cell).with_num_layers(2),
    )
    .with_condition_size(condition)
    .init(device)
}

/// The log-probabilities `[len, vocab]` the teacher-forced model gives at each step of
/// `tokens`, for example `b` of `condition`.
fn replay(
    model: &SequenceGenerator,
    condition: Option<Tensor<2>>,
    tokens: &[usize],
    device: &Device,
) -> Tensor<2> {
    let inputs: Vec<usize> = std::iter::once(START)
        .chain(tokens[..tokens.len() - 1].iter().copied())
        .collect();
    let logits = model.forward(targets(&[inputs], device), condition, None);
    log_softmax(logits, 2).squeeze_dim(0)
}

fn picked(log_probs: &Tensor<2>, tokens: &[usize]) -> Vec<f32> {
    let values = crate::util::values(log_probs);
    tokens
        .iter()
        .enumerate()
        .map(|(t, &id)| values[t * VOCAB + id])
        .collect()
}

#[rstest]
fn greedy_generation_follows_the_teacher_forced_model(
    #[values(None, Some(3))] condition_size: Option<usize>,
) {
    for cell in CellKind::ALL {
        greedy_generation_follows_the_teacher_forced_model_of(cell, condition_size);
    }
}

fn greedy_generation_follows_the_teacher_forced_model_of(
    cell: CellKind,
    condition_size: Option<usize>,
) {
    let device = device();
    let model = generator(cell, condition_size, &device);
    let condition = condition_size.map(|size| Rng::new(4).tensor([2, size], &device));
    let decode = DecodeConfig::new(START, END, 6);
    let out = model.generate(condition.clone(), 2, &decode, &Sampling::Greedy);
    for b in 0..2 {
        let tokens = &out.tokens[b];
        assert!(!tokens.is_empty() && tokens.len() <= 6);
        let log_probs = replay(
            &model,
            condition.as_ref().map(|c| row(c, b)),
            tokens,
            &device,
        );
        let argmax: Vec<usize> = log_probs
            .clone()
            .argmax(1)
            .into_data()
            .iter::<i64>()
            .map(|t| t as usize)
            .collect();
        assert_eq!(
            &argmax, tokens,
            "{cell:?} example {b}: each token is the argmax"
        );
        let total: f32 = picked(&log_probs, tokens).iter().sum();
        assert!((total - out.log_probs[b]).abs() < 1e-4);
    }
}

#[test]
fn sampling_is_seeded_and_respects_top_k() {
    let device = device();
    let model = generator(CellKind::Gru, None, &device);
    let decode = DecodeConfig::new(START, END, 8);
    let sample = |seed, temperature, top_k| {
        model.generate(
            None,
            6,
            &decode,
            &Sampling::Random {
                temperature,
                top_k,
                seed,
            },
        )
    };
    assert_eq!(
        sample(7, 1.0, None).tokens,
        sample(7, 1.0, None).tokens,
        "same seed, same samples"
    );
    assert_ne!(
        sample(7, 5.0, None).tokens,
        sample(8, 5.0, None).tokens,
        "seeds differ"
    );
    let greedy = model.generate(None, 6, &decode, &Sampling::Greedy);
    assert_eq!(
        sample(3, 2.0, Some(1)).tokens,
        greedy.tokens,
        "top-1 is greedy"
    );

    // Every token sampled with top-2 is one of the two most likely at its step.
    let out = sample(5, 3.0, Some(2));
    for tokens in &out.tokens {
        let log_probs = replay(&model, None, tokens, &device);
        let top2 = log_probs.topk_with_indices(2, 1).1;
        let top2: Vec<usize> = top2.into_data().iter::<i64>().map(|t| t as usize).collect();
        for (t, token) in tokens.iter().enumerate() {
            assert!(
                top2[2 * t..2 * t + 2].contains(token),
                "step {t}: {token} not in {:?}",
                &top2[2 * t..2 * t + 2]
            );
        }
    }
}

/// Sampled first tokens follow `softmax(log_probs / temperature)` restricted to the top k,
/// computed here from the model's own distribution.
#[rstest]
#[case(0.5, None)]
#[case(1.0, None)]
#[case(3.0, None)]
#[case(2.0, Some(3))]
fn samples_follow_the_tempered_distribution(
    #[case] temperature: f64,
    #[case] top_k: Option<usize>,
) {
    let device = device();
    let model = generator(CellKind::Lstm, None, &device);
    // Sharpen the random model so temperature matters.
    let mut model = model;
    model.output.weight = model.output.weight.map(|w| w * 20.0);
    let log_probs = crate::util::values(&replay(&model, None, &[END], &device));
    let mut order: Vec<usize> = (0..VOCAB).collect();
    order.sort_by(|&a, &b| log_probs[b].total_cmp(&log_probs[a]));
    let kept = &order[..top_k.unwrap_or(VOCAB)];
    let weights: Vec<f64> = (0..VOCAB)
        .map(|t| {
            if kept.contains(&t) {
                (log_probs[t] as f64 / temperature).exp()
            } else {
                0.0
            }
        })
        .collect();
    let total: f64 = weights.iter().sum();

    let n = 4000;
    let decode = DecodeConfig::new(START, END, 1);
    let sampling = Sampling::Random {
        temperature,
        top_k,
        seed: 9,
    };
    let out = model.generate(None, n, &decode, &sampling);
    for (token, weight) in weights.iter().enumerate() {
        let frequency = out.tokens.iter().filter(|t| t[0] == token).count() as f64 / n as f64;
        let expected = weight / total;
        // 4.5 standard errors at most (the draw is seeded, so this is deterministic).
        let tolerance = 4.5 * (expected * (1.0 - expected) / n as f64).sqrt() + 1e-9;
        assert!(
            (frequency - expected).abs() <= tolerance,
            "token {token}: frequency {frequency:.4}, expected {expected:.4} ± {tolerance:.4}"
        );
    }
}

/// For every kind of state the bridge sets: `h` and `c` (LSTM, sLSTM) and the mLSTM's
/// memory, which does not read `h` back.
#[rstest]
fn the_condition_sets_the_initial_state(
    #[values(CellKind::Lstm, CellKind::Gru, CellKind::Slstm, CellKind::Mlstm)] cell: CellKind,
) {
    let device = device();
    let model = generator(cell, Some(4), &device);
    let mut rng = Rng::new(3);
    let inputs = targets(&[vec![START, 4, 5], vec![START, 4, 5]], &device);
    let condition = rng.tensor([2, 4], &device);
    let logits = model.forward(inputs, Some(condition), None);
    let diff = crate::util::max_abs_diff(&row(&logits, 0), &row(&logits, 1));
    assert!(diff > 1e-4, "different conditions, different predictions");
    let one = rng.tensor([1, 4], &device);
    let same = Tensor::cat(vec![one.clone(), one], 0);
    let logits = model.forward(
        targets(&[vec![START, 4], vec![START, 4]], &device),
        Some(same),
        None,
    );
    assert_close(
        "same condition, same predictions",
        &row(&logits, 0),
        &row(&logits, 1),
        0.0,
    );
}

#[test]
fn padding_does_not_change_the_teacher_forced_logits() {
    let device = device();
    let model = generator(CellKind::Lstm, Some(2), &device);
    let condition = Rng::new(6).tensor([2, 2], &device);
    let rows = [vec![START, 3, 4, 5, 6], vec![START, 7, 8, END, END]];
    let logits = model.forward(
        targets(&rows, &device),
        Some(condition.clone()),
        Some(&[5, 3]),
    );
    let alone = model.forward(
        targets(&[rows[1][..3].to_vec()], &device),
        Some(row(&condition, 1)),
        None,
    );
    assert_close("example 1", &row(&logits, 1).narrow(1, 0, 3), &alone, 1e-5);
}

//! The heads learn: small seeded tasks, trained end to end with Adam, reach their targets on
//! held-out data.

use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor};
use rnn_tasks::{
    AttentionKind, CellKind, DecodeConfig, InputConfig, PaddedTokens, RecurrentConfig, Sampling,
    Seq2SeqConfig, SequenceClassifierConfig, SequenceGeneratorConfig, SequenceTaggerConfig,
    masked_cross_entropy,
};

use crate::backend::autodiff_device;
use crate::util::Rng;

/// Trains `model` for `steps` Adam steps on the loss `loss(model, step)`, the learning rate
/// decaying linearly from `lr` to 0 (gradients clipped to norm 1).
fn train<M: Module>(
    mut model: M,
    steps: usize,
    lr: f64,
    loss: impl Fn(&M, usize) -> Tensor<1>,
) -> M {
    let mut optim = AdamConfig::new()
        .with_grad_clipping(Some(GradientClippingConfig::Norm(1.0)))
        .init();
    for step in 0..steps {
        let grads = GradientsParams::from_grads(loss(&model, step).backward(), &model);
        model = optim.step(lr * (1.0 - step as f64 / steps as f64), model, grads);
    }
    model
}

/// Random sequences of `lo..=hi` tokens drawn by `token`.
fn sequences(
    rng: &mut Rng,
    n: usize,
    lo: usize,
    hi: usize,
    mut token: impl FnMut(&mut Rng) -> usize,
) -> Vec<Vec<usize>> {
    (0..n)
        .map(|_| {
            let len = rng.range(lo, hi);
            (0..len).map(|_| token(rng)).collect()
        })
        .collect()
}

fn ints(values: &[usize], device: &Device) -> Tensor<1, Int> {
    let ids: Vec<i64> = values.iter().map(|&v| v as i64).collect();
    Tensor::from_data(burn::tensor::TensorData::new(ids, [values.len()]), device)
}

fn accuracy(predicted: Tensor<1, Int>, expected: Tensor<1, Int>) -> f64 {
    let n = expected.dims()[0];
    let correct: i64 = predicted.equal(expected).int().sum().into_scalar();
    correct as f64 / n as f64
}

/// Many-to-one: is the number of marker tokens (id 1) in the sequence odd?
#[test]
fn classifier_learns_the_parity_of_marker_tokens() {
    let device = autodiff_device();
    device.seed(7);
    let data = |seed, n| {
        let mut rng = Rng::new(seed);
        let seqs = sequences(&mut rng, n, 3, 8, |rng| {
            if rng.range(0, 2) == 0 {
                1
            } else {
                rng.range(2, 7)
            }
        });
        let labels: Vec<usize> = seqs
            .iter()
            .map(|s| s.iter().filter(|&&t| t == 1).count() % 2)
            .collect();
        (seqs, labels)
    };
    let model = SequenceClassifierConfig::new(
        InputConfig::tokens(8, 8),
        RecurrentConfig::new(24).with_cell(CellKind::Gru),
        2,
    )
    .init(&device);
    let model = train(model, 150, 2e-2, |model, step| {
        let (seqs, labels) = data(step as u64, 128);
        let batch = PaddedTokens::new(&seqs, 0, &device);
        let logits = model.forward(batch.tokens, Some(&batch.lengths)).logits;
        masked_cross_entropy(
            logits.unsqueeze_dim(1),
            ints(&labels, &device).unsqueeze_dim(1),
            None,
        )
    });
    let model = model.valid();
    let device = crate::backend::device();
    let (seqs, labels) = data(10_000, 500);
    let batch = PaddedTokens::new(&seqs, 0, &device);
    let predicted = model
        .forward(batch.tokens, Some(&batch.lengths))
        .logits
        .argmax(1)
        .squeeze_dim(1);
    let accuracy = accuracy(predicted, ints(&labels, &device));
    println!("classifier, parity: held-out accuracy {accuracy}");
    assert!(accuracy >= 0.95, "held-out accuracy {accuracy}");
}

/// Many-to-many: output at step t the input of step t - 2 (class 5 before that).
#[test]
fn tagger_learns_to_echo_delayed_input() {
    const DELAY: usize = 2;
    const NONE: usize = 5;
    let device = autodiff_device();
    device.seed(7);
    let data = |seed, n| {
        let mut rng = Rng::new(seed);
        let seqs = sequences(&mut rng, n, 4, 10, |rng| rng.range(0, 4));
        let tags: Vec<Vec<usize>> = seqs
            .iter()
            .map(|s| {
                (0..s.len())
                    .map(|t| if t < DELAY { NONE } else { s[t - DELAY] })
                    .collect()
            })
            .collect();
        (seqs, tags)
    };
    let model = SequenceTaggerConfig::new(
        InputConfig::tokens(5, 8),
        RecurrentConfig::new(24).with_cell(CellKind::Lstm),
        6,
    )
    .init(&device);
    let model = train(model, 100, 3e-2, |model, step| {
        let (seqs, tags) = data(step as u64, 64);
        let batch = PaddedTokens::new(&seqs, 0, &device);
        let tags = PaddedTokens::new(&tags, 0, &device);
        let logits = model.forward(batch.tokens, Some(&batch.lengths));
        masked_cross_entropy(logits, tags.tokens, Some(&batch.lengths))
    });
    let model = model.valid();
    let device = crate::backend::device();
    let (seqs, tags) = data(10_000, 300);
    let batch = PaddedTokens::new(&seqs, 0, &device);
    let predicted = model.forward(batch.tokens, Some(&batch.lengths)).argmax(2);
    let predicted: Vec<i64> = predicted.into_data().iter::<i64>().collect();
    let width = batch.lengths.iter().max().copied().unwrap();
    let (mut correct, mut total) = (0, 0);
    for (b, tags) in tags.iter().enumerate() {
        for (t, &tag) in tags.iter().enumerate() {
            correct += usize::from(predicted[b * width + t] as usize == tag);
            total += 1;
        }
    }
    let accuracy = correct as f64 / total as f64;
    println!("tagger, delayed echo: held-out per-step accuracy {accuracy}");
    assert!(accuracy >= 0.97, "held-out per-step accuracy {accuracy}");
}

/// One-to-many: from a one-hot condition, regenerate each of a handful of sequences exactly.
#[test]
fn generator_overfits_a_handful_of_sequences() {
    let device = autodiff_device();
    device.seed(7);
    let (start, end) = (0, 1);
    let mut rng = Rng::new(77);
    let bodies = sequences(&mut rng, 4, 5, 9, |rng| rng.range(2, 11));
    let inputs: Vec<Vec<usize>> = bodies
        .iter()
        .map(|b| std::iter::once(start).chain(b.iter().copied()).collect())
        .collect();
    let outputs: Vec<Vec<usize>> = bodies
        .iter()
        .map(|b| b.iter().copied().chain(std::iter::once(end)).collect())
        .collect();
    let one_hot = |device: &Device| Tensor::<2>::eye(4, device);
    let model =
        SequenceGeneratorConfig::new(12, 8, RecurrentConfig::new(32).with_cell(CellKind::Gru))
            .with_condition_size(Some(4))
            .init(&device);
    let model = train(model, 100, 1e-2, |model, _| {
        let x = PaddedTokens::new(&inputs, end, &device);
        let y = PaddedTokens::new(&outputs, end, &device);
        let logits = model.forward(x.tokens, Some(one_hot(&device)), Some(&x.lengths));
        masked_cross_entropy(logits, y.tokens, Some(&y.lengths))
    });
    let model = model.valid();
    let generated = model.generate(
        Some(one_hot(&crate::backend::device())),
        4,
        &DecodeConfig::new(start, end, 12),
        &Sampling::Greedy,
    );
    assert_eq!(generated.tokens, outputs);
}

/// Sequence to sequence with attention: reverse random digit strings of length 3 to 8.
#[test]
fn seq2seq_learns_to_reverse_digit_strings() {
    const PAD: usize = 0;
    const START: usize = 1;
    const END: usize = 2;
    let device = autodiff_device();
    device.seed(7);
    let data = |seed, n| {
        let mut rng = Rng::new(seed);
        sequences(&mut rng, n, 3, 8, |rng| rng.range(3, 12))
    };
    let model = Seq2SeqConfig::new(
        13,
        13,
        RecurrentConfig::new(32)
            .with_cell(CellKind::Gru)
            .with_bidirectional(true),
        RecurrentConfig::new(64).with_cell(CellKind::Gru),
    )
    .with_embedding_size(16)
    .with_attention(AttentionKind::LuongGeneral)
    // Without input feeding the teacher-forced decoder runs as one sequence (fast).
    .with_input_feeding(false)
    .init(&device);
    let model = train(model, 150, 1.5e-2, |model, step| {
        let sources = data(step as u64, 64);
        let reversed: Vec<Vec<usize>> = sources
            .iter()
            .map(|s| s.iter().rev().copied().collect())
            .collect();
        let inputs: Vec<Vec<usize>> = reversed
            .iter()
            .map(|r| std::iter::once(START).chain(r.iter().copied()).collect())
            .collect();
        let outputs: Vec<Vec<usize>> = reversed
            .iter()
            .map(|r| r.iter().copied().chain(std::iter::once(END)).collect())
            .collect();
        let source = PaddedTokens::new(&sources, PAD, &device);
        let inputs = PaddedTokens::new(&inputs, PAD, &device);
        let outputs = PaddedTokens::new(&outputs, PAD, &device);
        let out = model.forward(source.tokens, Some(&source.lengths), inputs.tokens);
        masked_cross_entropy(out.logits, outputs.tokens, Some(&outputs.lengths))
    });
    let model = model.valid();
    let device = crate::backend::device();
    let sources = data(10_000, 200);
    let batch = PaddedTokens::new(&sources, PAD, &device);
    let decoded = model.greedy(
        batch.tokens,
        Some(&batch.lengths),
        &DecodeConfig::new(START, END, 10),
    );
    let exact = sources
        .iter()
        .zip(&decoded.tokens)
        .filter(|(s, d)| {
            let expected: Vec<usize> = s
                .iter()
                .rev()
                .copied()
                .chain(std::iter::once(END))
                .collect();
            **d == expected
        })
        .count();
    let exact = exact as f64 / sources.len() as f64;
    println!("seq2seq, reversal: held-out exact match {exact}");
    assert!(exact >= 0.95, "held-out exact match {exact}");
}

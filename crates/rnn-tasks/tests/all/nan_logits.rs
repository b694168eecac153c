//! NaN logits stop every decoding path (greedy, beam search with and without the greedy
//! hypothesis, generation greedy and sampled) with an error naming the step and the example,
//! instead of an arbitrary token, an empty result or a panic deep inside.

use std::ops::Range;

use burn::module::Module;
use burn::nn::{Embedding, Linear};
use burn::tensor::{Int, Tensor};
use rnn_tasks::{
    AttentionKind, BeamSearchConfig, CellKind, DecodeConfig, OutputLayer, RecurrentConfig,
    Sampling, Seq2Seq, SequenceGenerator, SequenceGeneratorConfig,
};

use crate::backend::device;
use crate::seq2seq::{END, SOURCE_VOCAB, START, TARGET_VOCAB, model, targets};
use crate::support::Redraw;
use crate::util::Rng;

/// The error of NaN logits at `step` of `example`.
fn nan_at(step: usize, example: usize) -> String {
    format!("logits: expected finite values, got NaN at step {step} of example {example}")
}

/// `linear` with `value` as the bias of the outputs `outputs`.
fn with_bias(mut linear: Linear, outputs: Range<usize>, value: f32) -> Linear {
    linear.bias = linear
        .bias
        .map(|bias| bias.map(|b| b.slice_fill(outputs, value)));
    linear
}

/// `embedding` with NaN in the row of `token`: only what reads that token turns NaN.
fn with_nan_row(mut embedding: Embedding, token: usize) -> Embedding {
    embedding.weight = embedding
        .weight
        .map(|w| w.slice_fill(token..token + 1, f32::NAN));
    embedding
}

fn seq2seq() -> Seq2Seq {
    model(AttentionKind::LuongGeneral, true, CellKind::Gru, &device())
}

/// `model` with `value` as the bias of the outputs `outputs` of its output layer.
fn with_output_bias(mut model: Seq2Seq, outputs: Range<usize>, value: f32) -> Seq2Seq {
    model.output = match model.output {
        OutputLayer::Linear(linear) => OutputLayer::Linear(with_bias(linear, outputs, value)),
        OutputLayer::Tied(_) => unreachable!("the test models have their own output weights"),
    };
    model
}

/// The errors of greedy decoding and of beam search with and without the greedy hypothesis.
fn seq2seq_errors(model: &Seq2Seq, source: Tensor<2, Int>) -> Vec<String> {
    let decode = DecodeConfig::new(START, END, 5);
    let beam = |keep_greedy| {
        let config = BeamSearchConfig::new(3).with_keep_greedy(keep_greedy);
        model.try_beam_search(source.clone(), None, &decode, &config)
    };
    [
        model.try_greedy(source.clone(), None, &decode),
        beam(true),
        beam(false),
    ]
    .map(|result| result.unwrap_err().to_string())
    .to_vec()
}

#[test]
fn seq2seq_with_a_nan_output_bias() {
    let model = with_output_bias(seq2seq(), 0..TARGET_VOCAB, f32::NAN);
    let source = targets(&[vec![3, 4, 5], vec![6, 7, 8]], &device());
    assert_eq!(seq2seq_errors(&model, source), vec![nan_at(0, 0); 3]);
}

/// A source token with a NaN embedding makes only its example's logits NaN.
#[test]
fn seq2seq_names_the_example_with_nan_logits() {
    let mut model = seq2seq();
    model.source_embedding = with_nan_row(model.source_embedding, 11);
    let source = targets(&[vec![3, 4, 5], vec![6, 11, 8]], &device());
    assert_eq!(seq2seq_errors(&model, source), vec![nan_at(0, 1); 3]);
}

/// Every example emits token 4 first (its bias dominates); reading it back gives NaN logits
/// at step 1.
#[test]
fn seq2seq_names_the_step_with_nan_logits() {
    let mut model = with_output_bias(seq2seq(), 4..5, 50.0);
    model.target_embedding = with_nan_row(model.target_embedding, 4);
    let source = targets(&[vec![3, 4, 5], vec![6, 7, 8]], &device());
    assert_eq!(seq2seq_errors(&model, source), vec![nan_at(1, 0); 3]);
}

/// A sentence that ends leaves the batch: the error still names the example of the batch
/// that has NaN logits. Example 0 emits the end token first; example 1 emits a token whose
/// embedding is NaN, so its logits are NaN at step 1, where it is the only row left. (The
/// weights are drawn wide, so that the two sources' first tokens differ.)
#[test]
fn greedy_names_the_example_after_others_ended() {
    let device = device();
    let model = seq2seq().map(&mut Redraw(Rng::new(3), 2.0));
    let first_tokens = |source: &[Vec<usize>]| {
        let decode = DecodeConfig::new(START, END, 1);
        let decoded = model.greedy(targets(source, &device), None, &decode);
        [decoded.tokens[0][0], decoded.tokens[1][0]]
    };
    let (source, [end, nan]) = (3..SOURCE_VOCAB)
        .map(|token| vec![vec![3, 4, 5], vec![token, token, token]])
        .map(|source| {
            let first = first_tokens(&source);
            (source, first)
        })
        .find(|(_, [a, b])| a != b && *a != START)
        .expect("sources whose first tokens differ");
    let mut model = model.clone();
    model.target_embedding = with_nan_row(model.target_embedding, nan);
    let error = model
        .try_greedy(
            targets(&source, &device),
            None,
            &DecodeConfig::new(START, end, 5),
        )
        .unwrap_err();
    assert_eq!(error.to_string(), nan_at(1, 1));
}

/// Beam search without the greedy hypothesis used to find no hypothesis and panic inside.
#[test]
#[should_panic(expected = "logits: expected finite values, got NaN at step 0 of example 0")]
fn beam_search_panics_with_the_message() {
    let model = with_output_bias(seq2seq(), 0..TARGET_VOCAB, f32::NAN);
    let source = targets(&[vec![3, 4, 5]], &device());
    let config = BeamSearchConfig::new(2).with_keep_greedy(false);
    model.beam_search(source, None, &DecodeConfig::new(START, END, 5), &config);
}

const VOCAB: usize = 7;

/// A generator conditioned on `[batch, 3]` vectors (start 0, end 1 in [`generator_errors`]).
fn generator() -> SequenceGenerator {
    SequenceGeneratorConfig::new(VOCAB, 4, RecurrentConfig::new(6))
        .with_condition_size(Some(3))
        .init(&device())
}

/// The errors of greedy and of sampled generation from `condition: [2, 3]`.
fn generator_errors(model: &SequenceGenerator, condition: Tensor<2>) -> [String; 2] {
    let decode = DecodeConfig::new(0, 1, 5);
    let sampled = Sampling::Random {
        temperature: 1.0,
        top_k: None,
        seed: 3,
    };
    [Sampling::Greedy, sampled].map(|sampling| {
        model
            .try_generate(Some(condition.clone()), 2, &decode, &sampling)
            .unwrap_err()
            .to_string()
    })
}

#[test]
fn generator_with_a_nan_output_bias() {
    let mut model = generator();
    model.output = with_bias(model.output, 0..VOCAB, f32::NAN);
    let condition = Tensor::zeros([2, 3], &device());
    assert_eq!(
        generator_errors(&model, condition),
        [nan_at(0, 0), nan_at(0, 0)]
    );
}

/// A NaN condition makes only its example's logits NaN.
#[test]
fn generator_names_the_example_with_nan_logits() {
    let model = generator();
    let condition = Tensor::<2>::zeros([2, 3], &device()).slice_fill(1..2, f32::NAN);
    assert_eq!(
        generator_errors(&model, condition),
        [nan_at(0, 1), nan_at(0, 1)]
    );
}

/// Every sequence emits token 3 first (its bias dominates); reading it back gives NaN logits
/// at step 1.
#[test]
fn generator_names_the_step_with_nan_logits() {
    let mut model = generator();
    model.output = with_bias(model.output, 3..4, 50.0);
    model.embedding = with_nan_row(model.embedding, 3);
    let condition = Tensor::zeros([2, 3], &device());
    assert_eq!(
        generator_errors(&model, condition),
        [nan_at(1, 0), nan_at(1, 0)]
    );
}

#[test]
#[should_panic(expected = "logits: expected finite values, got NaN at step 0 of example 0")]
fn generate_panics_with_the_message() {
    let mut model = generator();
    model.output = with_bias(model.output, 0..VOCAB, f32::NAN);
    let condition = Tensor::zeros([1, 3], &device());
    model.generate(
        Some(condition),
        1,
        &DecodeConfig::new(0, 1, 5),
        &Sampling::Greedy,
    );
}

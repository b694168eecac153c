//! Bad configs and bad arguments give errors that name the argument, the expected and the
//! actual value.

use burn::tensor::{Int, Tensor};
use rnn_tasks::{
    Attention, AttentionKind, AttentionPooling, BeamSearchConfig, Bridge, CellKind, DecodeConfig,
    InputConfig, LearnedState, Mlp, RecurrentConfig, RnnError, Sampling, Seq2SeqConfig,
    SequenceClassifierConfig, SequenceGeneratorConfig, SequenceTaggerConfig, StateSizes,
    masked_softmax, padding_mask,
};
use rstest::rstest;

use crate::backend::device;
use crate::seq2seq::{END, START, model, targets};
use crate::util::panic_message;

fn classifier() -> rnn_tasks::SequenceClassifier {
    SequenceClassifierConfig::new(InputConfig::tokens(10, 4), RecurrentConfig::new(3), 2)
        .init(&device())
}

fn message<T: std::fmt::Debug>(result: Result<T, rnn_tasks::RnnError>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn token_ids_outside_the_vocabulary() {
    let tokens = targets(&[vec![1, 10, 2]], &device());
    assert_eq!(
        message(classifier().try_forward(tokens, None)),
        "input: expected token ids in 0..10 (the vocabulary size), got id 10"
    );
    let negative = Tensor::<2, Int>::from_ints([[1, -1]], &device());
    assert_eq!(
        message(classifier().try_forward(negative, None)),
        "input: expected token ids in 0..10 (the vocabulary size), got id -1"
    );
}

#[test]
fn empty_sequences() {
    let empty = Tensor::<2, Int>::zeros([2, 0], &device());
    assert_eq!(
        message(classifier().try_forward(empty, None)),
        "input: expected a non-empty batch and sequence, got shape [2, 0]"
    );
}

#[rstest]
#[case(&[3], "lengths: expected one length per batch example (2), got 1 lengths")]
#[case(&[3, 0], "lengths[1]: expected a length in 1..=3 (the sequence length), got 0")]
#[case(&[4, 2], "lengths[0]: expected a length in 1..=3 (the sequence length), got 4")]
fn lengths_that_do_not_match(#[case] lengths: &[usize], #[case] expected: &str) {
    let tokens = targets(&[vec![1, 2, 3], vec![4, 5, 6]], &device());
    assert_eq!(
        message(classifier().try_forward(tokens, Some(lengths))),
        expected
    );
}

#[test]
fn wrong_kind_of_input() {
    let features = Tensor::<3>::zeros([1, 2, 4], &device());
    assert_eq!(
        message(classifier().try_forward(features, None)),
        "input: expected token ids [batch, seq] (the head embeds tokens), got features of shape [1, 2, 4]"
    );
    let tagger = SequenceTaggerConfig::new(InputConfig::features(4), RecurrentConfig::new(3), 2)
        .init(&device());
    assert_eq!(
        message(tagger.try_forward(Tensor::<3>::zeros([1, 2, 5], &device()), None)),
        "input: expected feature size 4 (last dimension), got 5"
    );
}

#[test]
fn seq2seq_arguments() {
    let device = device();
    let model = model(AttentionKind::LuongGeneral, true, CellKind::Gru, &device);
    let source = targets(&[vec![3, 4, 5]], &device);
    let decode = DecodeConfig::new(START, END, 5);
    assert_eq!(
        message(model.try_beam_search(source.clone(), None, &decode, &BeamSearchConfig::new(0))),
        "beam.beam_size: expected a value > 0, got 0"
    );
    assert_eq!(
        message(model.try_greedy(source.clone(), Some(&[4]), &decode)),
        "source_lengths[0]: expected a length in 1..=3 (the sequence length), got 4"
    );
    assert_eq!(
        message(model.try_greedy(targets(&[vec![3, 12]], &device), None, &decode)),
        "source: expected token ids in 0..12 (the vocabulary size), got id 12"
    );
    assert_eq!(
        message(model.try_greedy(source.clone(), None, &DecodeConfig::new(START, 9, 5))),
        "decode.end_token: expected a token id in 0..9 (the vocabulary size), got 9"
    );
    assert_eq!(
        message(model.try_greedy(source.clone(), None, &DecodeConfig::new(START, END, 0))),
        "decode.max_length: expected a value > 0, got 0"
    );
    assert_eq!(
        message(model.try_forward(
            source.clone(),
            None,
            targets(&[vec![1, 2], vec![1, 2]], &device)
        )),
        "target_input: expected a batch of 1 (the source batch), got 2"
    );
    assert_eq!(
        message(model.try_forward(source, None, targets(&[vec![1, 9]], &device))),
        "target_input: expected token ids in 0..9 (the vocabulary size), got id 9"
    );
}

#[test]
fn generator_arguments() {
    let device = device();
    let conditioned = SequenceGeneratorConfig::new(6, 3, RecurrentConfig::new(4))
        .with_condition_size(Some(2))
        .init(&device);
    let decode = DecodeConfig::new(0, 1, 4);
    assert_eq!(
        message(conditioned.try_generate(None, 2, &decode, &Sampling::Greedy)),
        "condition: expected a [batch, 2] conditioning vector, got None"
    );
    assert_eq!(
        message(conditioned.try_generate(
            Some(Tensor::zeros([3, 2], &device)),
            2,
            &decode,
            &Sampling::Greedy
        )),
        "condition: expected shape [2, 2] ([batch, condition_size]), got [3, 2]"
    );
    let sampling = Sampling::Random {
        temperature: 0.0,
        top_k: None,
        seed: 0,
    };
    assert_eq!(
        message(conditioned.try_generate(
            Some(Tensor::zeros([2, 2], &device)),
            2,
            &decode,
            &sampling
        )),
        "sampling.temperature: expected a finite value > 0, got 0"
    );
    let sampling = Sampling::Random {
        temperature: 1.0,
        top_k: Some(0),
        seed: 0,
    };
    assert_eq!(
        message(conditioned.try_generate(
            Some(Tensor::zeros([2, 2], &device)),
            2,
            &decode,
            &sampling
        )),
        "sampling.top_k: expected a value > 0, got 0"
    );
}

#[test]
fn padding_masks_refuse_lengths_outside_the_sequence() {
    let device = device();
    assert_eq!(
        message(padding_mask(&[0, 3], 5, &device)),
        "lengths[0]: expected a length in 1..=5 (the sequence length), got 0"
    );
    assert_eq!(
        message(padding_mask(&[5, 9], 5, &device)),
        "lengths[1]: expected a length in 1..=5 (the sequence length), got 9"
    );
    let pad = padding_mask(&[5, 3], 5, &device).unwrap();
    let expected = [
        false, false, false, false, false, false, false, false, true, true,
    ];
    assert_eq!(pad.into_data().iter::<bool>().collect::<Vec<_>>(), expected);
}

/// `f` panics with a message that contains `expected`.
fn panics_with(expected: &str, f: impl FnOnce()) {
    let message = panic_message(f);
    assert!(message.contains(expected), "{message}");
}

#[test]
fn attention_and_masks_of_the_wrong_shape_panic_naming_them() {
    let device = device();
    let pad = padding_mask(&[4, 2, 3], 4, &device).unwrap();
    let scores = Tensor::<2>::zeros([2, 4], &device);
    panics_with(
        "pad: expected shape [2, 4] ([batch, seq] of scores [2, 4]), got [3, 4]",
        || drop(masked_softmax(scores, Some(&pad))),
    );
    let attention = Attention::new(AttentionKind::Bahdanau, 6, 5, 7, &device);
    let values = || Tensor::<3>::zeros([2, 4, 5], &device);
    panics_with(
        "pad: expected shape [2, 4] ([batch, source] of values), got [3, 4]",
        || drop(attention.memory(values(), Some(pad.clone()))),
    );
    panics_with(
        "values: expected feature size 5 (last dimension), got 6",
        || drop(attention.memory(Tensor::zeros([2, 4, 6], &device), None)),
    );
    let memory = attention.memory(values(), None);
    panics_with(
        "query: expected shape [2, 6] ([batch, query] for the memory's batch), got [3, 6]",
        || drop(attention.attend(Tensor::zeros([3, 6], &device), &memory)),
    );
    panics_with(
        "queries: expected shape [2, 3, 6] ([batch, target, query] for the memory's batch), got \
         [2, 3, 7]",
        || drop(attention.attend_all(Tensor::zeros([2, 3, 7], &device), &memory)),
    );
    // The same checks as errors from the `try_` forms.
    let argument = |e: RnnError| e.argument;
    let too_wide = Tensor::zeros([2, 4, 6], &device);
    let wrong_batch = Tensor::zeros([3, 6], &device);
    let wrong_size = Tensor::zeros([2, 3, 7], &device);
    assert_eq!(
        attention
            .try_memory(too_wide, None)
            .map_err(argument)
            .unwrap_err(),
        "values"
    );
    assert_eq!(
        attention
            .try_attend(wrong_batch, &memory)
            .map_err(argument)
            .unwrap_err(),
        "query"
    );
    assert_eq!(
        attention
            .try_attend_all(wrong_size, &memory)
            .map_err(argument)
            .unwrap_err(),
        "queries"
    );
    // A memory made by another attention (its keys projected to another size), or with a
    // mask of another batch: errors naming the memory's part, not panics inside Burn.
    let other = Attention::new(AttentionKind::Bahdanau, 6, 5, 9, &device);
    let foreign = other.memory(values(), None);
    let query = || Tensor::<2>::zeros([2, 6], &device);
    assert_eq!(
        attention
            .try_attend(query(), &foreign)
            .unwrap_err()
            .to_string(),
        "memory.keys: expected shape [2, 4, 7] ([batch, source, ..] of values, as the attention \
         projects them), got [2, 4, 9]"
    );
    let mut mismatched = attention.memory(values(), None);
    mismatched.pad = Some(pad.clone());
    assert_eq!(
        attention
            .try_attend(query(), &mismatched)
            .unwrap_err()
            .to_string(),
        "memory.pad: expected shape [2, 4] ([batch, source] of values), got [3, 4]"
    );
    let dot = Attention::new(AttentionKind::LuongDot, 5, 5, 0, &device);
    let memory = dot.memory(values(), None);
    panics_with(
        "query: expected shape [2, 5] ([batch, query] for the memory's batch), got [2, 4]",
        || drop(dot.attend(Tensor::zeros([2, 4], &device), &memory)),
    );
    let pooling = AttentionPooling::new(5, 3, &device);
    panics_with(
        "outputs: expected feature size 5 (last dimension), got 6",
        || drop(pooling.forward(Tensor::zeros([2, 4, 6], &device), None)),
    );
}

#[test]
fn mlps_refuse_empty_sizes_and_bad_dropout() {
    let device = device();
    for ((input, hidden, output, dropout), expected) in [
        ((0, &[4][..], 2, 0.0), "input: expected a value > 0, got 0"),
        (
            (3, &[4, 0][..], 2, 0.0),
            "hidden[1]: expected a value > 0, got 0",
        ),
        ((3, &[4][..], 0, 0.0), "output: expected a value > 0, got 0"),
        (
            (3, &[4][..], 2, 1.0),
            "dropout: expected a probability in [0, 1), got 1",
        ),
    ] {
        assert_eq!(
            message(Mlp::try_new(input, hidden, output, dropout, &device)),
            expected
        );
    }
    let mlp = Mlp::new(3, &[4], 2, 0.5, &device);
    assert_eq!(
        mlp.forward(Tensor::<2>::zeros([5, 3], &device)).dims(),
        [5, 2]
    );
}

#[test]
fn bridges_and_learned_states_refuse_empty_sizes_and_inputs() {
    let device = device();
    let sizes = StateSizes {
        num_layers: 2,
        hidden: 4,
        cell: Some(4),
    };
    for (sizes, expected) in [
        (
            StateSizes {
                num_layers: 0,
                ..sizes
            },
            "sizes.num_layers: expected a value > 0, got 0",
        ),
        (
            StateSizes { hidden: 0, ..sizes },
            "sizes.hidden: expected a value > 0, got 0",
        ),
        (
            StateSizes {
                cell: Some(0),
                ..sizes
            },
            "sizes.cell: expected a value > 0, got 0",
        ),
    ] {
        assert_eq!(message(Bridge::try_new(3, None, sizes, &device)), expected);
        assert_eq!(message(LearnedState::try_new(sizes, &device)), expected);
    }
    assert_eq!(
        message(Bridge::try_new(0, None, sizes, &device)),
        "input: expected a value > 0, got 0"
    );
    assert_eq!(
        message(Bridge::try_new(3, Some(0), sizes, &device)),
        "cell_input: expected a value > 0, got 0"
    );
    let bridge = Bridge::new(3, Some(2), sizes, &device);
    panics_with("v: expected feature size 3 (last dimension), got 4", || {
        drop(bridge.forward(Tensor::zeros([2, 4], &device), None))
    });
    panics_with("u: expected feature size 2 (last dimension), got 3", || {
        drop(bridge.forward(
            Tensor::zeros([2, 3], &device),
            Some(Tensor::zeros([2, 3], &device)),
        ))
    });
    panics_with(
        "u: expected a [batch, 2] tensor for the cell part (v has 3 features, so it cannot \
         stand in), got None",
        || drop(bridge.forward(Tensor::zeros([2, 3], &device), None)),
    );
    panics_with("u: expected a batch of 2 (v's), got 5", || {
        drop(bridge.forward(
            Tensor::zeros([2, 3], &device),
            Some(Tensor::zeros([5, 2], &device)),
        ))
    });
    let state = bridge.forward(
        Tensor::zeros([2, 3], &device),
        Some(Tensor::zeros([2, 2], &device)),
    );
    assert_eq!(state.hidden.dims(), [2, 2, 4]);
}

#[test]
fn sampler_refuses_bad_settings_and_rows_it_cannot_pick_from() {
    let random = |temperature: f64, top_k: Option<usize>| Sampling::Random {
        temperature,
        top_k,
        seed: 0,
    };
    for (sampling, expected) in [
        (
            random(0.0, None),
            "sampling.temperature: expected a finite value > 0, got 0",
        ),
        (
            random(-1.0, None),
            "sampling.temperature: expected a finite value > 0, got -1",
        ),
        (
            random(f64::NAN, None),
            "sampling.temperature: expected a finite value > 0, got NaN",
        ),
        (
            random(1.0, Some(0)),
            "sampling.top_k: expected a value > 0, got 0",
        ),
    ] {
        assert_eq!(message(sampling.sampler()), expected);
    }
    let expected = "log_probs: expected a non-empty row of log-probabilities (no NaN or +inf, \
                    one finite at least), got";
    for sampling in [Sampling::Greedy, random(0.5, Some(2))] {
        let mut sampler = sampling.sampler().unwrap();
        for (row, actual) in [
            (&[][..], "an empty row"),
            (&[-1.0, f32::NAN][..], "NaN at index 1"),
            (&[f32::INFINITY, -1.0][..], "inf at index 0"),
            (&[f32::NEG_INFINITY; 3][..], "-inf in all 3 entries"),
        ] {
            assert_eq!(message(sampler.choose(row)), format!("{expected} {actual}"));
        }
        // One finite entry among -inf ones is the only choice.
        assert_eq!(
            sampler.choose(&[f32::NEG_INFINITY, 0.0, f32::NEG_INFINITY]),
            Ok(1)
        );
    }
}

#[rstest]
#[case::bidirectional_decoder(
    Seq2SeqConfig::new(5, 5, RecurrentConfig::new(4), RecurrentConfig::new(4).with_bidirectional(true)).try_init(&device()).map(drop),
    "decoder.bidirectional: expected false (a decoder runs one step at a time), got true"
)]
#[case::teacher_forcing(
    Seq2SeqConfig::new(5, 5, RecurrentConfig::new(4), RecurrentConfig::new(4)).with_teacher_forcing(1.5).try_init(&device()).map(drop),
    "teacher_forcing: expected a probability in [0, 1], got 1.5"
)]
#[case::zero_vocabulary(
    SequenceClassifierConfig::new(InputConfig::tokens(0, 4), RecurrentConfig::new(3), 2).try_init(&device()).map(drop),
    "input.vocab_size: expected a value > 0, got 0"
)]
#[case::zero_classes(
    SequenceClassifierConfig::new(InputConfig::features(4), RecurrentConfig::new(3), 0).try_init(&device()).map(drop),
    "num_classes: expected a value > 0, got 0"
)]
#[case::encoder_size(
    SequenceTaggerConfig::new(InputConfig::features(4), RecurrentConfig::new(0), 2).try_init(&device()).map(drop),
    "encoder.hidden_size: expected a value > 0, got 0"
)]
#[case::dropout(
    SequenceGeneratorConfig::new(5, 3, RecurrentConfig::new(4)).with_dropout(1.0).try_init(&device()).map(drop),
    "dropout: expected a probability in [0, 1), got 1"
)]
fn invalid_configs_are_rejected_at_init(
    #[case] result: Result<(), rnn_tasks::RnnError>,
    #[case] expected: &str,
) {
    assert_eq!(message(result), expected);
}

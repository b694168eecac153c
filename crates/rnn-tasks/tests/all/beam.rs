//! Beam search: size 1 is greedy, the result never scores below greedy's (and is greedy's where
//! plain beam search pruned it), its scores and attention are those of the tokens it returns,
//! and a beam wide enough to keep every hypothesis finds the exhaustive optimum.

use burn::module::Module;
use rnn_tasks::{AttentionKind, BeamSearchConfig, CellKind, DecodeConfig};
use rstest::rstest;

use crate::backend::device;
use crate::seq2seq::{END, SOURCE_VOCAB, START, TARGET_VOCAB, model, model_with_vocab, replay};
use crate::support::{Redraw, padded, random_sequences, row, single};
use crate::util::{Rng, assert_close};

#[rstest]
fn beam_of_one_is_greedy(
    #[values(AttentionKind::Bahdanau, AttentionKind::LuongGeneral)] attention: AttentionKind,
) {
    let device = device();
    let model = model(attention, true, CellKind::Gru, &device);
    let sources = random_sequences(&mut Rng::new(4), &[5, 3, 6, 2], 3, SOURCE_VOCAB);
    let batch = padded(&sources, 0, 0, &device);
    let decode = DecodeConfig::new(START, END, 8);
    let greedy = model.greedy(batch.tokens.clone(), Some(&batch.lengths), &decode);
    // Without the greedy safety net, so the beam machinery alone must find the greedy path.
    let beam = BeamSearchConfig::new(1)
        .with_keep_greedy(false)
        .with_length_penalty(0.0);
    let beam = model.beam_search(batch.tokens, Some(&batch.lengths), &decode, &beam);
    assert_eq!(beam.tokens, greedy.tokens);
    for b in 0..sources.len() {
        assert!((beam.log_probs[b] - greedy.log_probs[b]).abs() < 1e-5);
    }
    assert_close("attention", &beam.attention, &greedy.attention, 1e-6);
}

#[rstest]
fn beam_never_scores_below_greedy(
    #[values(2, 3, 5)] beam_size: usize,
    #[values(0.0, 1.0)] length_penalty: f64,
) {
    let device = device();
    let model = model(AttentionKind::LuongGeneral, true, CellKind::Lstm, &device);
    let sources = random_sequences(
        &mut Rng::new(beam_size as u64),
        &[4, 6, 2, 5, 3, 6],
        3,
        SOURCE_VOCAB,
    );
    let batch = padded(&sources, 0, 0, &device);
    let decode = DecodeConfig::new(START, END, 7);
    let config = BeamSearchConfig::new(beam_size).with_length_penalty(length_penalty);
    let greedy = model.greedy(batch.tokens.clone(), Some(&batch.lengths), &decode);
    let beam = model.beam_search(batch.tokens, Some(&batch.lengths), &decode, &config);
    for b in 0..sources.len() {
        let greedy_score = config.score(greedy.log_probs[b], greedy.tokens[b].len());
        assert!(
            beam.scores[b] >= greedy_score - 1e-6,
            "example {b}: beam {} < greedy {greedy_score}",
            beam.scores[b]
        );
    }
}

/// Where plain beam search prunes the greedy path and ends below greedy decoding's score,
/// `keep_greedy` returns greedy decoding's hypothesis; elsewhere it returns plain beam search's
/// (the better of the two, always). Models with wide weights (whose tokens depend on the
/// source) are drawn until such an example turns up, so the rescue itself is exercised.
#[rstest]
fn keep_greedy_returns_greedy_where_the_beam_pruned_it(#[values(0.0, 1.0)] length_penalty: f64) {
    let device = device();
    let decode = DecodeConfig::new(START, END, 7);
    let lengths = [4, 6, 2, 5, 3, 6, 1, 5, 2, 4, 3, 6, 5, 2, 4, 6];
    let plain = BeamSearchConfig::new(2)
        .with_length_penalty(length_penalty)
        .with_keep_greedy(false);
    let kept = plain.clone().with_keep_greedy(true);
    let mut rescued = 0;
    for seed in 0..20 {
        let model = model(AttentionKind::LuongGeneral, true, CellKind::Lstm, &device)
            .map(&mut Redraw(Rng::new(seed), 2.0));
        let sources = random_sequences(&mut Rng::new(100 + seed), &lengths, 3, SOURCE_VOCAB);
        let batch = padded(&sources, 0, 0, &device);
        let (tokens, lengths) = (batch.tokens.clone(), Some(&batch.lengths[..]));
        let greedy = model.greedy(tokens.clone(), lengths, &decode);
        let without = model.beam_search(tokens.clone(), lengths, &decode, &plain);
        let with = model.beam_search(tokens, lengths, &decode, &kept);
        for b in 0..sources.len() {
            let greedy_score = plain.score(greedy.log_probs[b], greedy.tokens[b].len());
            let best = without.scores[b].max(greedy_score);
            assert!(
                (with.scores[b] - best).abs() < 1e-5,
                "seed {seed}, example {b}: {} against the better of beam {} and greedy \
                 {greedy_score}",
                with.scores[b],
                without.scores[b]
            );
            // Where one leads clearly, its tokens (near a tie, either's).
            if without.scores[b] < greedy_score - 1e-4 {
                rescued += 1;
                assert_eq!(with.tokens[b], greedy.tokens[b], "seed {seed}, example {b}");
            } else if greedy_score < without.scores[b] - 1e-4 {
                assert_eq!(
                    with.tokens[b], without.tokens[b],
                    "seed {seed}, example {b}"
                );
            }
        }
        if rescued > 0 {
            return;
        }
    }
    panic!("no example where plain beam search scored below greedy decoding in 20 models");
}

/// Back-pointers, scores and attention rows of the returned hypotheses are consistent:
/// replaying the tokens through the training forward gives the same numbers.
#[rstest]
fn beam_results_replay_exactly(
    #[values(AttentionKind::Bahdanau, AttentionKind::LuongDot)] attention: AttentionKind,
) {
    let device = device();
    let model = model(attention, false, CellKind::Lstm, &device);
    let sources = random_sequences(&mut Rng::new(30), &[5, 2, 6], 3, SOURCE_VOCAB);
    let batch = padded(&sources, 0, 0, &device);
    let decode = DecodeConfig::new(START, END, 6);
    let config = BeamSearchConfig::new(4).with_keep_greedy(false);
    let beam = model.beam_search(batch.tokens, Some(&batch.lengths), &decode, &config);
    for (b, source) in sources.iter().enumerate() {
        let tokens = &beam.tokens[b];
        assert!(
            tokens.last() == Some(&END) || tokens.len() == 6,
            "ends with END or is max length"
        );
        let (log_prob, weights) = replay(&model, source, tokens, &device);
        assert!(
            (log_prob - beam.log_probs[b]).abs() < 1e-4,
            "example {b}: {log_prob} vs {}",
            beam.log_probs[b]
        );
        let expected_score = config.score(log_prob, tokens.len());
        assert!((expected_score - beam.scores[b]).abs() < 1e-4);
        assert_close(
            &format!("example {b} attention"),
            &row(&beam.attention, b)
                .squeeze_dim::<2>(0)
                .narrow(0, 0, tokens.len())
                .narrow(1, 0, source.len()),
            &weights,
            1e-5,
        );
    }
}

/// With a beam wider than the number of hypotheses, beam search is exhaustive: it must
/// return the best of all sequences of up to 3 tokens, found here by enumerating them.
#[rstest]
fn wide_beam_finds_the_exhaustive_optimum(#[values(0.0, 1.0)] length_penalty: f64) {
    let device = device();
    const VOCAB: usize = 4;
    let model = model_with_vocab(AttentionKind::Bahdanau, true, CellKind::Gru, VOCAB, &device);
    let source = vec![4, 7, 5];
    let max_length = 3;
    let decode = DecodeConfig::new(START, END, max_length);
    let config = BeamSearchConfig::new(VOCAB.pow(max_length as u32))
        .with_length_penalty(length_penalty)
        .with_keep_greedy(false);
    let beam = model.beam_search(single(&source, &device), None, &decode, &config);

    // Every finished sequence: ends with END, or is max_length long without END.
    let mut candidates: Vec<Vec<usize>> = Vec::new();
    let mut prefixes: Vec<Vec<usize>> = vec![vec![]];
    for step in 0..max_length {
        let mut longer = Vec::new();
        for prefix in &prefixes {
            for token in 0..VOCAB {
                let mut s = prefix.clone();
                s.push(token);
                if token == END || step + 1 == max_length {
                    candidates.push(s);
                } else {
                    longer.push(s);
                }
            }
        }
        prefixes = longer;
    }
    let best = candidates
        .iter()
        .map(|tokens| {
            (
                config.score(replay(&model, &source, tokens, &device).0, tokens.len()),
                tokens,
            )
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap();
    assert_eq!(
        &beam.tokens[0], best.1,
        "beam score {} vs exhaustive {}",
        beam.scores[0], best.0
    );
    assert!((beam.scores[0] - best.0).abs() < 1e-4);
}

/// Examples leave the batch as they finish: each example's result, of beam search and of
/// greedy decoding, is the one it gets decoded alone, whichever of the others finish before
/// it (and whether greedy decoding has dropped their rows yet). The model's weights are drawn wide (an initialised model's tokens barely depend on the
/// source), and the end token is one that ends the examples at different steps.
#[test]
fn each_example_decodes_as_if_alone() {
    let device = device();
    let model = model(AttentionKind::LuongGeneral, true, CellKind::Lstm, &device)
        .map(&mut Redraw(Rng::new(5), 2.0));
    // Twelve: one ended row is left in greedy decoding's batch, two are dropped.
    let lengths = [4, 6, 2, 5, 3, 6, 1, 5, 2, 4, 3, 6];
    let sources = random_sequences(&mut Rng::new(11), &lengths, 3, SOURCE_VOCAB);
    let batch = padded(&sources, 0, 0, &device);
    let config = BeamSearchConfig::new(2).with_keep_greedy(false);
    let uneven = |tokens: &[Vec<usize>]| tokens.iter().any(|t| t.len() != tokens[0].len());
    let (decode, beam, greedy) = (0..TARGET_VOCAB)
        .filter(|&end| end != START)
        .map(|end| {
            let decode = DecodeConfig::new(START, end, 9);
            let (tokens, lengths) = (batch.tokens.clone(), Some(&batch.lengths[..]));
            let beam = model.beam_search(tokens.clone(), lengths, &decode, &config);
            let greedy = model.greedy(tokens, lengths, &decode);
            (decode, beam, greedy)
        })
        .find(|(_, beam, greedy)| uneven(&beam.tokens) && uneven(&greedy.tokens))
        .expect("an end token that ends the examples at different steps");
    for (b, source) in sources.iter().enumerate() {
        let alone = model.beam_search(single(source, &device), None, &decode, &config);
        assert_eq!(beam.tokens[b], alone.tokens[0], "beam search, example {b}");
        assert!(
            (beam.scores[b] - alone.scores[0]).abs() < 1e-5,
            "example {b}"
        );
        let alone = model.greedy(single(source, &device), None, &decode);
        assert_eq!(greedy.tokens[b], alone.tokens[0], "greedy, example {b}");
        assert!(
            (greedy.log_probs[b] - alone.log_probs[0]).abs() < 1e-5,
            "example {b}"
        );
    }
}

/// The ranking score is the log-probability over `length ^ penalty` (Wu et al. 2016's
/// normalisation without its `(5 + length) / 6`): the total at 0, the mean per token at 1.
#[test]
fn the_length_penalty_divides_by_length_to_its_power() {
    let score = |penalty: f64, log_prob: f32, length: usize| {
        BeamSearchConfig::new(3)
            .with_length_penalty(penalty)
            .score(log_prob, length)
    };
    assert_eq!(score(0.0, -6.0, 3), -6.0);
    assert_eq!(score(1.0, -6.0, 3), -2.0);
    assert!((score(0.5, -6.0, 4) - -3.0).abs() < 1e-6);
    assert!((score(2.0, -8.0, 2) - -2.0).abs() < 1e-6);
    // At 0 a shorter hypothesis of higher total wins; at 1 a longer one of better mean does.
    assert!(score(0.0, -3.0, 2) > score(0.0, -4.0, 4));
    assert!(score(1.0, -3.0, 2) < score(1.0, -4.0, 4));
}

//! The layer config's sizes reach every head. LSTM projections (`proj_size`): `h` has
//! `proj_size` values and `c` `hidden_size`, through encoders, pooling, bridges, attention and
//! decoders; a cell without a projection refuses one with a clear error. Merge modes: a
//! bidirectional encoder's final states are merged as its outputs are.

use burn::tensor::activation::log_softmax;
use rnn_tasks::rnn_core::MergeMode;
use rnn_tasks::{
    AttentionKind, BeamSearchConfig, CellKind, DecodeConfig, InputConfig, Pooling, RecurrentConfig,
    Sampling, Seq2SeqConfig, SequenceClassifierConfig, SequenceGeneratorConfig,
    SequenceTaggerConfig,
};
use rstest::rstest;

use crate::backend::device;
use crate::seq2seq::{END, SOURCE_VOCAB, START, TARGET_VOCAB, replay, targets};
use crate::support::{padded, random_sequences, row, single};
use crate::util::{Rng, assert_close};

const HIDDEN: usize = 7;
const PROJ: usize = 3;
const VOCAB: usize = 10;

/// A projecting LSTM: `h` of `PROJ` values, `c` of `HIDDEN`.
fn projected() -> RecurrentConfig {
    RecurrentConfig::new(HIDDEN).with_proj_size(PROJ)
}

#[rstest]
fn classifier_pools_projected_outputs(
    #[values(Pooling::Last, Pooling::Mean, Pooling::Max, Pooling::Attention)] pooling: Pooling,
    #[values(false, true)] bidirectional: bool,
) {
    let device = device();
    let model = SequenceClassifierConfig::new(
        InputConfig::tokens(VOCAB, 4),
        projected()
            .with_bidirectional(bidirectional)
            .with_num_layers(2),
        3,
    )
    .with_pooling(pooling)
    .with_mlp_hidden(vec![5])
    .init(&device);
    let sequences = random_sequences(&mut Rng::new(1), &[5, 2, 4], 0, VOCAB);
    let batch = padded(&sequences, 0, 1, &device);
    let out = model.forward(batch.tokens, Some(&batch.lengths));
    let directions = if bidirectional { 2 } else { 1 };
    assert_eq!(out.logits.dims(), [3, 3]);
    assert_eq!(out.pooled.dims(), [3, directions * PROJ]);
    for (b, sequence) in sequences.iter().enumerate() {
        let alone = model.forward(single(sequence, &device), None).logits;
        assert_close(&format!("example {b}"), &row(&out.logits, b), &alone, 1e-5);
    }
}

#[rstest]
fn tagger_reads_projected_outputs(#[values(false, true)] bidirectional: bool) {
    let device = device();
    let tagger = SequenceTaggerConfig::new(
        InputConfig::features(4),
        projected().with_bidirectional(bidirectional),
        2,
    )
    .init(&device);
    let x = Rng::new(2).tensor([3, 6, 4], &device);
    let lengths = [6, 2, 4];
    let y = tagger.forward(x.clone(), Some(&lengths));
    assert_eq!(y.dims(), [3, 6, 2]);
    for (b, &len) in lengths.iter().enumerate() {
        let alone = tagger.forward(row(&x, b).narrow(1, 0, len), None);
        assert_close(
            &format!("example {b}"),
            &row(&y, b).narrow(1, 0, len),
            &alone,
            1e-5,
        );
        if len < 6 {
            let padding = row(&y, b).narrow(1, len, 6 - len);
            assert_close("padding", &padding.clone(), &padding.zeros_like(), 0.0);
        }
    }
}

/// The generator's initial state (bridged from a condition, or learned) has the decoder's
/// projected `h` and full-size `c`; generation scores its tokens as the forward does.
#[rstest]
fn generator_decodes_through_a_projection(#[values(None, Some(4))] condition_size: Option<usize>) {
    let device = device();
    let model = SequenceGeneratorConfig::new(VOCAB, 5, projected().with_num_layers(2))
        .with_condition_size(condition_size)
        .init(&device);
    let condition = condition_size.map(|size| Rng::new(3).tensor([2, size], &device));
    let inputs = targets(&[vec![0, 4, 5], vec![0, 6, 7]], &device);
    let logits = model.forward(inputs, condition.clone(), Some(&[3, 2]));
    assert_eq!(logits.dims(), [2, 3, VOCAB]);

    let decode = DecodeConfig::new(0, 1, 6);
    let generated = model.generate(condition.clone(), 2, &decode, &Sampling::Greedy);
    for (b, tokens) in generated.tokens.iter().enumerate() {
        assert!(!tokens.is_empty() && tokens.len() <= 6, "{tokens:?}");
        let inputs: Vec<usize> = std::iter::once(0)
            .chain(tokens[..tokens.len() - 1].iter().copied())
            .collect();
        let condition = condition.as_ref().map(|c| row(c, b));
        let log_probs = log_softmax(
            model.forward(targets(&[inputs], &device), condition, None),
            2,
        );
        let picked: f32 = log_probs
            .gather(
                2,
                targets(std::slice::from_ref(tokens), &device).unsqueeze_dim(2),
            )
            .sum()
            .into_scalar();
        assert!(
            (picked - generated.log_probs[b]).abs() < 1e-4,
            "example {b}: {picked} vs {}",
            generated.log_probs[b]
        );
    }
}

/// Projections on either side of a Seq2Seq, or both: the bridge maps the encoder's `h` and
/// `c` (of different sizes) to the decoder's, attention reads projected outputs and states,
/// and greedy decoding and beam search agree with the training forward. The same between the
/// xLSTM cells, whose states have more parts: the sLSTM's `c` is bridged, the mLSTM's memory
/// is set from a key and a value.
#[rstest]
fn seq2seq_decodes_through_projections(
    #[values(
        AttentionKind::Bahdanau,
        AttentionKind::LuongDot,
        AttentionKind::LuongGeneral
    )]
    attention: AttentionKind,
    #[values(false, true)] input_feeding: bool,
    #[values(
        (CellKind::Lstm, CellKind::Lstm),
        (CellKind::Gru, CellKind::Lstm),
        (CellKind::Lstm, CellKind::Gru),
        (CellKind::Slstm, CellKind::Mlstm),
        (CellKind::Mlstm, CellKind::Slstm)
    )]
    cells: (CellKind, CellKind),
) {
    let device = device();
    let side = |cell: CellKind, size: usize| match cell {
        CellKind::Lstm => RecurrentConfig::new(HIDDEN).with_proj_size(size),
        other => RecurrentConfig::new(size).with_cell(other),
    };
    // Dot attention needs the decoder's state to match the bidirectional encoder's outputs.
    let model = Seq2SeqConfig::new(
        SOURCE_VOCAB,
        TARGET_VOCAB,
        side(cells.0, PROJ)
            .with_bidirectional(true)
            .with_num_layers(2),
        side(cells.1, 2 * PROJ).with_num_layers(2),
    )
    .with_embedding_size(5)
    .with_attention(attention)
    .with_input_feeding(input_feeding)
    .init(&device);
    let sources = random_sequences(&mut Rng::new(4), &[5, 3], 3, SOURCE_VOCAB);
    let batch = padded(&sources, 0, 0, &device);
    let target_in = targets(&[vec![START, 4, 5, 6], vec![START, 7, 8, 0]], &device);
    let out = model.forward(batch.tokens.clone(), Some(&batch.lengths), target_in);
    assert_eq!(out.logits.dims(), [2, 4, TARGET_VOCAB]);
    assert_eq!(out.attention.dims(), [2, 4, 5]);

    let decode = DecodeConfig::new(START, END, 6);
    let greedy = model.greedy(batch.tokens.clone(), Some(&batch.lengths), &decode);
    let beam = model.beam_search(
        batch.tokens,
        Some(&batch.lengths),
        &decode,
        &BeamSearchConfig::new(3).with_length_penalty(0.0),
    );
    let [rows, _, source] = beam.attention.dims();
    assert_eq!([rows, source], [2, 5]);
    for (b, source) in sources.iter().enumerate() {
        let tokens = &greedy.tokens[b];
        let (log_prob, _) = replay(&model, source, tokens, &device);
        assert!(
            (log_prob - greedy.log_probs[b]).abs() < 1e-4,
            "example {b}: {log_prob} vs {}",
            greedy.log_probs[b]
        );
        // Beam search keeps greedy's hypothesis in the running: it never scores below it.
        assert!(
            beam.log_probs[b] >= greedy.log_probs[b] - 1e-4,
            "example {b}: beam {} below greedy {}",
            beam.log_probs[b],
            greedy.log_probs[b]
        );
    }
}

#[rstest]
#[case::gru(CellKind::Gru, "GRU")]
#[case::elman(CellKind::Elman, "Elman RNN")]
fn only_lstm_heads_project(#[case] cell: CellKind, #[case] name: &str) {
    let device = device();
    let config = RecurrentConfig::new(HIDDEN)
        .with_cell(cell)
        .with_proj_size(PROJ);
    let expected = |side: &str| {
        format!(
            "{side}.proj_size: expected 0 (only LSTM cells project their state, not {name}), got {PROJ}"
        )
    };
    let classifier = SequenceClassifierConfig::new(InputConfig::features(4), config.clone(), 2)
        .try_init(&device);
    assert_eq!(classifier.unwrap_err().to_string(), expected("encoder"));
    let tagger =
        SequenceTaggerConfig::new(InputConfig::features(4), config.clone(), 2).try_init(&device);
    assert_eq!(tagger.unwrap_err().to_string(), expected("encoder"));
    let generator = SequenceGeneratorConfig::new(VOCAB, 4, config.clone()).try_init(&device);
    assert_eq!(generator.unwrap_err().to_string(), expected("decoder"));
    let seq2seq =
        Seq2SeqConfig::new(5, 5, config.clone(), RecurrentConfig::new(4)).try_init(&device);
    assert_eq!(seq2seq.unwrap_err().to_string(), expected("encoder"));
    let seq2seq = Seq2SeqConfig::new(5, 5, RecurrentConfig::new(4), config).try_init(&device);
    assert_eq!(seq2seq.unwrap_err().to_string(), expected("decoder"));
}

/// A projection must be smaller than the hidden size, as in PyTorch.
#[test]
fn a_projection_is_smaller_than_the_hidden_size() {
    let config = RecurrentConfig::new(4).with_proj_size(4);
    let err = SequenceTaggerConfig::new(InputConfig::features(3), config, 2)
        .try_init(&device())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "encoder.proj_size: expected 0 (no projection) or a size below hidden_size (4), got 4"
    );
}

/// The sizes a head builds on come from rnn-core's layer config: outputs of
/// `num_directions * proj_size` when projecting.
#[test]
fn recurrent_config_sizes_follow_the_projection() {
    let config = projected().with_bidirectional(true);
    assert_eq!(config.state_size(), PROJ);
    assert_eq!(config.output_size(), 2 * PROJ);
    assert_eq!(config.rnn_config(4).output_size(), 2 * PROJ);
    let plain = RecurrentConfig::new(HIDDEN);
    assert_eq!((plain.state_size(), plain.output_size()), (HIDDEN, HIDDEN));
}

/// Last pooling merges the encoder's final states as the encoder merges its outputs: the
/// last layer's (rows `2 · (layers - 1)` and the next of the final `h`).
#[rstest]
fn classifier_merges_final_states_as_outputs(
    #[values(MergeMode::Concat, MergeMode::Sum, MergeMode::Mean, MergeMode::Mul)] merge: MergeMode,
    #[values(1, 2)] layers: usize,
) {
    let device = device();
    let model = SequenceClassifierConfig::new(
        InputConfig::features(4),
        projected()
            .with_bidirectional(true)
            .with_merge(merge)
            .with_num_layers(layers),
        3,
    )
    .init(&device);
    let x = Rng::new(5).tensor([3, 6, 4], &device);
    let lengths = [6, 2, 4];
    let out = model.forward(x.clone(), Some(&lengths));
    // `[2 · layers, batch, PROJ]`: each layer's forward, then its backward direction.
    let final_h = model.encoder.forward(x, None, Some(&lengths)).state.hidden;
    let last = |row: usize| final_h.clone().narrow(0, row, 1).squeeze_dim::<2>(0);
    let top = 2 * (layers - 1);
    let expected = merge.merge(last(top), last(top + 1));
    assert_eq!(out.pooled.dims(), [3, merge.output_size(PROJ)]);
    assert_close("pooled", &out.pooled, &expected, 1e-6);
}

/// A Seq2Seq whose bidirectional encoder sums its directions: the attention keys, the bridge
/// and the decoder all read `proj_size` features.
#[test]
fn seq2seq_reads_a_summing_encoder() {
    let device = device();
    let model = Seq2SeqConfig::new(
        SOURCE_VOCAB,
        TARGET_VOCAB,
        projected()
            .with_bidirectional(true)
            .with_merge(MergeMode::Sum),
        RecurrentConfig::new(HIDDEN).with_proj_size(PROJ),
    )
    .with_embedding_size(5)
    .with_attention(AttentionKind::LuongDot)
    .init(&device);
    let source = random_sequences(&mut Rng::new(6), &[4], 3, SOURCE_VOCAB).remove(0);
    let decoded = model.greedy(
        single(&source, &device),
        None,
        &DecodeConfig::new(START, END, 5),
    );
    let (log_prob, _) = replay(&model, &source, &decoded.tokens[0], &device);
    assert!(
        (log_prob - decoded.log_probs[0]).abs() < 1e-4,
        "{log_prob} vs {}",
        decoded.log_probs[0]
    );
}

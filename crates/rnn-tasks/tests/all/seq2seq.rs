//! Sequence to sequence with attention: padding invariance of logits, attention and decoded
//! output, exact zeros on padded source positions, and consistency between the training
//! forward and greedy decoding.

use burn::module::Module;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rnn_tasks::{
    AttentionKind, BeamSearchConfig, CellKind, DecodeConfig, OutputLayer, RecurrentConfig, Seq2Seq,
    Seq2SeqConfig,
};
use rstest::rstest;

use crate::backend::device;
use crate::support::{Redraw, padded, random_sequences, row, single};
use crate::util::{Rng, assert_close};

pub const SOURCE_VOCAB: usize = 12;
pub const TARGET_VOCAB: usize = 9;
pub const START: usize = 1;
pub const END: usize = 2;

pub fn model(
    attention: AttentionKind,
    input_feeding: bool,
    cell: CellKind,
    device: &Device,
) -> Seq2Seq {
    model_with_vocab(attention, input_feeding, cell, TARGET_VOCAB, device)
}

pub fn model_with_vocab(
    attention: AttentionKind,
    input_feeding: bool,
    cell: CellKind,
    target_vocab: usize,
    device: &Device,
) -> Seq2Seq {
    Seq2SeqConfig::new(
        SOURCE_VOCAB,
        target_vocab,
        RecurrentConfig::new(5)
            .with_cell(cell)
            .with_bidirectional(true)
            .with_num_layers(2),
        // Dot attention needs the decoder's size to match the bidirectional encoder's outputs.
        RecurrentConfig::new(10).with_cell(cell),
    )
    .with_embedding_size(6)
    .with_attention(attention)
    .with_input_feeding(input_feeding)
    .init(device)
}

/// `[batch, len]` target inputs from host ids.
pub fn targets(rows: &[Vec<usize>], device: &Device) -> Tensor<2, Int> {
    let len = rows[0].len();
    let ids: Vec<i64> = rows.iter().flatten().map(|&t| t as i64).collect();
    Tensor::from_data(TensorData::new(ids, [rows.len(), len]), device)
}

#[rstest]
fn padding_does_not_change_any_example(
    #[values(
        AttentionKind::Bahdanau,
        AttentionKind::LuongDot,
        AttentionKind::LuongGeneral
    )]
    attention: AttentionKind,
    #[values(false, true)] input_feeding: bool,
    #[values(
        CellKind::Lstm,
        CellKind::Gru,
        CellKind::MinLstm,
        CellKind::Slstm,
        CellKind::Mlstm
    )]
    cell: CellKind,
) {
    let device = device();
    let model = model(attention, input_feeding, cell, &device);
    let mut rng = Rng::new(21);
    let sources = random_sequences(&mut rng, &[5, 2, 4], 3, SOURCE_VOCAB);
    let target_rows = random_sequences(&mut rng, &[4, 4, 4], 3, TARGET_VOCAB);
    let batch = padded(&sources, 0, 1, &device);
    let source_len = batch.tokens.dims()[1];
    let out = model.forward(
        batch.tokens.clone(),
        Some(&batch.lengths),
        targets(&target_rows, &device),
    );
    let decode = DecodeConfig::new(START, END, 6);
    let decoded = model.greedy(batch.tokens.clone(), Some(&batch.lengths), &decode);
    let beam = BeamSearchConfig::new(3);
    let beamed = model.beam_search(batch.tokens, Some(&batch.lengths), &decode, &beam);
    for (b, source) in sources.iter().enumerate() {
        let what = format!("{attention:?} feeding={input_feeding} {cell:?} example {b}");
        let len = source.len();
        let alone = model.forward(
            single(source, &device),
            None,
            targets(&target_rows[b..=b], &device),
        );
        assert_close(
            &format!("{what} logits"),
            &row(&out.logits, b),
            &alone.logits,
            1e-5,
        );
        let weights = row(&out.attention, b);
        assert_close(
            &format!("{what} attention"),
            &weights.clone().narrow(2, 0, len),
            &alone.attention,
            1e-5,
        );
        let rest = weights.narrow(2, len, source_len - len);
        assert_eq!(
            rest.abs().max().into_scalar::<f32>(),
            0.0,
            "{what}: padded source gets 0"
        );

        let alone = model.greedy(single(source, &device), None, &decode);
        assert_eq!(decoded.tokens[b], alone.tokens[0], "{what}: greedy tokens");
        assert!(
            (decoded.log_probs[b] - alone.log_probs[0]).abs() < 1e-4,
            "{what}: greedy score"
        );
        let alone_beam = model.beam_search(single(source, &device), None, &decode, &beam);
        assert_eq!(
            beamed.tokens[b], alone_beam.tokens[0],
            "{what}: beam tokens"
        );
        assert!(
            (beamed.scores[b] - alone_beam.scores[0]).abs() < 1e-4,
            "{what}: beam score"
        );
        let steps = alone.tokens[0].len();
        assert_close(
            &format!("{what} greedy attention"),
            &row(&decoded.attention, b)
                .narrow(1, 0, steps)
                .narrow(2, 0, len),
            &alone.attention,
            1e-5,
        );
    }
}

/// Replays `tokens` (decoded from `source`) through the teacher-forced forward: their total
/// log-probability and attention rows, as the training path computes them.
pub fn replay(
    model: &Seq2Seq,
    source: &[usize],
    tokens: &[usize],
    device: &Device,
) -> (f32, Tensor<2>) {
    let inputs: Vec<usize> = std::iter::once(START)
        .chain(tokens[..tokens.len() - 1].iter().copied())
        .collect();
    let out = model.forward(single(source, device), None, targets(&[inputs], device));
    let log_probs = log_softmax(out.logits, 2);
    let picked = log_probs.gather(2, targets(&[tokens.to_vec()], device).unsqueeze_dim(2));
    (picked.sum().into_scalar(), out.attention.squeeze_dim(0))
}

/// Greedy decoding is the training forward fed its own argmax: with teacher forcing 0,
/// `forward` reproduces greedy's tokens; replayed, greedy's scores and attention match.
#[rstest]
fn greedy_matches_the_training_forward(
    #[values(
        AttentionKind::Bahdanau,
        AttentionKind::LuongDot,
        AttentionKind::LuongGeneral
    )]
    attention: AttentionKind,
    // Luong without input feeding trains through the parallel path; greedy always steps.
    #[values(false, true)] input_feeding: bool,
) {
    let device = device();
    let mut model = model(attention, input_feeding, CellKind::Lstm, &device);
    let sources = random_sequences(&mut Rng::new(8), &[6, 3], 3, SOURCE_VOCAB);
    let decode = DecodeConfig::new(START, END, 7);
    for source in &sources {
        let greedy = model.greedy(single(source, &device), None, &decode);
        let tokens = &greedy.tokens[0];
        let (log_prob, weights) = replay(&model, source, tokens, &device);
        assert!(
            (log_prob - greedy.log_probs[0]).abs() < 1e-4,
            "{log_prob} vs {}",
            greedy.log_probs[0]
        );
        assert_close(
            "attention",
            &greedy.attention.clone().squeeze_dim(0),
            &weights,
            1e-5,
        );

        model.teacher_forcing = 0.0;
        let start = targets(&[vec![START; tokens.len()]], &device);
        let own = model
            .forward(single(source, &device), None, start)
            .logits
            .argmax(2);
        model.teacher_forcing = 1.0;
        let own: Vec<usize> = own.into_data().iter::<i64>().map(|t| t as usize).collect();
        assert_eq!(
            &own, tokens,
            "teacher forcing 0 follows the model's own predictions"
        );
    }
}

#[test]
fn dot_attention_needs_matching_sizes() {
    let err = Seq2SeqConfig::new(
        5,
        5,
        RecurrentConfig::new(4).with_bidirectional(true),
        RecurrentConfig::new(6),
    )
    .with_attention(AttentionKind::LuongDot)
    .try_init(&device())
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "attention: expected LuongDot with equal query and key sizes, or LuongGeneral or Bahdanau \
         (the decoder's hidden size is 6), got keys (encoder outputs) of size 8"
    );
}

/// Scheduled sampling: the first step always reads the start token; later steps read the
/// model's own predictions for some examples, which changes their logits.
#[test]
fn teacher_forcing_below_one_feeds_own_predictions() {
    let device = device();
    device.seed(3);
    let mut model = model(AttentionKind::LuongGeneral, false, CellKind::Gru, &device);
    let mut rng = Rng::new(12);
    let sources = random_sequences(&mut rng, &[4; 8], 3, SOURCE_VOCAB);
    let rows = random_sequences(&mut rng, &[6; 8], 3, TARGET_VOCAB);
    let rows: Vec<Vec<usize>> = rows
        .into_iter()
        .map(|r| [vec![START], r].concat())
        .collect();
    let source = padded(&sources, 0, 0, &device).tokens;
    let forced = model
        .forward(source.clone(), None, targets(&rows, &device))
        .logits;
    model.teacher_forcing = 0.5;
    let scheduled = model.forward(source, None, targets(&rows, &device)).logits;
    let first = |t: &Tensor<3>| t.clone().narrow(1, 0, 1);
    assert_close("step 0", &first(&scheduled), &first(&forced), 1e-6);
    let later = |t: &Tensor<3>| t.clone().narrow(1, 1, 6);
    assert!(
        crate::util::max_abs_diff(&later(&scheduled), &later(&forced)) > 1e-3,
        "some later steps read the model's predictions"
    );
}

/// Teacher forcing 0: every step after the first reads the model's own previous prediction,
/// never the target (the probability is that of the target's token), so the logits' argmax
/// is greedy decoding's tokens, whatever the targets say.
#[test]
fn teacher_forcing_zero_decodes_greedily() {
    let device = device();
    let mut model = model(AttentionKind::LuongGeneral, false, CellKind::Gru, &device)
        .map(&mut Redraw(Rng::new(21), 2.0));
    let mut rng = Rng::new(13);
    let sources = random_sequences(&mut rng, &[4; 6], 3, SOURCE_VOCAB);
    let steps = 6;
    let rows: Vec<Vec<usize>> = random_sequences(&mut rng, &[steps - 1; 6], 3, TARGET_VOCAB)
        .into_iter()
        .map(|r| [vec![START], r].concat())
        .collect();
    let source = padded(&sources, 0, 0, &device).tokens;
    model.teacher_forcing = 0.0;
    let logits = model
        .forward(source.clone(), None, targets(&rows, &device))
        .logits;
    let greedy = model.greedy(source.clone(), None, &DecodeConfig::new(START, END, steps));
    let predicted = logits.argmax(2).squeeze_dim::<2>(2);
    let predicted: Vec<i64> = predicted.into_data().iter::<i64>().collect();
    let mut compared = 0;
    for (b, tokens) in greedy.tokens.iter().enumerate() {
        for (t, &token) in tokens.iter().enumerate() {
            assert_eq!(
                predicted[b * steps + t] as usize,
                token,
                "example {b}, step {t}"
            );
            compared += 1;
        }
    }
    // Fed the targets instead (teacher forcing 1, what a reversed probability would give
    // here), the argmax leaves greedy's tokens somewhere among the compared steps.
    model.teacher_forcing = 1.0;
    let forced = model
        .forward(source, None, targets(&rows, &device))
        .logits
        .argmax(2)
        .squeeze_dim::<2>(2);
    let forced: Vec<i64> = forced.into_data().iter::<i64>().collect();
    let differ = greedy
        .tokens
        .iter()
        .enumerate()
        .flat_map(|(b, tokens)| tokens.iter().enumerate().map(move |(t, &k)| (b, t, k)))
        .filter(|&(b, t, token)| forced[b * steps + t] as usize != token)
        .count();
    assert!(
        compared >= 8 && differ >= 2,
        "{compared} steps compared, {differ} of them other under teacher forcing"
    );
}

/// A tied output layer computes `h̃ Eᵀ + b`: a token whose target-embedding row is zero gets
/// exactly its bias as logit at every step (on the parallel and on the step-by-step path),
/// while the other tokens' logits vary; greedy decoding still replays through the training
/// forward.
#[rstest]
fn tied_output_reads_the_target_embedding(
    #[values(AttentionKind::Bahdanau, AttentionKind::LuongGeneral)] attention: AttentionKind,
    #[values(false, true)] input_feeding: bool,
) {
    let device = device();
    let embedding = 6;
    let mut model = Seq2SeqConfig::new(
        SOURCE_VOCAB,
        TARGET_VOCAB,
        RecurrentConfig::new(5)
            .with_cell(CellKind::Gru)
            .with_bidirectional(true),
        RecurrentConfig::new(10).with_cell(CellKind::Gru),
    )
    .with_embedding_size(embedding)
    .with_attention(attention)
    .with_input_feeding(input_feeding)
    .with_tie_embeddings(true)
    .init(&device);
    let silent = 4;
    model.target_embedding.weight = model.target_embedding.weight.clone().map(|w| {
        w.slice_assign(
            [silent..silent + 1, 0..embedding],
            Tensor::zeros([1, embedding], &device),
        )
    });
    let OutputLayer::Tied(bias) = &model.output else {
        panic!("with tie_embeddings the output layer is tied");
    };
    let bias = bias.val();

    let mut rng = Rng::new(30);
    let sources = random_sequences(&mut rng, &[5, 3], 3, SOURCE_VOCAB);
    let rows = random_sequences(&mut rng, &[4, 4], 3, TARGET_VOCAB);
    let batch = padded(&sources, 0, 0, &device);
    let logits = model
        .forward(batch.tokens, Some(&batch.lengths), targets(&rows, &device))
        .logits;
    let [batch_size, steps, _] = logits.dims();
    let expected =
        bias.clone()
            .reshape([1, 1, TARGET_VOCAB])
            .expand([batch_size, steps, TARGET_VOCAB]);
    let deviation = (logits - expected).abs().max_dim(0).max_dim(1);
    let deviation: Vec<f32> = deviation.into_data().iter::<f32>().collect();
    for (token, d) in deviation.iter().enumerate() {
        if token == silent {
            assert!(
                *d < 1e-6,
                "token {token}: logit differs from its bias by {d}"
            );
        } else {
            assert!(
                *d > 1e-4,
                "token {token}: logits follow h̃, got {d} from the bias"
            );
        }
    }

    let decode = DecodeConfig::new(START, END, 6);
    let greedy = model.greedy(single(&sources[0], &device), None, &decode);
    let (log_prob, _) = replay(&model, &sources[0], &greedy.tokens[0], &device);
    assert!(
        (log_prob - greedy.log_probs[0]).abs() < 1e-4,
        "{log_prob} vs {}",
        greedy.log_probs[0]
    );
}

/// The model's dense layers run through rnn-core's fused layer on the CPU backends where it
/// pays (and Burn's `linear` elsewhere): in a teacher-forced forward over 32 examples of 5
/// source and 4 target tokens, attention's `W` (160 rows), `combine` and the output layer (128
/// rows each); for inference, whose packed weights are kept between calls, from 16 rows, so
/// the bridge's two (32 rows) too.
#[test]
fn dense_layers_run_fused_on_the_cpu_backends() {
    for (device, runs) in [(device(), 5), (device().autodiff(), 3)] {
        let model = model(AttentionKind::LuongGeneral, false, CellKind::Lstm, &device);
        let sources = random_sequences(&mut Rng::new(4), &[5; 32], 3, SOURCE_VOCAB);
        let batch = padded(&sources, 0, 0, &device);
        let start = targets(&vec![vec![START; 4]; 32], &device);
        let counter = rnn_core::linear_runs_on_this_thread;
        crate::backend::expect_runs("fused dense layer", counter, runs, || {
            model.forward(batch.tokens, Some(&batch.lengths), start)
        });
    }
}

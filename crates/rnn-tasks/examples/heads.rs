//! The sequence heads of rnn-tasks in one place: the code of the README's tour, run.
//!
//! `cargo run -p rnn-tasks --example heads` (on wgpu when compiled in, else ndarray).

use burn::tensor::{Device, Int, Tensor};
use rnn_tasks::*;

fn main() {
    let device = Device::default();
    let tokens = Tensor::<2, Int>::from_ints([[5, 8, 13, 2], [7, 9, 0, 0]], &device); // [batch, seq]
    let lengths = [4, 2];

    // Many-to-one: a bidirectional GRU, attention pooling over the valid steps, 3 classes.
    let classifier = SequenceClassifierConfig::new(
        InputConfig::tokens(100, 16),
        RecurrentConfig::new(32)
            .with_cell(CellKind::Gru)
            .with_bidirectional(true),
        3,
    )
    .with_pooling(Pooling::Attention) // or Last, Mean, Max
    .init(&device);
    let out = classifier.forward(tokens.clone(), Some(&lengths));
    // out.logits [2, 3], out.pooled [2, 64], out.attention Some([2, 4]) (0 at padding)

    // Many-to-many: one output per step, 0 at padding; masked_cross_entropy / masked_mse as loss.
    let tagger =
        SequenceTaggerConfig::new(InputConfig::tokens(100, 16), RecurrentConfig::new(32), 5)
            .init(&device);
    let tags = tagger.forward(tokens.clone(), Some(&lengths)); // [2, 4, 5]

    // One-to-many: the initial state from a feature vector (or learned), sampled generation.
    let generator = SequenceGeneratorConfig::new(100, 16, RecurrentConfig::new(32))
        .with_condition_size(Some(10))
        .init(&device);
    let features = Tensor::<2>::zeros([2, 10], &device);
    let sampling = Sampling::Random {
        temperature: 0.8,
        top_k: Some(10),
        seed: 42,
    }; // or Greedy
    let generated = generator.generate(Some(features), 2, &DecodeConfig::new(1, 2, 20), &sampling);

    // Sequence to sequence: a bidirectional encoder, attention, input feeding (default).
    let model = Seq2SeqConfig::new(
        100,
        120,
        RecurrentConfig::new(32).with_bidirectional(true),
        RecurrentConfig::new(64),
    )
    .with_attention(AttentionKind::LuongGeneral) // or Bahdanau, LuongDot
    .init(&device);
    let target_in = Tensor::<2, Int>::from_ints([[1, 9, 10], [1, 12, 13]], &device);
    let train = model.forward(tokens.clone(), Some(&lengths), target_in); // teacher forcing
    // train.logits [2, 3, 120], train.attention [2, 3, 4]
    let decode = DecodeConfig::new(1, 2, 30); // start token, end token, max length
    let greedy = model.greedy(tokens.clone(), Some(&lengths), &decode);
    let beam = model.beam_search(tokens, Some(&lengths), &decode, &BeamSearchConfig::new(5));
    // beam.tokens: Vec<Vec<usize>>, beam.scores, beam.log_probs, beam.attention [2, target, 4]
    println!("classifier logits {:?}", out.logits.dims());
    println!("tagger outputs {:?}", tags.dims());
    println!("generated {:?}", generated.tokens);
    println!(
        "training logits {:?}, attention {:?}",
        train.logits.dims(),
        train.attention.dims()
    );
    println!(
        "greedy {:?} (log-probs {:?})",
        greedy.tokens, greedy.log_probs
    );
    println!(
        "beam {:?} (scores {:?}), attention {:?}",
        beam.tokens,
        beam.scores,
        beam.attention.dims()
    );
}

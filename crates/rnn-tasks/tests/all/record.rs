//! Heads save and load with Burn's records, config included.

use burn::config::Config;
use burn::module::Module;
use rnn_tasks::{
    AttentionKind, CellKind, InputConfig, Pooling, RecurrentConfig, Seq2Seq, Seq2SeqConfig,
    SequenceClassifierConfig,
};

use rstest::rstest;

use crate::backend::device;
use crate::seq2seq::targets;
use crate::util::{assert_close, max_abs_diff};

#[rstest]
fn seq2seq_round_trips_through_files(#[values(false, true)] tie_embeddings: bool) {
    let device = device();
    let dir = tempfile::tempdir().unwrap();
    let config = Seq2SeqConfig::new(
        7,
        8,
        RecurrentConfig::new(4)
            .with_cell(CellKind::Lstm)
            .with_bidirectional(true),
        RecurrentConfig::new(6)
            .with_cell(CellKind::Gru)
            .with_num_layers(2),
    )
    .with_attention(AttentionKind::Bahdanau)
    .with_embedding_size(5)
    .with_tie_embeddings(tie_embeddings);
    config
        .save(dir.path().join("config.json"))
        .expect("save config");
    let saved = config.init(&device);
    saved
        .clone()
        .save_file(dir.path().join("model.bpk"))
        .expect("save model");

    let source = targets(&[vec![3, 4, 5, 6], vec![2, 3, 0, 0]], &device);
    let target_in = targets(&[vec![1, 4, 5], vec![1, 6, 7]], &device);
    let before = saved.forward(source.clone(), Some(&[4, 2]), target_in.clone());

    let config = Seq2SeqConfig::load(dir.path().join("config.json")).expect("load config");
    let fresh: Seq2Seq = config.init(&device);
    let differs = fresh.forward(source.clone(), Some(&[4, 2]), target_in.clone());
    assert!(
        max_abs_diff(&differs.logits, &before.logits) > 1e-4,
        "a fresh init differs"
    );
    let loaded = fresh
        .try_load_file(dir.path().join("model.bpk"))
        .expect("load model");
    let after = loaded.forward(source, Some(&[4, 2]), target_in);
    assert_close("logits", &after.logits, &before.logits, 0.0);
    assert_close("attention", &after.attention, &before.attention, 0.0);
}

#[test]
fn classifier_with_attention_pooling_round_trips() {
    let device = device();
    let dir = tempfile::tempdir().unwrap();
    let config =
        SequenceClassifierConfig::new(InputConfig::tokens(9, 4), RecurrentConfig::new(5), 3)
            .with_pooling(Pooling::Attention)
            .with_mlp_hidden(vec![6]);
    let saved = config.init(&device);
    saved
        .clone()
        .save_file(dir.path().join("model.bpk"))
        .expect("save");
    let tokens = targets(&[vec![1, 2, 3], vec![4, 5, 0]], &device);
    let before = saved.forward(tokens.clone(), Some(&[3, 2]));
    let loaded = config
        .init(&device)
        .try_load_file(dir.path().join("model.bpk"))
        .expect("load");
    let after = loaded.forward(tokens, Some(&[3, 2]));
    assert_close("logits", &after.logits, &before.logits, 0.0);
    assert_close(
        "attention",
        after.attention.as_ref().unwrap(),
        before.attention.as_ref().unwrap(),
        0.0,
    );
}

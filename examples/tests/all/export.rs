//! `translation export` and `sentiment export`: the split and tokens that training uses,
//! written for another framework.

use std::collections::HashSet;

use burn_rnn_examples::bpe::join_subwords;
use burn_rnn_examples::sentiment::SentimentOptions;
use burn_rnn_examples::text::tokenize;
use burn_rnn_examples::text::{Vocab, model_tokens};
use burn_rnn_examples::translation::{TranslationOptions, export_split};

fn lines(dir: &std::path::Path, name: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(dir.join(name))
        .unwrap()
        .lines()
        .map(|l| l.split(' ').map(str::to_string).collect())
        .collect()
}

#[test]
fn export_writes_each_part_as_subwords_and_reference_words() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("pairs.tsv");
    let pairs: Vec<(String, String)> = (0..40)
        .map(|i| {
            (
                format!("Das Haus Nummer {i} ist rot."),
                format!("House number {i} is red."),
            )
        })
        .collect();
    let tsv: String = pairs.iter().map(|(s, t)| format!("{s}\t{t}\n")).collect();
    std::fs::write(&data, tsv).unwrap();
    let options = TranslationOptions {
        data,
        test_size: 6,
        valid_size: 4,
        bpe_merges: 2,
        ..TranslationOptions::default()
    };
    let out = dir.path().join("split");
    let sizes = export_split(&options, &out).unwrap();
    assert_eq!(sizes, [30, 4, 6]);

    let sources: HashSet<Vec<String>> = pairs.iter().map(|(s, _)| tokenize(s)).collect();
    let mut seen = HashSet::new();
    for (part, size) in ["train", "valid", "test"].into_iter().zip(sizes) {
        let [src, tgt, reference] =
            ["src", "tgt", "ref"].map(|ext| lines(&out, &format!("{part}.{ext}")));
        assert_eq!([src.len(), tgt.len(), reference.len()], [size; 3], "{part}");
        for ((s, t), r) in src.iter().zip(&tgt).zip(&reference) {
            let words = join_subwords(s);
            assert!(
                sources.contains(&words),
                "{part}: {s:?} spells a source sentence"
            );
            assert!(seen.insert(words), "{part}: {s:?} in one part only");
            assert!(t.len() > r.len(), "{part}: {t:?} is split into subwords");
            assert_eq!(&join_subwords(t), r, "{part}: subwords spell the reference");
        }
    }
}

/// Each sentence once, as its class index and the ids of its words in the training split's
/// vocabulary (words seen once there are `<unk>`); the classes and the vocabulary size in
/// `meta.json`.
#[test]
fn sentiment_export_writes_each_part_as_class_and_ids() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("sentences.tsv");
    let sentences: Vec<(String, String)> = (0..60)
        .map(|i| {
            let (label, word) = if i % 2 == 0 {
                ("pos", "good")
            } else {
                ("neg", "bad")
            };
            (label.to_string(), format!("a {word} thing number {i}"))
        })
        .collect();
    let tsv: String = sentences
        .iter()
        .map(|(l, t)| format!("{l}\t{t}\n"))
        .collect();
    std::fs::write(&data, tsv).unwrap();
    let options = SentimentOptions {
        data,
        ..SentimentOptions::default()
    };
    let out = dir.path().join("split");
    let sizes = burn_rnn_examples::sentiment::export_split(&options, &out).unwrap();
    assert_eq!(sizes.iter().sum::<usize>(), 60);

    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["classes"], serde_json::json!(["neg", "pos"]));
    assert_eq!(meta["pad"], serde_json::json!(Vocab::PAD));
    let vocab_size = meta["vocab_size"].as_u64().unwrap() as usize;
    // The numbers are seen once (`<unk>`); the other words in every sentence of a label, and the
    // split, stratified by label, keeps as many of each label for training: the training
    // split's words rank as all sentences' do, so its vocabulary is theirs.
    let vocab = Vocab::from_texts(sentences.iter().map(|(_, t)| t.as_str()), 2);
    assert_eq!(vocab_size, vocab.len());
    let expected: HashSet<(usize, Vec<usize>)> = sentences
        .iter()
        .map(|(l, t)| (usize::from(l == "pos"), vocab.encode(&model_tokens(t))))
        .collect();
    let mut seen = 0;
    for (part, size) in ["train", "valid", "test"].into_iter().zip(sizes) {
        let text = std::fs::read_to_string(out.join(format!("{part}.tsv"))).unwrap();
        assert_eq!(text.lines().count(), size, "{part}");
        for line in text.lines() {
            let (label, ids) = line.split_once('\t').unwrap();
            let ids: Vec<usize> = ids.split(' ').map(|i| i.parse().unwrap()).collect();
            assert!(ids.iter().all(|&i| i < vocab_size), "{part}: {line}");
            let item = (label.parse().unwrap(), ids);
            assert!(
                expected.contains(&item),
                "{part}: {line} is a sentence of the data"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 60);
}

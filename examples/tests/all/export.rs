//! `translation export`: the split and tokens that training uses, written for another framework.

use std::collections::HashSet;

use burn_rnn_examples::bpe::join_subwords;
use burn_rnn_examples::text::tokenize;
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

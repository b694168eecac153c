use std::collections::HashSet;
use std::path::{Path, PathBuf};

use burn_rnn_examples::sentiment::data as sentiment_data;
use burn_rnn_examples::sentiment::{SentimentOptions, split_examples};
use burn_rnn_examples::split::{TooSmall, split};
use burn_rnn_examples::translation::{TranslationOptions, split_pairs};

/// (label, group, id) items: 3 labels, pairs of items share a group.
fn items() -> Vec<(usize, usize, usize)> {
    (0..600).map(|i| (i % 3, i / 2, i)).collect()
}

#[test]
fn parts_are_disjoint_complete_and_seeded() {
    let parts = split(items(), 0.1, 0.2, 7, |i| i.0, |i| i.1).unwrap();
    let ids = |part: &[(usize, usize, usize)]| part.iter().map(|i| i.2).collect::<HashSet<_>>();
    let (train, valid, test) = (ids(&parts.train), ids(&parts.valid), ids(&parts.test));
    assert_eq!(train.len() + valid.len() + test.len(), 600);
    assert!(train.is_disjoint(&valid) && train.is_disjoint(&test) && valid.is_disjoint(&test));
    let again = split(items(), 0.1, 0.2, 7, |i| i.0, |i| i.1).unwrap();
    assert_eq!(again.test, parts.test);
    let other = split(items(), 0.1, 0.2, 8, |i| i.0, |i| i.1).unwrap();
    assert_ne!(other.test, parts.test);
}

#[test]
fn groups_stay_together_and_strata_keep_their_proportions() {
    // Group by label and pair so that each group sits in one stratum.
    let parts = split(items(), 0.1, 0.2, 7, |i| i.0, |i| (i.0, i.1)).unwrap();
    let groups =
        |part: &[(usize, usize, usize)]| part.iter().map(|i| (i.0, i.1)).collect::<HashSet<_>>();
    assert!(groups(&parts.train).is_disjoint(&groups(&parts.test)));
    assert!(groups(&parts.train).is_disjoint(&groups(&parts.valid)));
    for label in 0..3 {
        let count = |part: &[(usize, usize, usize)]| part.iter().filter(|i| i.0 == label).count();
        let total = 200.0;
        assert!(
            (count(&parts.test) as f64 / total - 0.2).abs() < 0.02,
            "label {label}"
        );
        assert!(
            (count(&parts.valid) as f64 / total - 0.1).abs() < 0.02,
            "label {label}"
        );
    }
}

#[test]
fn a_split_that_leaves_a_part_empty_is_an_error_with_the_counts() {
    // Every item its own stratum: round(1 × 0.1) = 0 held out anywhere.
    let singletons: Vec<usize> = (0..10).collect();
    let error = split(singletons, 0.1, 0.1, 7, |&i| i, |&i| i).unwrap_err();
    assert_eq!(
        error,
        TooSmall {
            empty_part: "validation",
            items: 10,
            groups: 10,
            largest_stratum: 1,
        }
    );
    // One stratum: 5 groups fill all three parts (round(5 × 0.1) = 1), 4 do not.
    let parts = split((0..5).collect::<Vec<usize>>(), 0.1, 0.1, 7, |_| (), |&i| i).unwrap();
    assert_eq!(
        [parts.train.len(), parts.valid.len(), parts.test.len()],
        [3, 1, 1]
    );
    let error = split(
        (0..8).collect::<Vec<usize>>(),
        0.1,
        0.1,
        7,
        |_| (),
        |&i| i / 2,
    )
    .unwrap_err();
    assert_eq!(
        (error.items, error.groups, error.largest_stratum),
        (8, 4, 4)
    );
}

/// Labelled sentences, `per_label` distinct ones for each of labels 0 and 1 (and `source`).
fn sentences(per_label: usize, source: impl Fn(usize) -> String) -> Vec<sentiment_data::Example> {
    let tsv: String = (0..2 * per_label)
        .map(|i| format!("{}\t{}\tsentence number {i}\n", source(i), i % 2))
        .collect();
    sentiment_data::parse(&tsv, "test").unwrap()
}

fn sentiment_options(data: &str) -> SentimentOptions {
    SentimentOptions {
        data: PathBuf::from(data),
        ..SentimentOptions::default()
    }
}

#[test]
fn sentiment_data_too_small_to_split_is_an_error_naming_the_file() {
    let expected = "expected at least 5 distinct sentences with the same label (and source), so \
                    that 10% validation and 10% test hold out one or more each";
    // 4 sentences of each label: 10% of 4 rounds to none.
    let error = split_examples(
        sentences(4, |_| "web".into()),
        &sentiment_options("tiny.tsv"),
    )
    .unwrap_err();
    assert_eq!(
        error,
        format!(
            "--data tiny.tsv: too small to split into training, validation and test sets (the \
             validation set came out empty): {expected}, got 8 sentences, at most 4 distinct \
             with the same label (and source)"
        )
    );
    // Plenty of sentences, but every (source, label) stratum a single one.
    let error = split_examples(
        sentences(50, |i| format!("site{i}")),
        &sentiment_options("sites.tsv"),
    )
    .unwrap_err();
    assert!(error.starts_with("--data sites.tsv: too small"), "{error}");
    assert!(
        error.ends_with("got 100 sentences, at most 1 distinct with the same label (and source)"),
        "{error}"
    );
    // The minimum the message names is enough.
    let parts = split_examples(
        sentences(5, |_| "web".into()),
        &sentiment_options("five.tsv"),
    )
    .unwrap();
    assert_eq!(
        [parts.train.len(), parts.valid.len(), parts.test.len()],
        [6, 2, 2]
    );
}

fn write_pairs(dir: &Path, pairs: &[(String, String)]) -> PathBuf {
    let path = dir.join("pairs.tsv");
    let tsv: String = pairs.iter().map(|(s, t)| format!("{s}\t{t}\n")).collect();
    std::fs::write(&path, tsv).unwrap();
    path
}

#[test]
fn translation_data_too_small_to_split_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let distinct: Vec<(String, String)> = (0..6)
        .map(|i| (format!("Satz {i}."), format!("Sentence {i}.")))
        .collect();
    let data = write_pairs(dir.path(), &distinct);
    let small = TranslationOptions {
        data: data.clone(),
        test_size: 2,
        valid_size: 1,
        ..TranslationOptions::default()
    };
    let parts = split_pairs(&small).unwrap();
    assert_eq!(
        [parts.train.len(), parts.valid.len(), parts.test.len()],
        [3, 1, 2]
    );
    // The defaults hold out 800 test and 400 validation pairs.
    let error = split_pairs(&TranslationOptions {
        data: data.clone(),
        ..TranslationOptions::default()
    })
    .unwrap_err();
    assert_eq!(
        error,
        format!(
            "--data {}: too small to split into training, validation and test sets (the \
             training set came out empty): expected at least 1201 pairs with distinct source \
             sentences (800 test, 400 validation, the rest training), got 6 pairs, 6 distinct \
             source sentences",
            data.display()
        )
    );
    // Many pairs, one source sentence: one group, which no split can share out.
    let repeated: Vec<(String, String)> = (0..10)
        .map(|i| ("Hallo.".to_string(), format!("Hello {i}.")))
        .collect();
    let error = split_pairs(&TranslationOptions {
        data: write_pairs(dir.path(), &repeated),
        ..small
    })
    .unwrap_err();
    assert!(
        error.ends_with("got 10 pairs, 1 distinct source sentences"),
        "{error}"
    );
}

/// A quick run's 50 validation and 50 test sentences hold both labels (the held-out parts come
/// stratum by stratum: cut as they come, they held only the first stratum's label).
#[test]
fn a_quick_sentiment_split_holds_out_every_label() {
    let options = SentimentOptions {
        quick: true,
        ..sentiment_options("quick.tsv")
    };
    let parts = split_examples(sentences(1000, |_| "web".into()), &options).unwrap();
    for (name, part) in [("validation", &parts.valid), ("test", &parts.test)] {
        assert_eq!(part.len(), 50, "{name}");
        let labels: HashSet<&str> = part.iter().map(|e| e.label.as_str()).collect();
        assert_eq!(labels.len(), 2, "{name}: {labels:?}");
    }
}

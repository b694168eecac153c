use std::collections::HashSet;

use burn_rnn_examples::split::split;

/// (label, group, id) items: 3 labels, pairs of items share a group.
fn items() -> Vec<(usize, usize, usize)> {
    (0..600).map(|i| (i % 3, i / 2, i)).collect()
}

#[test]
fn parts_are_disjoint_complete_and_seeded() {
    let parts = split(items(), 0.1, 0.2, 7, |i| i.0, |i| i.1);
    let ids = |part: &[(usize, usize, usize)]| part.iter().map(|i| i.2).collect::<HashSet<_>>();
    let (train, valid, test) = (ids(&parts.train), ids(&parts.valid), ids(&parts.test));
    assert_eq!(train.len() + valid.len() + test.len(), 600);
    assert!(train.is_disjoint(&valid) && train.is_disjoint(&test) && valid.is_disjoint(&test));
    let again = split(items(), 0.1, 0.2, 7, |i| i.0, |i| i.1);
    assert_eq!(again.test, parts.test);
    let other = split(items(), 0.1, 0.2, 8, |i| i.0, |i| i.1);
    assert_ne!(other.test, parts.test);
}

#[test]
fn groups_stay_together_and_strata_keep_their_proportions() {
    // Group by label and pair so that each group sits in one stratum.
    let parts = split(items(), 0.1, 0.2, 7, |i| i.0, |i| (i.0, i.1));
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

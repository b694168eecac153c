//! BLEU against hand-computed values.

use burn_rnn_examples::bleu::corpus_bleu;

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

#[test]
fn identical_corpus_scores_100_and_disjoint_scores_0() {
    let refs = vec![
        words("the cat sat on the mat"),
        words("a dog ran in the park today"),
    ];
    assert!((corpus_bleu(&refs, &refs) - 100.0).abs() < 1e-9);
    let other = vec![words("x y z w v u"), words("p q r s t o n")];
    assert_eq!(corpus_bleu(&other, &refs), 0.0);
}

/// Hypothesis "the cat sat on the red mat" against "the cat sat on the mat":
/// 1-grams 6/7, 2-grams 4/6 (the cat, cat sat, sat on, on the), 3-grams 3/5, 4-grams 2/4;
/// the hypothesis is longer, so no brevity penalty.
#[test]
fn hand_computed_sentence() {
    let expected = 100.0 * ((6.0f64 / 7.0) * (4.0 / 6.0) * (3.0 / 5.0) * (2.0 / 4.0)).powf(0.25);
    let bleu = corpus_bleu(
        &[words("the cat sat on the red mat")],
        &[words("the cat sat on the mat")],
    );
    assert!((bleu - expected).abs() < 1e-9, "{bleu} vs {expected}");
}

/// Counts are clipped by the reference ("the the the" matches "the" once... twice here) and
/// pooled over the corpus before the precisions are taken; a short corpus pays the brevity
/// penalty exp(1 - r/c).
#[test]
fn clipping_pooling_and_brevity_penalty() {
    let hyps = vec![words("the the the the"), words("a b c d e")];
    let refs = vec![words("the cat and the hat"), words("a b c d e f g")];
    // 1-grams: 2 of 4 (clipped) + 5 of 5 = 7/9; 2-grams: 0/3 + 4/4 = 4/7;
    // 3-grams: 0/2 + 3/3 = 3/5; 4-grams: 0/1 + 2/2 = 2/3. c = 9, r = 12.
    let precision = (7.0f64 / 9.0) * (4.0 / 7.0) * (3.0 / 5.0) * (2.0 / 3.0);
    let expected = 100.0 * (1.0f64 - 12.0 / 9.0).exp() * precision.powf(0.25);
    let bleu = corpus_bleu(&hyps, &refs);
    assert!((bleu - expected).abs() < 1e-9, "{bleu} vs {expected}");
}

#[test]
fn an_empty_hypothesis_corpus_scores_0() {
    assert_eq!(corpus_bleu(&[words("")], &[words("a b c d")]), 0.0);
}

//! BLEU against hand-computed values, and sacreBLEU's against the sacrebleu package's.

use burn_rnn_examples::bleu::{corpus_bleu, sacre_bleu, tokenize_13a};

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

/// sacreBLEU's 13a tokens, as sacrebleu 2.6.0's `Tokenizer13a` gives them.
#[test]
fn tokenize_13a_matches_sacrebleu() {
    let cases: [(&str, &[&str]); 4] = [
        (
            "It costs $3.50, i.e. 1,000 yen-ish (approx.)!",
            &[
                "It", "costs", "$", "3.50", ",", "i", ".", "e", ".", "1,000", "yen-ish", "(",
                "approx", ".", ")", "!",
            ],
        ),
        (
            "The well-known \"fact\" &amp; 1990-1995 <b>bold</b> path/to/file: {x} [y] ~z_ a^b \
             @home #tag 50%",
            &[
                "The",
                "well-known",
                "\"",
                "fact",
                "\"",
                "&",
                "1990",
                "-",
                "1995",
                "<",
                "b",
                ">",
                "bold",
                "<",
                "/",
                "b",
                ">",
                "path",
                "/",
                "to",
                "/",
                "file",
                ":",
                "{",
                "x",
                "}",
                "[",
                "y",
                "]",
                "~",
                "z",
                "_",
                "a",
                "^",
                "b",
                "@",
                "home",
                "#",
                "tag",
                "50",
                "%",
            ],
        ),
        (
            "Straße... über, 2.5.",
            &["Straße", ".", ".", ".", "über", ",", "2.5", "."],
        ),
        (
            "a.. b,, c.d e,f 3.x x.3 -5 5- a-b",
            &[
                "a", ".", ".", "b", ",", ",", "c", ".", "d", "e", ",", "f", "3", ".", "x", "x",
                ".", "3", "-5", "5", "-", "a-b",
            ],
        ),
    ];
    for (line, expected) in cases {
        assert_eq!(tokenize_13a(line), expected, "{line}");
    }
}

/// Corpus scores as `sacrebleu.BLEU(lowercase=True).corpus_score(hyps, [refs]).score` gives
/// them (sacrebleu 2.6.0, signature `nrefs:1|case:lc|eff:no|tok:13a|smooth:exp`): case and
/// apostrophes as sacreBLEU treats them, an order without a match smoothed, a hypothesis too
/// short for 3-grams scoring 0, numbers kept whole.
#[test]
fn sacre_bleu_matches_sacrebleu() {
    let cases: [(&[&str], &[&str], f64); 5] = [
        (
            &[
                "there's just one snag.",
                "i don't know what he wants.",
                "it is a well-known fact in town",
                "the cat sat on a mat",
            ],
            &[
                "There's just one snag.",
                "I don't know what he said.",
                "It is a well-known fact in the town",
                "The cat sat upon the mat",
            ],
            65.726649285943,
        ),
        (
            &["the cat sat on a mat"],
            &["the cat sat upon the mat"],
            32.46679154750991,
        ),
        (&["hello world"], &["hello there world again"], 0.0),
        (
            &["it costs 3.50, about 1,000 yen."],
            &["It costs 3.50 , about 1,000 yen ."],
            100.0,
        ),
        (&[""], &["Something here."], 0.0),
    ];
    for (hypotheses, references, expected) in cases {
        let score = sacre_bleu(hypotheses, references);
        assert!(
            (score - expected).abs() < 1e-9,
            "{hypotheses:?}: {score} against {expected}"
        );
    }
}

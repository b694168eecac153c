//! Corpus BLEU (Papineni et al., 2002).
//!
//! The definition used by the translation example: hypotheses and references are detokenised,
//! lower-cased text, tokenised again with [`tokenize`](crate::text::tokenize) (words and
//! punctuation marks as tokens); one reference per sentence; n-gram precisions for n = 1..4
//! with clipped counts summed over the whole corpus; uniform weights; no smoothing; brevity
//! penalty `exp(1 - r / c)` when the total hypothesis length `c` is below the total reference
//! length `r`. Reported on a 0–100 scale, like sacreBLEU.

use std::collections::HashMap;

/// Corpus BLEU-4 of `hypotheses` against `references` (token lists, one reference each),
/// in 0..=100.
///
/// # Panics
/// If the two lists differ in length.
pub fn corpus_bleu<S: AsRef<str>>(hypotheses: &[Vec<S>], references: &[Vec<S>]) -> f64 {
    assert_eq!(
        hypotheses.len(),
        references.len(),
        "hypotheses and references: expected as many of each"
    );
    let mut matches = [0usize; 4];
    let mut totals = [0usize; 4];
    let (mut hyp_len, mut ref_len) = (0, 0);
    for (hyp, reference) in hypotheses.iter().zip(references) {
        hyp_len += hyp.len();
        ref_len += reference.len();
        for n in 1..=4 {
            let ref_counts = ngram_counts(reference, n);
            for (gram, count) in ngram_counts(hyp, n) {
                matches[n - 1] += count.min(ref_counts.get(&gram).copied().unwrap_or(0));
                totals[n - 1] += count;
            }
        }
    }
    if hyp_len == 0 || matches.contains(&0) {
        return 0.0;
    }
    let log_precision: f64 = (0..4)
        .map(|i| (matches[i] as f64 / totals[i] as f64).ln())
        .sum::<f64>()
        / 4.0;
    let brevity = if hyp_len < ref_len {
        (1.0 - ref_len as f64 / hyp_len as f64).exp()
    } else {
        1.0
    };
    100.0 * brevity * log_precision.exp()
}

fn ngram_counts<S: AsRef<str>>(tokens: &[S], n: usize) -> HashMap<Vec<&str>, usize> {
    let mut counts = HashMap::new();
    for gram in tokens.windows(n) {
        *counts
            .entry(gram.iter().map(AsRef::as_ref).collect())
            .or_default() += 1;
    }
    counts
}

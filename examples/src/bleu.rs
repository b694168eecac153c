//! Corpus BLEU (Papineni et al., 2002), two ways.
//!
//! [`corpus_bleu`], the translation example's own definition: hypotheses and references are
//! detokenised, lower-cased text, tokenised again with [`tokenize`](crate::text::tokenize)
//! (words and punctuation marks as tokens); one reference per sentence; n-gram precisions for
//! n = 1..4 with clipped counts summed over the whole corpus; uniform weights; no smoothing;
//! brevity penalty `exp(1 - r / c)` when the total hypothesis length `c` is below the total
//! reference length `r`. Reported on a 0–100 scale.
//!
//! [`sacre_bleu`], sacreBLEU's corpus BLEU (Post, 2018; version 2's defaults but for case):
//! the same statistics over the tokens of mteval-v13a's tokeniser (`13a`), with its
//! exponential smoothing of n-gram orders without a match, and lower-cased, as the example's
//! translations are (signature `nrefs:1|case:lc|eff:no|tok:13a|smooth:exp`): the number to
//! compare with published ones.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

/// Corpus BLEU-4 of `hypotheses` against `references` (token lists, one reference each),
/// in 0..=100.
///
/// # Panics
/// If the two lists differ in length.
pub fn corpus_bleu<S: AsRef<str>>(hypotheses: &[Vec<S>], references: &[Vec<S>]) -> f64 {
    let stats = Statistics::of(hypotheses, references);
    if stats.hyp_len == 0 || stats.matches.contains(&0) {
        return 0.0;
    }
    let log_precision: f64 = (0..4)
        .map(|i| (stats.matches[i] as f64 / stats.totals[i] as f64).ln())
        .sum::<f64>()
        / 4.0;
    100.0 * stats.brevity_penalty() * log_precision.exp()
}

/// sacreBLEU's corpus BLEU of the detokenised `hypotheses` against the `references` (one
/// each), lower-cased (`sacrebleu -lc`, signature `nrefs:1|case:lc|eff:no|tok:13a|smooth:exp`),
/// in 0..=100.
///
/// # Panics
/// If the two lists differ in length.
pub fn sacre_bleu<S: AsRef<str>>(hypotheses: &[S], references: &[S]) -> f64 {
    let tokens = |texts: &[S]| -> Vec<Vec<String>> {
        texts
            .iter()
            .map(|t| tokenize_13a(&t.as_ref().to_lowercase()))
            .collect()
    };
    let stats = Statistics::of(&tokens(hypotheses), &tokens(references));
    if stats.matches.iter().all(|&m| m == 0) {
        return 0.0;
    }
    // An order without a match counts as `1 / (2^k · total)`, k the count of such orders so
    // far (mteval's smoothing); an order with no n-gram at all ends the sum, its precision 0.
    let mut precisions = [0.0f64; 4];
    let mut smoothing = 1.0;
    for (precision, (&matches, &total)) in precisions
        .iter_mut()
        .zip(stats.matches.iter().zip(&stats.totals))
    {
        if total == 0 {
            break;
        }
        *precision = if matches == 0 {
            smoothing *= 2.0;
            100.0 / (smoothing * total as f64)
        } else {
            100.0 * matches as f64 / total as f64
        };
    }
    // sacreBLEU's `my_log`: the log of 0 floored to -9999999999 (a score of 0).
    let log = |p: f64| if p == 0.0 { -9_999_999_999.0 } else { p.ln() };
    stats.brevity_penalty() * (precisions.iter().map(|&p| log(p)).sum::<f64>() / 4.0).exp()
}

/// mteval-v13a's tokenisation as sacreBLEU's `13a` tokeniser does it: symbols and most
/// punctuation split off, a period or comma split off unless between digits, a dash after a
/// digit split off; apostrophes and other dashes stay inside words.
pub fn tokenize_13a(line: &str) -> Vec<String> {
    static RULES: LazyLock<[(Regex, &str); 4]> = LazyLock::new(|| {
        let rule = |pattern: &str, replacement| {
            (Regex::new(pattern).expect("a valid pattern"), replacement)
        };
        [
            // Symbols: `{|}~`, ``[\]^_` ``, ` !"#$%&`, `()*+`, `:;<=>?@` and `/`.
            rule(r"([{-~\[-` -&(-+:-@/])", " $1 "),
            // A period or comma not preceded by a digit, then one not followed by one.
            rule(r"([^0-9])([.,])", "$1 $2 "),
            rule(r"([.,])([^0-9])", " $1 $2"),
            // A dash after a digit.
            rule(r"([0-9])(-)", "$1 $2 "),
        ]
    });
    let mut line = line
        .trim_end()
        .replace("<skipped>", "")
        .replace("-\n", "")
        .replace('\n', " ");
    if line.contains('&') {
        line = line
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }
    let mut line = format!(" {line} ");
    for (pattern, replacement) in RULES.iter() {
        line = pattern.replace_all(&line, *replacement).into_owned();
    }
    line.split_whitespace().map(String::from).collect()
}

/// BLEU's sufficient statistics of a corpus: clipped n-gram matches and n-gram counts of the
/// hypotheses for n = 1..4, and the total lengths.
struct Statistics {
    matches: [usize; 4],
    totals: [usize; 4],
    hyp_len: usize,
    ref_len: usize,
}

impl Statistics {
    /// # Panics
    /// If the two lists differ in length.
    fn of<S: AsRef<str>>(hypotheses: &[Vec<S>], references: &[Vec<S>]) -> Self {
        assert_eq!(
            hypotheses.len(),
            references.len(),
            "hypotheses and references: expected as many of each"
        );
        let mut stats = Statistics {
            matches: [0; 4],
            totals: [0; 4],
            hyp_len: 0,
            ref_len: 0,
        };
        for (hyp, reference) in hypotheses.iter().zip(references) {
            stats.hyp_len += hyp.len();
            stats.ref_len += reference.len();
            for n in 1..=4 {
                let ref_counts = ngram_counts(reference, n);
                for (gram, count) in ngram_counts(hyp, n) {
                    stats.matches[n - 1] += count.min(ref_counts.get(&gram).copied().unwrap_or(0));
                    stats.totals[n - 1] += count;
                }
            }
        }
        stats
    }

    /// `exp(1 - r / c)` when the hypotheses are shorter than the references, else 1 (0 for
    /// empty hypotheses).
    fn brevity_penalty(&self) -> f64 {
        match (self.hyp_len, self.ref_len) {
            (0, _) => 0.0,
            (c, r) if c < r => (1.0 - r as f64 / c as f64).exp(),
            _ => 1.0,
        }
    }
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

//! Reading the example data files: both formats, the shipped files, and clear errors.

use burn_rnn_examples::sentiment::data as sentiment;
use burn_rnn_examples::translation::data as translation;

#[test]
fn shipped_sentiment_file_has_3000_balanced_sentences() {
    let examples =
        sentiment::read(&burn_rnn_examples::sentiment::SentimentOptions::default().data).unwrap();
    assert_eq!(examples.len(), 3000);
    assert_eq!(sentiment::classes(&examples), ["0", "1"]);
    for site in ["amazon", "imdb", "yelp"] {
        let positive = examples
            .iter()
            .filter(|e| e.source.as_deref() == Some(site) && e.label == "1")
            .count();
        assert_eq!(positive, 500, "{site}");
    }
}

#[test]
fn sentiment_reads_two_columns_with_or_without_header() {
    let with = sentiment::parse("label\ttext\npos\tGreat!\nneg\tAwful.\n", "f").unwrap();
    let without = sentiment::parse("pos\tGreat!\n\nneg\tAwful.\n", "f").unwrap();
    assert_eq!(with, without);
    assert_eq!(with[0].source, None);
    assert_eq!(sentiment::classes(&with), ["neg", "pos"]);
    // Integer labels sort numerically.
    let numeric = sentiment::parse("10\ta\n9\tb\n", "f").unwrap();
    assert_eq!(sentiment::classes(&numeric), ["9", "10"]);
}

#[test]
fn sentiment_errors_name_the_file_and_line() {
    let error = sentiment::parse("1\tfine\n0\tbad\textra\n", "f.tsv").unwrap_err();
    assert!(
        error.contains("f.tsv:2: expected 2 tab-separated columns like the first line, got 3"),
        "{error}"
    );
    let error = sentiment::parse("just text\n", "f.tsv").unwrap_err();
    assert!(
        error.contains("f.tsv:1: expected 2 (label, text) or 3"),
        "{error}"
    );
    let error = sentiment::parse("1\t \n", "f.tsv").unwrap_err();
    assert!(
        error.contains("f.tsv:1: expected a label and a non-empty text"),
        "{error}"
    );
    assert!(
        sentiment::parse("", "f.tsv")
            .unwrap_err()
            .contains("empty file")
    );
    let error = sentiment::read(std::path::Path::new("/no/such/file.tsv")).unwrap_err();
    assert!(error.starts_with("--data /no/such/file.tsv"), "{error}");
}

#[test]
fn translation_reads_pairs_ignoring_extra_columns_and_repeats() {
    let pairs = translation::parse(
        "Hallo!\tHello!\tCC-BY 2.0 (France) Attribution: tatoeba.org\nHallo!\tHello!\n\nJa.\tYes.\n",
        "f",
    )
    .unwrap();
    assert_eq!(pairs.len(), 2);
    assert_eq!(
        (pairs[1].source.as_str(), pairs[1].target.as_str()),
        ("Ja.", "Yes.")
    );
    let error = translation::parse("Hallo!\n", "f.tsv").unwrap_err();
    assert!(
        error.contains("f.tsv:1: expected a source sentence, a TAB and its translation"),
        "{error}"
    );
    let shipped =
        translation::read(&burn_rnn_examples::translation::TranslationOptions::default().data)
            .unwrap();
    assert_eq!(shipped.len(), 14_845);
}

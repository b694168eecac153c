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

#[test]
fn sentiment_header_names_the_columns_in_any_order() {
    let expected = sentiment::parse("pos\tGreat!\nneg\tAwful.\n", "f").unwrap();
    // Before the header rule, `text<TAB>label` was a sentence "label" of class "text".
    for header in ["text\tlabel", "Sentence\tLabel", " TEXT \tlabel"] {
        let swapped = sentiment::parse(&format!("{header}\nGreat!\tpos\nAwful.\tneg\n"), "f");
        assert_eq!(swapped.as_ref(), Ok(&expected), "{header:?}");
    }
    let with_source = sentiment::parse("text\tsource\tlabel\nGreat!\tyelp\tpos\n", "f").unwrap();
    assert_eq!(
        with_source,
        [sentiment::Example {
            source: Some("yelp".into()),
            label: "pos".into(),
            text: "Great!".into(),
        }]
    );
    // A first line with any field that is not a column name is data.
    let data = sentiment::parse("label\tGreat!\n", "f").unwrap();
    assert_eq!(
        (data[0].label.as_str(), data[0].text.as_str()),
        ("label", "Great!")
    );
    // All column names, but not a usable header.
    for header in ["label\tlabel", "text\tsentence", "source\ttext"] {
        let error = sentiment::parse(&format!("\n{header}\npos\tGreat!\n"), "f.tsv").unwrap_err();
        assert!(
            error.starts_with("f.tsv:2: expected a header naming label and text"),
            "{error}"
        );
    }
    // Rows follow the header's width.
    let error = sentiment::parse("sentence\tlabel\nGreat!\tpos\tyelp\n", "f.tsv").unwrap_err();
    assert!(
        error.contains("f.tsv:2: expected 2 tab-separated columns like the first line, got 3"),
        "{error}"
    );
}

#[test]
fn sentiment_classes_are_in_one_total_order_whatever_the_input_order() {
    let examples = |labels: &[&str]| -> Vec<sentiment::Example> {
        labels
            .iter()
            .map(|label| sentiment::Example {
                source: None,
                label: label.to_string(),
                text: "text".into(),
            })
            .collect()
    };
    // Integers by value (equal values by text), then the rest by text. By value for two
    // integers and by text otherwise, 2 < 10 < 1a < 2 went round in a circle.
    let expected = ["01", "1", "2", "10", "1a", "a", "b"];
    let mut labels = vec!["b", "10", "1a", "2", "a", "1", "01", "1", "2"];
    for _ in 0..labels.len() {
        labels.rotate_left(1);
        assert_eq!(
            sentiment::classes(&examples(&labels)),
            expected,
            "{labels:?}"
        );
        labels.reverse();
        assert_eq!(
            sentiment::classes(&examples(&labels)),
            expected,
            "{labels:?}"
        );
    }
    for labels in [["2", "10", "1a"], ["1a", "10", "2"], ["10", "2", "1a"]] {
        assert_eq!(sentiment::classes(&examples(&labels)), ["2", "10", "1a"]);
    }
    // `1` and `01` are the same number but different labels: each once.
    assert_eq!(
        sentiment::classes(&examples(&["1", "01", "1"])),
        ["01", "1"]
    );
}

//! Loading a saved model's directory: files that do not belong together, or are missing, give
//! an error naming the file, never a panic or silently wrong output.

use std::path::Path;

use burn_rnn_examples::files::{save_model, write_json};
use burn_rnn_examples::sentiment::SentimentPredictor;
use burn_rnn_examples::sentiment::model::SentimentModel;
use burn_rnn_examples::text::Vocab;
use burn_rnn_examples::translation::Translator;
use burn_rnn_examples::translation::model::TranslationModel;
use burn_rnn_examples::translation::segmenter::Segmenter;
use rnn_tasks::{InputConfig, RecurrentConfig, Seq2SeqConfig, SequenceClassifierConfig};

use crate::programs::backend_of_tests;

/// A vocabulary of 4 reserved tokens and 3 words.
fn vocab() -> Vocab {
    Vocab::from_texts(["gut schlecht ja"], 1)
}

/// Writes a small untrained classifier for `vocab_size` tokens and `num_classes` classes to
/// `dir`, beside `vocab()` and the `classes`.
fn save_classifier(dir: &Path, vocab_size: usize, num_classes: usize, classes: &[&str]) {
    let config = SequenceClassifierConfig::new(
        InputConfig::tokens(vocab_size, 4),
        RecurrentConfig::new(4).with_bidirectional(true),
        num_classes,
    );
    let device = backend_of_tests().device();
    let model = SentimentModel {
        classifier: config.try_init(&device).unwrap(),
    };
    save_model(dir, model, &config).unwrap();
    vocab().save(&dir.join("vocab.json")).unwrap();
    write_json(&dir.join("classes.json"), &classes).unwrap();
}

fn load_classifier_error(dir: &Path) -> String {
    SentimentPredictor::load(dir, backend_of_tests())
        .err()
        .expect("an error")
}

#[test]
fn sentiment_predictor_checks_vocabulary_and_classes_against_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let words = vocab().len();

    save_classifier(dir, words, 2, &["neg", "pos"]);
    let predictor = SentimentPredictor::load(dir, backend_of_tests()).unwrap();
    let predictions = predictor.predict(&["gut".to_string(), "ja schlecht".to_string()]);
    assert!(
        predictions
            .iter()
            .all(|p| ["neg", "pos"].contains(&p.label.as_str()))
    );

    // A vocabulary larger than the embedding would index outside it (a panic).
    save_classifier(dir, words - 1, 2, &["neg", "pos"]);
    assert_eq!(
        load_classifier_error(dir),
        format!(
            "{}: expected {} tokens (the input.vocab_size of {}), got {words}; the files come \
             from different training runs",
            dir.join("vocab.json").display(),
            words - 1,
            dir.join("config.json").display()
        )
    );
    // Classes that do not match the output layer would name its outputs wrongly.
    save_classifier(dir, words, 3, &["neg", "pos"]);
    let error = load_classifier_error(dir);
    assert!(
        error.starts_with(&format!(
            "{}: expected 3 classes (the num_classes of",
            dir.join("classes.json").display()
        )) && error.contains("got 2;"),
        "{error}"
    );
}

/// Writes a small untrained translation model for `source` and `target` vocabulary sizes to
/// `dir`, beside `vocab()` for both languages and whole-word segmenters.
fn save_translator(dir: &Path, source: usize, target: usize) {
    let config = Seq2SeqConfig::new(
        source,
        target,
        RecurrentConfig::new(4).with_bidirectional(true),
        RecurrentConfig::new(8),
    )
    .with_embedding_size(4);
    let device = backend_of_tests().device();
    let model = TranslationModel {
        seq2seq: config.try_init(&device).unwrap(),
        label_smoothing: 0.0,
    };
    save_model(dir, model, &config).unwrap();
    for side in ["source", "target"] {
        vocab()
            .save(&dir.join(format!("{side}_vocab.json")))
            .unwrap();
        Segmenter::learn(["gut schlecht ja"], 0)
            .save(&dir.join(format!("{side}_bpe.json")))
            .unwrap();
    }
}

fn load_translator_error(dir: &Path) -> String {
    Translator::load(dir, backend_of_tests())
        .err()
        .expect("an error")
}

#[test]
fn translator_checks_vocabularies_against_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let words = vocab().len();

    save_translator(dir, words, words);
    let translator = Translator::load(dir, backend_of_tests()).unwrap();
    let t = &translator.translate(&["gut ja".to_string()], Some(2), 3)[0];
    assert_eq!(t.source_tokens, ["gut", "ja"], "whole words, as saved");

    // Generated ids beyond the target vocabulary would panic when read back as tokens.
    save_translator(dir, words, words + 5);
    assert_eq!(
        load_translator_error(dir),
        format!(
            "{}: expected {} tokens (the target_vocab_size of {}), got {words}; the files come \
             from different training runs",
            dir.join("target_vocab.json").display(),
            words + 5,
            dir.join("config.json").display()
        )
    );
    save_translator(dir, words - 1, words);
    let error = load_translator_error(dir);
    assert!(
        error.starts_with(&format!(
            "{}: expected {} tokens (the source_vocab_size of",
            dir.join("source_vocab.json").display(),
            words - 1
        )),
        "{error}"
    );
}

#[test]
fn a_missing_bpe_file_is_an_error_not_whole_words() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let words = vocab().len();
    save_translator(dir, words, words);
    let merges = dir.join("target_bpe.json");
    assert_eq!(
        std::fs::read_to_string(&merges).unwrap(),
        "{\n  \"merges\": null\n}",
        "whole words are recorded, not left as a missing file"
    );
    std::fs::remove_file(&merges).unwrap();
    assert_eq!(
        load_translator_error(dir),
        format!(
            "{}: expected the BPE merges saved with the model ({{\"merges\": null}} for a model \
             trained on whole words, --bpe 0), got no such file",
            merges.display()
        )
    );
}

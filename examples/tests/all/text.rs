use burn_rnn_examples::text::{Vocab, bleu_words, detokenize, tokenize};

#[test]
fn tokenize_lowercases_and_splits_punctuation() {
    assert_eq!(
        tokenize("I’ve made ONE change, (maybe) two!"),
        [
            "i", "'", "ve", "made", "one", "change", ",", "(", "maybe", ")", "two", "!"
        ]
    );
    assert_eq!(
        tokenize("Größe: 38.000 Personen"),
        ["größe", ":", "38", ".", "000", "personen"]
    );
    assert!(tokenize("  \t ").is_empty());
}

#[test]
fn detokenize_reverses_tokenize_on_ordinary_sentences() {
    for sentence in [
        "i've made one or two modifications to the original design.",
        "what's on the schedule for today?",
        "she has no problem slumming (it) in cheap hotels.",
        "dirty clothes littered the floor, again!",
    ] {
        assert_eq!(detokenize(&tokenize(sentence)), sentence);
    }
}

#[test]
fn vocab_orders_by_frequency_and_maps_rare_words_to_unk() {
    let sentences: Vec<Vec<String>> = ["a b a c", "b a d", "a"]
        .iter()
        .map(|s| tokenize(s))
        .collect();
    let vocab = Vocab::build(sentences.iter().map(Vec::as_slice), 2);
    // a: 4, b: 2; c and d once each.
    assert_eq!(vocab.len(), 6);
    assert_eq!(vocab.token(4), "a");
    assert_eq!(vocab.token(5), "b");
    assert_eq!(vocab.encode(&["b", "c", "a"]), [5, Vocab::UNK, 4]);
    assert_eq!(vocab.decode(&[Vocab::BOS, 4, 5, Vocab::EOS, 4]), ["a", "b"]);
}

#[test]
fn vocab_round_trips_through_json_and_rejects_a_file_without_the_reserved_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let sentences = [tokenize("x y y z")];
    let vocab = Vocab::build(sentences.iter().map(Vec::as_slice), 1);
    let path = dir.path().join("vocab.json");
    vocab.save(&path).unwrap();
    let loaded = Vocab::load(&path).unwrap();
    assert_eq!(loaded, vocab);
    assert_eq!(loaded.id("y"), vocab.id("y"));

    std::fs::write(&path, r#"{"tokens": ["x", "y"]}"#).unwrap();
    let error = Vocab::load(&path).unwrap_err();
    assert!(error.contains("expected the reserved tokens"), "{error}");
    std::fs::write(&path, "not json").unwrap();
    assert!(Vocab::load(&path).unwrap_err().contains("vocab.json"));
}

/// A generated `<unk>` is one wrong word for BLEU, not three tokens.
#[test]
fn bleu_words_keep_unk_whole() {
    assert_eq!(
        bleu_words("<unk> met <unk>, Anna<unk>"),
        ["<unk>", "met", "<unk>", ",", "anna", "<unk>"]
    );
    assert_eq!(bleu_words("no unknowns."), tokenize("no unknowns."));
}

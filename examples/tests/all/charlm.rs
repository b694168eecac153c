//! The character model's building blocks: reading and splitting the text, the vocabulary,
//! the stream batches of truncated backpropagation through time, the Kneser–Ney baseline, and
//! the errors for texts it cannot train on.

use std::path::Path;

use burn_rnn_examples::charlm::CharLmOptions;
use burn_rnn_examples::charlm::corpus::{CharVocab, read_text, split_text};
use burn_rnn_examples::charlm::data::CharData;
use burn_rnn_examples::charlm::ngram::KneserNey;
use burn_rnn_examples::charlm::streams::Streams;

#[test]
fn each_batch_continues_the_streams_of_the_one_before() {
    // Each id is its position, so a stream's continuity shows in the values.
    let ids: Vec<usize> = (0..23).collect();
    let streams = Streams::new(&ids, 2, 4).unwrap();
    assert_eq!(streams.stream_length(), 11); // 22 targets over 2 streams
    assert_eq!(streams.chunks(), 3); // 4 + 4 + 3
    assert_eq!(streams.targets(), 22);
    let first = streams.chunk(0);
    assert_eq!(first.inputs, vec![vec![0, 1, 2, 3], vec![11, 12, 13, 14]]);
    assert_eq!(first.targets, vec![vec![1, 2, 3, 4], vec![12, 13, 14, 15]]);
    for s in 0..2 {
        let stream: Vec<usize> = (0..3)
            .flat_map(|k| streams.chunk(k).inputs[s].clone())
            .collect();
        assert_eq!(
            stream,
            (s * 11..(s + 1) * 11).collect::<Vec<_>>(),
            "stream {s}"
        );
        for k in 0..3 {
            let chunk = streams.chunk(k);
            let next: Vec<usize> = chunk.inputs[s].iter().map(|i| i + 1).collect();
            assert_eq!(
                chunk.targets[s], next,
                "the targets are the next characters"
            );
        }
    }
    assert_eq!(streams.chunk(2).inputs[1], vec![19, 20, 21]);
    assert_eq!(streams.target_positions(), 1..=22);
}

#[test]
fn streams_need_a_target_for_every_stream() {
    assert!(Streams::new(&[0, 1, 2, 3], 4, 8).is_none());
    assert!(Streams::new(&[0, 1, 2, 3, 4], 4, 8).is_some());
    assert!(Streams::new(&[], 1, 1).is_none());
}

/// `books` books, each a title line and `verses` verse lines.
fn book_text(books: usize, verses: usize) -> String {
    let mut text = String::new();
    for b in 0..books {
        text.push_str(&format!("The Book of Number {b}\n"));
        for v in 0..verses {
            text.push_str(&format!("And verse {v} of book {b} was written here.\n"));
        }
    }
    text
}

#[test]
fn the_split_is_three_contiguous_blocks_cut_at_headings() {
    let text = book_text(40, 12);
    let split = split_text(&text, 0.05, 0.05);
    assert_eq!(
        format!("{}{}{}", split.train, split.valid, split.test),
        text
    );
    for block in [&split.valid, &split.test] {
        assert!(
            block.starts_with("The Book of Number "),
            "{:?}",
            &block[..30]
        );
    }
    let [train, valid, test] = split.sizes();
    assert_eq!(train + valid + test, text.chars().count());
    // Two books of 40 (5%) in each held-out block.
    assert!(split.test.starts_with("The Book of Number 38\n"));
    assert!(split.valid.starts_with("The Book of Number 36\n"));
    assert!(valid > 0 && test > 0 && train > 15 * (valid + test) / 2);
}

#[test]
fn a_text_without_headings_is_cut_at_line_starts_or_characters() {
    let lines: String = (0..100).map(|i| format!("line {i}.\n")).collect();
    let split = split_text(&lines, 0.1, 0.1);
    assert_eq!(
        format!("{}{}{}", split.train, split.valid, split.test),
        lines
    );
    assert!(split.valid.starts_with("line ") && split.test.starts_with("line "));
    let one_line = "abcdefghij".repeat(10);
    let split = split_text(&one_line, 0.1, 0.2);
    assert_eq!(split.sizes(), [70, 10, 20]);
}

#[test]
fn the_vocabulary_maps_unknown_characters_to_one_symbol() {
    let vocab = CharVocab::build("ba¶ ab");
    assert_eq!(vocab.len(), 5); // unknown, ' ', 'a', 'b', '¶'
    assert_eq!(vocab.encode("ab ¶"), vec![2, 3, 1, 4]);
    assert_eq!(vocab.encode("z"), vec![CharVocab::UNK]);
    assert_eq!(vocab.decode(&vocab.encode("a?b")), "a\u{FFFD}b");
}

/// A saved vocabulary that is empty, lacks the unknown symbol or is out of order is an error
/// naming the file, not a panic.
#[test]
fn a_malformed_saved_vocabulary_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let unknown = CharVocab::UNK_CHAR;
    for chars in [vec![], vec!['a', 'b'], vec![unknown, 'b', 'a']] {
        let json = serde_json::json!({ "chars": chars });
        std::fs::write(dir.path().join("vocab.json"), json.to_string()).unwrap();
        let error = CharVocab::load_saved(dir.path(), "vocab.json", "vocab_size", 3).unwrap_err();
        assert!(
            error.ends_with(&format!(
                "vocab.json: expected the unknown symbol {unknown:?} first, then distinct \
                 characters in code point order"
            )),
            "{chars:?}: {error}"
        );
    }
}

#[test]
fn kneser_ney_matches_hand_computed_probabilities() {
    // "abcbab" as ids (a 1, b 2, c 3; 0 unknown), order 2. Bigrams ab ×2, bc, cb, ba:
    // D2 = n1 / (n1 + 2 n2) = 3/5. Continuation counts of the unigrams (distinct left
    // neighbours): b 2 (a, c), c 1, a 1, so D1 = 2/4, and
    // P1(b) = (2 - 1/2)/4 + (1/2)(3/4)(1/4) = 15/32, P1(a) = P1(c) = 7/32, P1(unk) = 3/32.
    let ids = [1, 2, 3, 2, 1, 2];
    let kn = KneserNey::train(&ids, 2, 4);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(close(kn.probability(&[], 2), 15.0 / 32.0));
    assert!(close(kn.probability(&[], 1), 7.0 / 32.0));
    assert!(close(kn.probability(&[], 0), 3.0 / 32.0));
    // After a: c(ab) = 2 of 2, one distinct follower:
    // (2 - 3/5)/2 + (3/5)(1/2) P1(b) = 7/10 + (3/10)(15/32) = 269/320.
    assert!(close(kn.probability(&[1], 2), 269.0 / 320.0));
    assert!(close(kn.probability(&[1], 3), 21.0 / 320.0));
    // After b: bc and ba once each: (1 - 3/5)/2 + (3/5)(2/2)(7/32) = 106/320.
    assert!(close(kn.probability(&[2], 1), 106.0 / 320.0));
    // An unseen context backs off to the unigram distribution; a longer one is cut.
    assert!(close(kn.probability(&[0], 2), 15.0 / 32.0));
    assert!(close(kn.probability(&[3, 3, 1], 2), 269.0 / 320.0));
}

#[test]
fn kneser_ney_distributions_sum_to_one() {
    let text = book_text(3, 20);
    let vocab = CharVocab::build(&text);
    let ids = vocab.encode(&text);
    let kn = KneserNey::train(&ids, 5, vocab.len());
    let contexts: [&str; 5] = ["", "T", "ook ", "verse", "zzzz"];
    for context in contexts {
        let context = vocab.encode(context);
        let sum: f64 = (0..vocab.len())
            .map(|next| kn.probability(&context, next))
            .sum();
        assert!((sum - 1.0).abs() < 1e-9, "{context:?}: {sum}");
    }
    // A text it was trained on is well predicted: well under log2(vocab) bits.
    let bits = kn.bits_per_char(&ids, 1..ids.len());
    assert!(bits < 1.0, "{bits}");
    assert!((vocab.len() as f64).log2() > 4.0);
}

fn options(batch: usize, chunk: usize) -> CharLmOptions {
    CharLmOptions {
        batch,
        chunk,
        ..CharLmOptions::default()
    }
}

#[test]
fn unreadable_texts_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let error = read_text(&empty).unwrap_err();
    assert!(
        error.contains("empty.txt") && error.contains("empty file"),
        "{error}"
    );

    let latin1 = dir.path().join("latin1.txt");
    std::fs::write(&latin1, b"caf\xe9 au lait").unwrap();
    let error = read_text(&latin1).unwrap_err();
    assert!(
        error.contains("latin1.txt") && error.contains("UTF-8"),
        "{error}"
    );
    assert!(error.contains("at byte 3"), "{error}");

    let missing = dir.path().join("missing.txt");
    assert!(read_text(&missing).unwrap_err().contains("missing.txt"));
}

#[test]
fn texts_too_short_to_train_on_are_errors_giving_the_sizes() {
    let data = Path::new("short.txt");
    let error = CharData::from_text("In the beginning", data, &options(4, 16)).unwrap_err();
    assert!(error.contains("short.txt"), "{error}");
    assert!(
        error.contains("at least 17 characters") && error.contains("got 16"),
        "{error}"
    );

    // Longer than a chunk, but the training block holds less than one batch of 8 × 16.
    let text = book_text(1, 2);
    let error = CharData::from_text(&text, data, &options(8, 16)).unwrap_err();
    assert!(
        error.contains("training block") && error.contains("129"),
        "{error}"
    );

    // Flags too large for any text are errors too, not overflows.
    let text = book_text(40, 12);
    let max = usize::MAX as u128;
    for (batch, chunk, needed) in [
        (usize::MAX, 16, max * 16 + 1),
        (4, usize::MAX, max + 1),
        (1 << 60, 32, (1 << 65) + 1),
    ] {
        let error = CharData::from_text(&text, data, &options(batch, chunk)).unwrap_err();
        assert!(
            error.contains(&format!("expected at least {needed} characters")),
            "{error}"
        );
    }

    // Enough for one batch: the blocks are encoded with the training block's characters.
    let ok = CharData::from_text(&text, data, &options(4, 16)).unwrap();
    assert_eq!(
        ok.train.len() + ok.valid.len() + ok.test.len(),
        text.chars().count()
    );
    assert_eq!(ok.vocab.decode(&ok.test), ok.split.test);
}

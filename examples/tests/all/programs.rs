//! The example programs end to end in `--quick` mode (a tiny subset, one epoch; for
//! `xlstm_tasks`, two steps per cell) on the backend under test, then their prediction modes
//! on the saved models.

use std::path::Path;
use std::process::{Command, Output};

use burn_rnn_examples::backend::Backend;
use burn_rnn_examples::bpe::join_subwords;
use burn_rnn_examples::text::{detokenize, tokenize};
use burn_rnn_examples::translation::Translator;

/// The backend under test, as the programs' `--backend` value.
fn backend() -> String {
    std::env::var("RNN_TEST_BACKEND").unwrap_or_else(|_| "ndarray".to_string())
}

/// Runs an example program with `args` and the backend under test; returns its output.
fn run(program: &str, args: &[&str]) -> Output {
    let output = Command::new(program)
        .args(args)
        .args(["--backend", &backend()])
        .output()
        .expect("the example program starts");
    println!("{}", String::from_utf8_lossy(&output.stdout));
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    output
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "exit status {}", output.status);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The number after `prefix` on the output line that starts with it.
fn number_after(text: &str, prefix: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?}"));
    line[prefix.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn is_png(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.starts_with(b"\x89PNG\r\n\x1a\n"))
}

#[test]
fn sentiment_quick_run_trains_saves_and_predicts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let sentiment = env!("CARGO_BIN_EXE_sentiment");
    let text = stdout(&run(sentiment, &["--quick", "--out", out]));
    assert!(text.contains("epoch   1: train loss"), "one line per epoch");
    let accuracy = number_after(&text, "test accuracy: ");
    assert!((0.0..=1.0).contains(&accuracy));
    for file in [
        "model.bpk",
        "config.json",
        "vocab.json",
        "classes.json",
        "test_split.json",
    ] {
        assert!(dir.path().join(file).is_file(), "{file}");
    }
    // The saved files (through the predictor, one padded batch) score the test split as the
    // training run did (its model, in batches of 128): the same accuracy per source.
    let scores = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("  ") || l.starts_with("test accuracy"))
            .map(String::from)
            .collect()
    };
    let evaluated = stdout(&run(sentiment, &["evaluate", "--model", out, "--quick"]));
    assert!(!scores(&text).is_empty(), "{text}");
    assert_eq!(scores(&evaluated), scores(&text), "{evaluated}");
    // The training run's seed and `--quick` are saved with the model (`test_split.json`), so
    // `evaluate` needs neither; another seed draws another test split, which holds sentences
    // the model trained on: an error, not an inflated accuracy.
    let evaluated = stdout(&run(sentiment, &["evaluate", "--model", out]));
    assert_eq!(scores(&evaluated), scores(&text), "{evaluated}");
    let output = run(sentiment, &["evaluate", "--model", out, "--seed", "7"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--seed 7: expected the test split that the model in")
            && stderr.contains("with seed 42, quick), got another"),
        "{stderr}"
    );
    // Another file (the shipped one without every tenth sentence) is refused the same way.
    let shipped = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/sentiment/uci_sentiment_labelled_sentences.tsv"
    );
    let text_of_file = std::fs::read_to_string(shipped).unwrap();
    let fewer: Vec<&str> = (text_of_file.lines().enumerate())
        .filter(|(i, _)| i % 10 != 3)
        .map(|(_, line)| line)
        .collect();
    let other = dir.path().join("fewer.tsv");
    std::fs::write(&other, fewer.join("\n") + "\n").unwrap();
    let output = run(
        sentiment,
        &[
            "evaluate",
            "--model",
            out,
            "--data",
            other.to_str().unwrap(),
        ],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "--data {} --seed 42: expected the test split",
            other.display()
        )),
        "{stderr}"
    );
    // A model saved without the record (before it was saved) is scored as asked, with a note.
    std::fs::remove_file(dir.path().join("test_split.json")).unwrap();
    let output = run(sentiment, &["evaluate", "--model", out, "--quick"]);
    assert_eq!(scores(&stdout(&output)), scores(&text));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("test_split.json not found"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let text = stdout(&run(
        sentiment,
        &[
            "predict",
            "--model",
            out,
            "Great phone, I love it.",
            "Worst film ever.",
        ],
    ));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        assert!(["0", "1"].contains(&fields[0]), "{line}");
        let p: f64 = fields[1].parse().unwrap();
        assert!(
            (0.5..=1.0).contains(&p),
            "the probability of the most likely of 2 classes: {line}"
        );
    }
}

#[test]
fn translation_quick_run_trains_scores_and_translates() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let translation = env!("CARGO_BIN_EXE_translation");
    // The largest patience is no overflow (a panic in the dev profile the tests build).
    let patience = ["--patience", "18446744073709551615"];
    let text = stdout(&run(
        translation,
        &[&["--quick", "--out", out, "--beam", "3"][..], &patience].concat(),
    ));
    assert!(text.contains("epoch   1: train loss"), "one line per epoch");
    for method in ["greedy", "beam 3"] {
        let bleu = number_after(&text, &format!("test BLEU ({method}): "));
        assert!((0.0..=100.0).contains(&bleu), "{method}");
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("test BLEU ({method}): ")))
            .unwrap();
        let (_, after) = line.split_once("; sacreBLEU ").unwrap();
        let sacre: f64 = after.split(';').next().unwrap().parse().unwrap();
        assert!((0.0..=100.0).contains(&sacre), "{method}: {line}");
    }
    for side in ["source", "target"] {
        let merges = dir.path().join(format!("{side}_bpe.json"));
        assert!(merges.is_file(), "{side} BPE merges saved");
    }
    for i in 0..4 {
        assert!(
            is_png(&dir.path().join(format!("attention-{i}.png"))),
            "heatmap {i}"
        );
    }

    // The saved model again on the same test split: the same BLEU.
    let again = dir.path().join("again");
    let text_again = stdout(&run(
        translation,
        &[
            "evaluate",
            "--quick",
            "--model",
            out,
            "--out",
            again.to_str().unwrap(),
            "--beam",
            "3",
        ],
    ));
    for method in ["greedy", "beam 3"] {
        let prefix = format!("test BLEU ({method}): ");
        assert_eq!(
            number_after(&text_again, &prefix),
            number_after(&text, &prefix),
            "{method}"
        );
    }
    assert!(is_png(&again.join("attention-0.png")));
    // Another seed's test split holds pairs the model trained on: refused, before decoding.
    let output = run(translation, &["evaluate", "--model", out, "--seed", "7"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--seed 7: expected the test split that the model in"),
        "{stderr}"
    );

    let heatmaps = dir.path().join("maps");
    let text = stdout(&run(
        translation,
        &[
            "translate",
            "--model",
            out,
            "--heatmaps",
            heatmaps.to_str().unwrap(),
            "Wie spät ist es?",
        ],
    ));
    assert!(text.starts_with("Wie spät ist es?\n  → "), "{text}");
    assert!(is_png(&heatmaps.join("attention-0.png")));

    // The heatmap's numbers: one row per generated token, one weight per source token, each
    // row a distribution over the source.
    let translator = Translator::load(dir.path(), backend_of_tests()).unwrap();
    let sentences = [
        "Na endlich. Es wurde aber auch Zeit!".to_string(),
        "Ja.".to_string(),
    ];
    for beam in [None, Some(3)] {
        for (sentence, t) in sentences
            .iter()
            .zip(translator.translate(&sentences, beam, 6))
        {
            // Subwords (BPE, the default) that spell the sentence's words.
            assert_eq!(join_subwords(&t.source_tokens), tokenize(sentence));
            assert_eq!(t.attention.len(), t.target_tokens.len());
            assert!((1..=6).contains(&t.target_tokens.len()));
            for row in &t.attention {
                assert_eq!(row.len(), t.source_tokens.len());
                let sum: f32 = row.iter().sum();
                assert!((sum - 1.0).abs() < 1e-4, "{row:?}");
                assert!(
                    row.iter().all(|&w| w > 0.0),
                    "{sentence}, beam {beam:?}: {row:?}"
                );
            }
            // Each <unk> is replaced by the source word with the most attention, unless that
            // is punctuation.
            let words: Vec<String> = t
                .target_tokens
                .iter()
                .zip(&t.attention)
                .take_while(|(token, _)| *token != "</s>")
                .map(|(token, row)| match token.as_str() {
                    "<unk>" => {
                        let top = (0..row.len())
                            .max_by(|&i, &j| row[i].total_cmp(&row[j]))
                            .unwrap();
                        let word = &t.source_tokens[top];
                        if word.chars().any(char::is_alphanumeric) {
                            word.clone()
                        } else {
                            token.clone()
                        }
                    }
                    _ => token.clone(),
                })
                .collect();
            assert_eq!(t.text, detokenize(&join_subwords(&words)));
        }
    }
}

#[test]
fn translation_quick_run_with_whole_words() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let translation = env!("CARGO_BIN_EXE_translation");
    let text = stdout(&run(
        translation,
        &["--quick", "--out", out, "--beam", "2", "--bpe", "0"],
    ));
    let bleu = number_after(&text, "test BLEU (beam 2): ");
    assert!((0.0..=100.0).contains(&bleu));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("source_bpe.json")).unwrap(),
        "{\n  \"merges\": null\n}",
        "whole words recorded"
    );
    let translator = Translator::load(dir.path(), backend_of_tests()).unwrap();
    let sentence = "Es wurde aber auch Zeit!".to_string();
    let t = &translator.translate(std::slice::from_ref(&sentence), None, 4)[0];
    assert_eq!(t.source_tokens, tokenize(&sentence), "whole words");
}

#[test]
fn bad_arguments_fail_with_a_message_naming_them() {
    let sentiment = env!("CARGO_BIN_EXE_sentiment");
    let output = run(sentiment, &["--quick", "--data", "/no/such/file.tsv"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("error: --data /no/such/file.tsv"));

    let output = run(sentiment, &["predict", "--model", "/no/such/dir", "text"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/no/such/dir/config.json"));

    let tiny = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tiny.path(), "label\ttext\n1\tGood.\n0\tBad.\n").unwrap();
    let output = run(
        sentiment,
        &["--quick", "--data", tiny.path().to_str().unwrap()],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "error: --data {}: too small",
            tiny.path().display()
        )) && stderr.contains("expected at least 5 distinct sentences")
            && stderr.contains("got 2 sentences"),
        "{stderr}"
    );
}

#[test]
fn charlm_quick_run_trains_saves_and_continues_a_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let charlm = env!("CARGO_BIN_EXE_charlm");
    // The largest patience is no overflow (nor a stop after one epoch when wrapping).
    let text = stdout(&run(
        charlm,
        &[
            "--quick",
            "--out",
            out,
            "--patience",
            "18446744073709551615",
        ],
    ));
    assert!(text.contains("epoch   1: train loss"), "one line per epoch");
    assert!(text.contains("epoch   2: train loss"), "one line per epoch");
    let model = number_after(&text, "test bits/char: ");
    let ngram = number_after(&text, "5-gram Kneser-Ney baseline: ");
    assert!(
        model > 0.0 && model.is_finite() && ngram > 0.0,
        "{model} {ngram}"
    );
    for file in ["model.bpk", "config.json", "vocab.json"] {
        assert!(dir.path().join(file).is_file(), "{file}");
    }

    let prompt = "In the beginning";
    let args = [
        "generate", "--model", out, "--prompt", prompt, "--length", "40", "--top-k", "5", "--seed",
        "3",
    ];
    let generated = stdout(&run(charlm, &args));
    let generated = generated.strip_suffix('\n').unwrap();
    assert!(generated.starts_with(prompt), "{generated}");
    assert_eq!(generated.chars().count(), prompt.chars().count() + 40);
    assert_eq!(
        stdout(&run(charlm, &args)).trim_end_matches('\n'),
        generated,
        "seeded"
    );
}

#[test]
fn charlm_refuses_texts_it_cannot_train_on() {
    let charlm = env!("CARGO_BIN_EXE_charlm");
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 3] = [
        ("empty.txt", b"", "expected a text, got an empty file"),
        (
            "latin1.txt",
            b"caf\xe9",
            "expected UTF-8 text, got an invalid byte sequence at byte 3",
        ),
        (
            "short.txt",
            b"In the beginning",
            "expected at least 129 characters",
        ),
    ];
    for (name, bytes, message) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let output = run(
            charlm,
            &["--data", path.to_str().unwrap(), "--out", "/nonexistent"],
        );
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        let expected = format!("error: --data {}: {message}", path.display());
        assert!(stderr.contains(&expected), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let output = run(charlm, &["generate", "--model", "/no/such/dir"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/no/such/dir/config.json"));
    // PyTorch weights of another model (embeddings of 6, not the quick model's 16).
    let weights = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/charlm_torch/lstm/init.safetensors"
    );
    let output = run(
        charlm,
        &[
            "--quick",
            "--init-from",
            weights,
            "--out",
            dir.path().to_str().unwrap(),
        ],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!("error: --init-from {weights}: embedding.weight: expected shape [");
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains(", 16], got ["), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn xlstm_tasks_quick_runs_print_a_table_row_for_every_cell() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let program = env!("CARGO_BIN_EXE_xlstm_tasks");
    // Under wgpu each run compiles its kernels anew (about 8 s a task with Mesa's software
    // driver): there MQAR alone runs, the model with every part (two inputs per step, many
    // targets); the CPU backends run all three tasks.
    let tasks: &[&str] = match backend().as_str() {
        "wgpu" => &["mqar"],
        _ => &["parity", "modarith", "mqar"],
    };
    for &task in tasks {
        let text = stdout(&run(program, &["--quick", "--task", task, "--out", out]));
        assert!(
            text.contains("epoch   1: train loss"),
            "{task}: one line per epoch"
        );
        assert!(
            text.contains("| cell | memory mixing |"),
            "{task}: the table"
        );
        for cell in ["lstm", "gru", "slstm", "mlstm", "mingru", "minlstm"] {
            let row = text
                .lines()
                .find(|line| line.starts_with(&format!("| {cell} |")))
                .unwrap_or_else(|| panic!("{task}: no row for {cell}"));
            let columns: Vec<&str> = row.split('|').map(str::trim).collect();
            // `| cell | mixing | parameters | steps | best | time | accuracies... |`
            assert_eq!(columns.len(), 10, "{row}: two test ranges");
            assert_eq!(columns[4], "2", "{row}: 2 steps");
            for accuracy in &columns[7..9] {
                let accuracy: f64 = accuracy.parse().unwrap();
                assert!((0.0..=1.0).contains(&accuracy), "{row}");
            }
        }
    }
    let output = run(program, &["--quick", "--cells", "lstm,lstm", "--out", out]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: --cells: lstm is listed twice"),
        "{stderr}"
    );
}

/// The `DATE<TAB>VALUE` lines that `forecast predict` prints for the model in `dir` (the
/// default series, the CO2 file, whose last date is 2001-12-29).
fn forecast_prediction(dir: &Path) -> Vec<(String, f64)> {
    let forecast = env!("CARGO_BIN_EXE_forecast");
    let text = stdout(&run(
        forecast,
        &["predict", "--model", dir.to_str().unwrap()],
    ));
    let lines: Vec<(String, f64)> = text
        .lines()
        .map(|line| {
            let (date, value) = line.split_once('\t').unwrap();
            (date.to_string(), value.parse().unwrap())
        })
        .collect();
    assert_eq!(lines.len(), 52, "{text}");
    assert_eq!(lines[0].0, "2002-01-05", "a week after the last date");
    assert_eq!(lines[51].0, "2002-12-28");
    assert!(lines.iter().all(|(_, value)| value.is_finite()), "{text}");
    lines
}

/// `program` with `args`, its output a pipe whose reading end is already closed (as in
/// `forecast predict | head -0`), ends as `SIGPIPE` ends a command-line program, not with a
/// panic.
fn prints_into_a_closed_pipe_quietly(program: &str, args: &[&str]) {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = Command::new(program)
            .args(args)
            .args(["--backend", &backend()])
            .stdout(writer)
            .output()
            .expect("the example program starts");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.signal(),
            Some(libc::SIGPIPE),
            "{}: {stderr}",
            output.status
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn numbers(value: &serde_json::Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// A `--quick` training run of `forecast` with `args`, into `model/` of a new temporary
/// directory: the directory, the model's path and what the run printed.
fn quick_forecast(args: &[&str]) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model");
    let mut all = vec!["--quick", "--out", out.to_str().unwrap()];
    all.extend(args);
    let text = stdout(&run(env!("CARGO_BIN_EXE_forecast"), &all));
    (dir, out, text)
}

#[test]
fn forecast_quick_run_trains_saves_plots_and_forecasts_with_an_ensemble() {
    let (dir, out, text) = quick_forecast(&["--ensemble", "2"]);
    let forecast = env!("CARGO_BIN_EXE_forecast");
    assert!(text.contains("member 1 of 2 (seed 42)"), "{text}");
    assert!(text.contains("member 2 of 2 (seed 43)"), "{text}");
    assert!(text.contains("epoch   1: train loss"), "one line per epoch");
    assert!(
        text.contains("2284 weekly points (59 missing), period 52, window 104, horizon 52"),
        "{text}"
    );
    assert!(
        text.contains("test: 2001-01-06 to 2001-12-29 (52 observed points)"),
        "{text}"
    );
    let mae = number_after(&text, "test MAE: ");
    assert!(mae.is_finite() && mae >= 0.0, "{mae}");
    // The seasonal-naive baseline does not depend on the model: MAE worked out with
    // examples/scripts/forecast_baselines.py on the same split.
    let naive = number_after(&text, "seasonal naive ");
    assert!((naive - 1.4962).abs() < 1e-4, "{naive}");
    for file in [
        "setup.json",
        "test.json",
        "seed-42/model.bpk",
        "seed-42/config.json",
        "seed-43/model.bpk",
        "seed-43/config.json",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    assert!(is_png(&out.join("forecast.png")));
    let setup = read_json(&out.join("setup.json"));
    assert_eq!(setup["seeds"], serde_json::json!([42, 43]));

    // test.json: the ensemble's forecast is the members' mean, and its MAE the one printed.
    let test = read_json(&out.join("test.json"));
    let ensemble = numbers(&test["forecast"]);
    let members: Vec<Vec<f64>> = test["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|member| numbers(&member["forecast"]))
        .collect();
    assert_eq!(members.len(), 2);
    for (h, value) in ensemble.iter().enumerate() {
        let mean = (members[0][h] + members[1][h]) / 2.0;
        assert!(
            (value - mean).abs() < 1e-4,
            "point {h}: {value} against {mean}"
        );
    }
    let truth = numbers(&test["truth"]);
    let test_mae = truth
        .iter()
        .zip(&ensemble)
        .map(|(t, f)| (t - f).abs())
        .sum::<f64>()
        / truth.len() as f64;
    assert!((test_mae - mae).abs() < 1e-4, "{test_mae} against {mae}");

    // predict averages the members: each member alone, as a model directory of its own.
    let ensemble = forecast_prediction(&out);
    prints_into_a_closed_pipe_quietly(forecast, &["predict", "--model", out.to_str().unwrap()]);
    let alone: Vec<Vec<(String, f64)>> = [42, 43]
        .iter()
        .map(|seed| {
            let single = dir.path().join(format!("alone-{seed}"));
            let member = single.join(format!("seed-{seed}"));
            std::fs::create_dir_all(&member).unwrap();
            for file in ["model.bpk", "config.json"] {
                std::fs::copy(out.join(format!("seed-{seed}/{file}")), member.join(file)).unwrap();
            }
            let mut setup = setup.clone();
            setup["seeds"] = serde_json::json!([seed]);
            std::fs::write(single.join("setup.json"), setup.to_string()).unwrap();
            forecast_prediction(&single)
        })
        .collect();
    let mut largest_difference: f64 = 0.0;
    for (h, (date, value)) in ensemble.iter().enumerate() {
        let [(_, a), (_, b)] = [&alone[0][h], &alone[1][h]];
        assert_eq!(date, &alone[0][h].0);
        // Three values printed to 4 decimals.
        assert!(
            (value - (a + b) / 2.0).abs() <= 1.5e-4,
            "{date}: {value} against the mean of {a} and {b}"
        );
        largest_difference = largest_difference.max((a - b).abs());
    }
    assert!(
        largest_difference > 1e-2,
        "the members differ, so the mean is not either of them: {largest_difference}"
    );

    // A member missing, or no member listed: errors naming the directory, not panics.
    std::fs::remove_file(out.join("seed-43/model.bpk")).unwrap();
    let output = run(forecast, &["predict", "--model", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "an error, not a panic");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!("error: --model {}: ", out.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("expected the 2 ensemble members that"),
        "{stderr}"
    );
    assert!(
        stderr.contains("(seeds 42, 43), got none for seed 43"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&out.join("seed-43").join("model.bpk").display().to_string()),
        "{stderr}"
    );
    let mut no_seeds = setup.clone();
    no_seeds["seeds"] = serde_json::json!([]);
    std::fs::write(out.join("setup.json"), no_seeds.to_string()).unwrap();
    let output = run(forecast, &["predict", "--model", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "an error, not a panic");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("expected the seeds of at least one ensemble member, got none"),
        "{stderr}"
    );
    // Files edited or from another version: errors naming the file, not a division by zero
    // or a diverging filter.
    let alone = dir.path().join("alone-42");
    let fails_with = |setup: &serde_json::Value, expected: &str| {
        std::fs::write(alone.join("setup.json"), setup.to_string()).unwrap();
        let output = run(forecast, &["predict", "--model", alone.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(1), "an error, not a panic");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{stderr}");
    };
    let mut single = setup.clone();
    single["seeds"] = serde_json::json!([42]);
    let mut no_period = single.clone();
    no_period["period"] = serde_json::json!(0);
    fails_with(
        &no_period,
        "setup.json: expected a period and a horizon of at least 1 point, got period 0",
    );
    let mut diverging = single.clone();
    diverging["base"] = serde_json::json!({"holt-winters": {
        "alpha": 0.5, "beta": 0.1, "gamma": 0.1, "phi": 5.0
    }});
    fails_with(
        &diverging,
        "setup.json: expected a Holt-Winters phi in [0.6, 1], got 5",
    );
    let config_path = alone.join("seed-42/config.json");
    let mut config = read_json(&config_path);
    config["input"]["size"] = serde_json::json!(3);
    std::fs::write(&config_path, config.to_string()).unwrap();
    fails_with(
        &single,
        "seed-42/config.json: input: expected 2 features per point (a value and a missing \
         flag), got 3 features",
    );
}

#[test]
fn forecast_highway_is_saved_and_used_by_predict() {
    let (_dir, out, text) = quick_forecast(&["--ensemble", "1", "--highway"]);
    let forecast = env!("CARGO_BIN_EXE_forecast");
    assert!(number_after(&text, "test MAE: ").is_finite(), "{text}");
    let setup = read_json(&out.join("setup.json"));
    assert_eq!(setup["highway"], serde_json::json!(true));
    forecast_prediction(&out);
    // The saved member has the highway's weights: read as a model without one (a setup
    // written before the flag), it is an error naming them, not a forecast without them.
    let mut without = setup.clone();
    without.as_object_mut().unwrap().remove("highway");
    std::fs::write(out.join("setup.json"), without.to_string()).unwrap();
    let output = run(forecast, &["predict", "--model", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "an error, not a panic");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot load the model") && stderr.contains("highway.weight"),
        "{stderr}"
    );
}

#[test]
fn forecast_holt_winters_base_is_fitted_saved_and_used_by_predict() {
    let (dir, out, text) = quick_forecast(&["--ensemble", "1", "--base", "holt-winters"]);
    let base = number_after(&text, "Holt-Winters ");
    assert!(base.is_finite() && base > 0.0, "{text}");
    assert!(
        text.contains("base: Holt-Winters fitted on the training stretch, alpha "),
        "{text}"
    );
    let setup = read_json(&out.join("setup.json"));
    for parameter in ["alpha", "beta", "gamma", "phi"] {
        let value = setup["base"]["holt-winters"][parameter].as_f64();
        assert!(value.is_some_and(|v| (0.0..=1.0).contains(&v)), "{setup}");
    }
    // Forecasting the series without its test stretch repeats the run's test forecast: the
    // same base, with the fitted parameters that setup.json keeps.
    let co2 = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/timeseries/co2_weekly_mauna_loa.csv"
    ))
    .unwrap();
    let lines: Vec<&str> = co2.lines().collect();
    let cut = dir.path().join("before-test.csv");
    std::fs::write(&cut, lines[..lines.len() - 52].join("\n")).unwrap();
    let predicted = |model: &Path| -> Vec<f64> {
        let args = ["predict", "--model", model.to_str().unwrap(), "--data"];
        stdout(&run(
            env!("CARGO_BIN_EXE_forecast"),
            &[&args[..], &[cut.to_str().unwrap()]].concat(),
        ))
        .lines()
        .map(|line| line.split_once('\t').unwrap().1.parse().unwrap())
        .collect()
    };
    let test = numbers(&read_json(&out.join("test.json"))["forecast"]);
    let with_base = predicted(&out);
    assert_eq!(with_base.len(), test.len());
    for (h, (p, t)) in with_base.iter().zip(&test).enumerate() {
        assert!((p - t).abs() <= 1e-4, "point {h}: {p} against {t}");
    }
    // A setup without the base (written before the flag) means the seasonal-naive one.
    let mut without = setup.clone();
    without.as_object_mut().unwrap().remove("base");
    std::fs::write(out.join("setup.json"), without.to_string()).unwrap();
    let naive_based = predicted(&out);
    assert!(
        with_base
            .iter()
            .zip(&naive_based)
            .any(|(a, b)| (a - b).abs() > 1e-2),
        "{with_base:?} against {naive_based:?}"
    );
}

#[test]
fn forecast_bad_input_fails_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let forecast = env!("CARGO_BIN_EXE_forecast");
    let file = |name: &str, content: &str| -> String {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.to_str().unwrap().to_string()
    };
    // 20 days: a daily series needs a window of 14, a target, 7 validation and 7 test points.
    let daily: String = (1..=20)
        .map(|day| format!("2020-01-{day:02},{day}\n"))
        .collect();
    let cases = [
        (
            file("empty.csv", ""),
            "expected date,value rows, got none".to_string(),
        ),
        (
            file("text.csv", "date,value\n2020-01-01,1\n2020-02-01,one\n"),
            "text.csv:3 column 2 (value): expected a finite number".to_string(),
        ),
        (
            file("short.csv", &daily),
            "expected a series of at least 29 points".to_string(),
        ),
    ];
    for (data, expected) in cases {
        let output = run(
            forecast,
            &[
                "--quick",
                "--data",
                &data,
                "--out",
                dir.path().to_str().unwrap(),
            ],
        );
        assert_eq!(
            output.status.code(),
            Some(1),
            "{data}: an error, not a panic"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.starts_with(&format!("error: --data {data}")),
            "{stderr}"
        );
        assert!(stderr.contains(&expected), "{stderr}");
    }
    // Holt-Winters starts from the first period: with nothing observed there, it cannot be
    // fitted (the seasonal-naive base does not need it).
    let late_start: String = (0..40)
        .map(|i| {
            let date = if i < 31 {
                format!("2020-01-{:02}", i + 1)
            } else {
                format!("2020-02-{:02}", i - 30)
            };
            let value = if i < 7 {
                String::new()
            } else {
                format!("{}", (i % 7) as f64 + 0.1 * i as f64)
            };
            format!("{date},{value}\n")
        })
        .collect();
    let data = file("late-start.csv", &late_start);
    let out = dir.path().to_str().unwrap();
    let quick = ["--quick", "--data", &data, "--out", out];
    assert_eq!(run(forecast, &quick).status.code(), Some(0), "{late_start}");
    let output = run(
        forecast,
        &[&quick[..], &["--base", "holt-winters"]].concat(),
    );
    assert_eq!(output.status.code(), Some(1), "an error, not a panic");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: --data {data}: --base holt-winters on the 26 points before the validation \
             stretch: expected an observed value among the first 7 points (the first period, \
             which starts the smoothing), got none among 7"
        )),
        "{stderr}"
    );

    let output = run(forecast, &["predict", "--model", "/no/such/dir"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .starts_with("error: --model /no/such/dir: /no/such/dir/setup.json")
    );
}

/// Runs `program` with `args` (no backend: these fail while the command line is parsed), and
/// checks that it fails, before doing anything, with clap's message for `flag`'s `value`.
fn rejected_at_parse_time(program: &str, args: &[&str], flag: &str, value: &str, why: &str) {
    let output = Command::new(program).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{args:?}: clap's usage error\n{stderr}"
    );
    assert!(output.stdout.is_empty(), "{args:?}: nothing started");
    let expected = format!("error: invalid value '{value}' for '{flag}': {why}, got {value}");
    assert!(stderr.contains(&expected), "{args:?}: {stderr}");
}

#[test]
fn bad_flag_values_fail_while_parsing() {
    let translation = env!("CARGO_BIN_EXE_translation");
    let count = "expected an integer of at least 1";
    for args in [
        &["--quick", "--beam", "0"][..],
        &["train", "--quick", "--beam", "0"],
        &["evaluate", "--beam", "0"],
        &["translate", "--beam", "0", "Hallo"],
    ] {
        rejected_at_parse_time(translation, args, "--beam <BEAM>", "0", count);
    }
    for (flag, value, why) in [
        ("--epochs", "0", count),
        ("--patience", "0", count),
        ("--hidden", "0", count),
        (
            "--minutes",
            "inf",
            "expected a positive, finite number of minutes",
        ),
        (
            "--minutes",
            "0",
            "expected a positive, finite number of minutes",
        ),
        ("--label-smoothing", "1.5", "expected a value in [0, 1]"),
        ("--dropout", "1", "expected a value in [0, 1)"),
        ("--word-dropout", "NaN", "expected a value in [0, 1)"),
    ] {
        let placeholder = flag
            .trim_start_matches("--")
            .replace('-', "_")
            .to_uppercase();
        rejected_at_parse_time(
            translation,
            &["--quick", flag, value],
            &format!("{flag} <{placeholder}>"),
            value,
            why,
        );
    }
    let xlstm = env!("CARGO_BIN_EXE_xlstm_tasks");
    rejected_at_parse_time(
        xlstm,
        &["--quick", "--cells", "lstm,rnn"],
        "--cells <CELLS>",
        "rnn",
        "expected lstm, gru, elman, mingru, minlstm, slstm or mlstm",
    );
    for flag in ["--steps", "--hidden", "--layers", "--heads", "--pairs"] {
        let placeholder = flag.trim_start_matches("--").to_uppercase();
        rejected_at_parse_time(
            xlstm,
            &["--quick", flag, "0"],
            &format!("{flag} <{placeholder}>"),
            "0",
            count,
        );
    }
    let forecast = env!("CARGO_BIN_EXE_forecast");
    let members = "expected an integer from 1 to 1000 (members trained one after another)";
    for args in [
        &["--quick", "--ensemble", "0"][..],
        &["train", "--quick", "--ensemble", "0"],
    ] {
        rejected_at_parse_time(forecast, args, "--ensemble <ENSEMBLE>", "0", members);
    }
    for value in ["1001", "18446744073709551615"] {
        let args = ["--quick", "--ensemble", value];
        rejected_at_parse_time(forecast, &args, "--ensemble <ENSEMBLE>", value, members);
    }
    let sentiment = env!("CARGO_BIN_EXE_sentiment");
    for flag in ["--epochs", "--hidden"] {
        let placeholder = flag.trim_start_matches("--").to_uppercase();
        rejected_at_parse_time(
            sentiment,
            &["--quick", flag, "0"],
            &format!("{flag} <{placeholder}>"),
            "0",
            count,
        );
    }
}

#[test]
fn a_missing_heatmap_font_stops_translation_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let translation = env!("CARGO_BIN_EXE_translation");
    let font = dir.path().join("no-such-font.ttf");
    let maps = dir.path().join("maps");
    for args in [
        &["--quick", "--out", dir.path().to_str().unwrap()][..],
        &[
            "evaluate",
            "--quick",
            "--model",
            dir.path().to_str().unwrap(),
        ],
        &[
            "translate",
            "--model",
            dir.path().to_str().unwrap(),
            "--heatmaps",
            maps.to_str().unwrap(),
            "Hallo",
        ],
    ] {
        let output = Command::new(translation)
            .args(args)
            .args(["--backend", &backend()])
            .env("BURN_RNN_FONT", &font)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}");
        assert!(
            stderr.contains(&format!(
                "error: BURN_RNN_FONT: expected a TrueType font file for the heatmap labels, got \
                 {}, which is not a file",
                font.display()
            )),
            "{args:?}: {stderr}"
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(!stdout.contains("epoch"), "{args:?}: no training: {stdout}");
    }
    assert!(
        !dir.path().join("model.bpk").exists() && !maps.exists(),
        "nothing written"
    );
}

/// Every program runs on flex unless `--backend` says otherwise (its `--help` says so).
#[test]
fn programs_default_to_the_flex_backend() {
    let programs = [
        env!("CARGO_BIN_EXE_sentiment"),
        env!("CARGO_BIN_EXE_translation"),
        env!("CARGO_BIN_EXE_forecast"),
        env!("CARGO_BIN_EXE_charlm"),
        env!("CARGO_BIN_EXE_xlstm_tasks"),
    ];
    for program in programs {
        let output = Command::new(program).arg("--help").output().unwrap();
        let help = String::from_utf8_lossy(&output.stdout);
        let (_, flag) = help
            .split_once("--backend <BACKEND>")
            .unwrap_or_else(|| panic!("{program}: no --backend in\n{help}"));
        let flag = flag.split("\n      -").next().unwrap();
        assert!(flag.contains("[default: flex]"), "{program}: {flag}");
    }
    assert_eq!(Backend::default(), Backend::Flex);
}

/// The backend the tests run on, as the examples name it.
pub(crate) fn backend_of_tests() -> Backend {
    match backend().as_str() {
        "wgpu" => Backend::Wgpu,
        "flex" => Backend::Flex,
        _ => Backend::Ndarray,
    }
}

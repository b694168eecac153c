//! The character model against `examples/scripts/charlm_torch.py`: started from the weights
//! the script saved, our training repeats the script's losses update by update (fixtures
//! written by `examples/tests/fixtures/charlm_torch/generate.py`), and weights that do not fit
//! are errors naming the key.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn_rnn_examples::charlm::corpus::CharVocab;
use burn_rnn_examples::charlm::model::{CharLm, CharLmConfig};
use burn_rnn_examples::charlm::streams::Streams;
use burn_rnn_examples::charlm::{Tbptt, model_bits_per_char};
use burn_rnn_examples::cli::parse_cell;
use rnn_core::pytorch::StateDict;
use rnn_tasks::{CellKind, RecurrentConfig};
use serde::Deserialize;

use crate::programs::backend_of_tests;

/// What `generate.py` recorded of the script's run.
#[derive(Deserialize)]
struct Expected {
    cell: String,
    layers: usize,
    hidden: usize,
    embedding: usize,
    batch: usize,
    chunk: usize,
    learning_rate: f64,
    clip: f64,
    losses: Vec<f64>,
    valid_bits_per_char: f64,
}

fn fixture(cell: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/charlm_torch/{cell}"))
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

fn config(vocab_size: usize, cell: CellKind, expected: &Expected) -> CharLmConfig {
    CharLmConfig::new(
        vocab_size,
        expected.embedding,
        RecurrentConfig::new(expected.hidden)
            .with_cell(cell)
            .with_num_layers(expected.layers),
    )
}

#[test]
fn training_from_pytorchs_initial_weights_repeats_pytorchs_losses() {
    for cell in ["lstm", "gru"] {
        let dir = fixture(cell);
        let expected: Expected = serde_json::from_str(&read(&dir, "expected.json")).unwrap();
        assert_eq!(expected.cell, cell);
        let train = read(&dir, "train.txt");
        let vocab = CharVocab::build(&train);
        let saved: CharVocab = serde_json::from_str(&read(&dir, "vocab.json")).unwrap();
        assert_eq!(vocab, saved, "{cell}: the script's vocabulary is ours");
        let (train, valid) = (vocab.encode(&train), vocab.encode(&read(&dir, "valid.txt")));
        let streams = Streams::new(&train, expected.batch, expected.chunk).unwrap();
        assert!(
            streams.chunks() < expected.losses.len(),
            "the run crosses the end of a pass"
        );

        let device = backend_of_tests().device();
        let model = config(vocab.len(), parse_cell(cell).unwrap(), &expected)
            .try_init(&device.clone().autodiff())
            .unwrap()
            .load_pytorch(&dir.join("init.safetensors"))
            .unwrap();
        let mut tbptt = Tbptt::new(expected.learning_rate, expected.clip);
        let mut model = model;
        for (update, &torch) in expected.losses.iter().enumerate() {
            let loss;
            (model, loss) = tbptt.update(model, &streams);
            assert!(
                ((loss - torch) / torch).abs() < 1e-4,
                "{cell}, update {}: loss {loss}, PyTorch's {torch}",
                update + 1
            );
        }
        let bits = model_bits_per_char(
            &model.valid(),
            &valid,
            expected.batch,
            expected.chunk,
            &device,
        );
        // The script prints 4 decimals.
        assert!(
            (bits - expected.valid_bits_per_char).abs() < 6e-5,
            "{cell}: validation bits/char {bits}, PyTorch's {}",
            expected.valid_bits_per_char
        );
    }
}

/// A change to a state dict.
type Edit = Box<dyn FnOnce(&mut StateDict)>;

/// The LSTM fixture's weights with `edit` applied, written to a file in `dir`.
fn edited_weights(dir: &Path, edit: Edit) -> PathBuf {
    let mut dict = StateDict::read(fixture("lstm").join("init.safetensors")).unwrap();
    edit(&mut dict);
    let path = dir.join("edited.safetensors");
    dict.write_safetensors(&path).unwrap();
    path
}

#[test]
fn pytorch_weights_that_do_not_fit_are_errors_naming_the_key() {
    let lstm = fixture("lstm");
    let expected: Expected = serde_json::from_str(&read(&lstm, "expected.json")).unwrap();
    let vocab_size = CharVocab::build(&read(&lstm, "train.txt")).len();
    let device = backend_of_tests().device();
    let load = |cell: CellKind, path: &Path| {
        config(vocab_size, cell, &expected)
            .try_init(&device)
            .unwrap()
            .load_pytorch(path)
            .map(|_| ())
            .unwrap_err()
    };
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, Edit, &[&str]); 5] = [
        (
            "missing output bias",
            Box::new(|d| {
                d.tensors.remove("output.bias");
            }),
            &["output.bias", "no such key", &format!("[{vocab_size}]")],
        ),
        (
            "embedding of another vocabulary",
            Box::new(|d| {
                let e = d.tensors["embedding.weight"].clone();
                let shape = e.shape().to_vec();
                let values: Vec<f32> = e.iter::<f32>().skip(shape[1]).collect();
                d.tensors.insert(
                    "embedding.weight".into(),
                    burn::tensor::TensorData::new(values, [shape[0] - 1, shape[1]]),
                );
            }),
            &[
                "embedding.weight",
                &format!("expected shape [{vocab_size}, 6]"),
                &format!("got [{}, 6]", vocab_size - 1),
            ],
        ),
        (
            "a key the model does not have",
            Box::new(|d| {
                let bias = d.tensors["output.bias"].clone();
                d.tensors.insert("decoder.bias".into(), bias);
            }),
            &["decoder.bias", "expected no such key"],
        ),
        (
            "a recurrent weight missing",
            Box::new(|d| {
                d.tensors.remove("rnn.weight_hh_l1");
            }),
            &["rnn.weight_hh_l1"],
        ),
        (
            "a GRU's weights",
            Box::new(|d| {
                *d = StateDict::read(fixture("gru").join("init.safetensors")).unwrap();
            }),
            &["rnn.weight_ih_l0", "GRU weights?"],
        ),
    ];
    for (what, edit, parts) in cases {
        let path = edited_weights(dir.path(), edit);
        let error = load(CellKind::Lstm, &path);
        assert!(
            error.starts_with(&format!("--init-from {}: ", path.display())),
            "{what}: {error}"
        );
        for part in parts {
            assert!(
                error.contains(part),
                "{what}: {error:?} should say {part:?}"
            );
        }
    }
    let error = load(CellKind::MinGru, &lstm.join("init.safetensors"));
    assert!(
        error.contains("--cell") && error.contains("mingru"),
        "{error}"
    );
    let error = load(CellKind::Lstm, Path::new("/no/such/file.safetensors"));
    assert!(error.contains("/no/such/file.safetensors"), "{error}");
}

#[test]
fn a_loaded_model_holds_the_scripts_weights() {
    // The output layer is the one stored transposed: `[vocab, hidden]` in PyTorch.
    let lstm = fixture("lstm");
    let expected: Expected = serde_json::from_str(&read(&lstm, "expected.json")).unwrap();
    let vocab_size = CharVocab::build(&read(&lstm, "train.txt")).len();
    let path = lstm.join("init.safetensors");
    let model: CharLm = config(vocab_size, CellKind::Lstm, &expected)
        .try_init(&backend_of_tests().device())
        .unwrap()
        .load_pytorch(&path)
        .unwrap();
    let dict = StateDict::read(&path).unwrap();
    let values = |key: &str| dict.tensors[key].iter::<f32>().collect::<Vec<f32>>();
    let output = match &model.output {
        rnn_tasks::OutputLayer::Linear(layer) => layer,
        rnn_tasks::OutputLayer::Tied(_) => panic!("an untied output layer"),
    };
    let weight = output.weight.val();
    assert_eq!(weight.dims(), [expected.hidden, vocab_size]);
    let ours: Vec<f32> = weight.transpose().into_data().iter::<f32>().collect();
    assert_eq!(ours, values("output.weight"));
    let ours: Vec<f32> = model
        .embedding
        .weight
        .val()
        .into_data()
        .iter::<f32>()
        .collect();
    assert_eq!(ours, values("embedding.weight"));
}

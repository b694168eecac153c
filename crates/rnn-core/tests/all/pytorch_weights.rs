//! Loading and saving PyTorch weights: files written by `tests/fixtures/torch_weights.py`.

use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Tensor, TensorData};
use rnn_core::pytorch::StateDict;
use rnn_core::{Cell, ElmanCell, Gru, GruCell, Lstm, LstmCell, MergeMode, Rnn, RnnConfig};
use rstest::rstest;
use serde_json::Value;

use crate::backend::{autodiff_device, device};
use crate::util::{Builtin, assert_close, fixture, fixture_path};

fn path(name: &str) -> String {
    fixture_path(&format!("torch_weights/{name}"))
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn dims(v: &Value) -> [usize; 3] {
    let d: Vec<usize> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    [d[0], d[1], d[2]]
}

fn t3(values: &Value, shape: &Value) -> Tensor<3> {
    Tensor::from_data(TensorData::new(floats(values), dims(shape)), &device())
}

/// Runs `rnn` on the fixture's input and compares with what PyTorch computed.
fn assert_matches_torch<C: Builtin>(what: &str, rnn: &Rnn<C>, meta: &Value) {
    let out = rnn.forward(t3(&meta["input"], &meta["input_shape"]), None, None);
    assert_close(
        &format!("{what} output"),
        &out.output,
        &t3(&meta["output"], &meta["output_shape"]),
        1e-5,
    );
    assert_close(
        &format!("{what} h_n"),
        &out.state.hidden,
        &t3(&meta["h_n"], &meta["state_shape"]),
        1e-5,
    );
    if let Some(c) = &out.state.cell {
        // A projecting LSTM's `c_n` is wider than its `h_n`.
        let shape = meta.get("cell_state_shape").unwrap_or(&meta["state_shape"]);
        assert_close(&format!("{what} c_n"), c, &t3(&meta["c_n"], shape), 1e-5);
    }
}

fn config(meta: &Value) -> RnnConfig {
    RnnConfig::new(4, 3)
        .with_proj_size(
            meta.get("proj_size")
                .map_or(0, |p| p.as_u64().unwrap() as usize),
        )
        .with_num_layers(meta["num_layers"].as_u64().unwrap() as usize)
        .with_bidirectional(meta["bidirectional"].as_bool().unwrap())
        .with_bias(meta["bias"].as_bool().unwrap())
}

/// `.pt` files that PyTorch 1.13 wrote and reads back, but that burn-store 0.22.1's zip reader
/// rejects ("Invalid Central Directory header"): an upstream limitation. Pinned here so the
/// day it is fixed this test fails and the list goes.
const UNREADABLE_BY_BURN_STORE: &[&str] = &["rnn_tanh_l1_bi_nobias.pt", "rnn_tanh_l2_bi_nobias.pt"];

fn load_and_compare<C: Builtin>(name: &str, format: &str, meta: &Value) {
    let file = format!("{name}.{format}");
    if UNREADABLE_BY_BURN_STORE.contains(&file.as_str()) {
        let err = StateDict::read(path(&file)).expect_err("burn-store cannot read this file yet");
        assert!(
            err.to_string().contains("Invalid Central Directory header"),
            "{err}"
        );
        return;
    }
    let dict = StateDict::read(path(&file)).expect("readable file");
    let rnn: Rnn<C> = config(meta).init(&device());
    let rnn = rnn
        .load_state_dict(&dict, "", true)
        .expect("loads strictly");
    assert_matches_torch(&format!("{name}.{format}"), &rnn, meta);

    // Saved back, the file holds exactly PyTorch's tensors under PyTorch's names.
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join(format!("{name}.safetensors"));
    rnn.state_dict("")
        .unwrap()
        .write_safetensors(&saved)
        .unwrap();
    let back = StateDict::read_safetensors(&saved).unwrap();
    let keys = |d: &StateDict| d.tensors.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&back), keys(&dict), "{name}: same keys");
    for (key, data) in &dict.tensors {
        assert_eq!(
            &back.tensors[key], data,
            "{name}: {key} round-trips bit for bit"
        );
    }
}

#[rstest]
fn loads_pytorch_weights(
    #[values("rnn_tanh", "lstm", "gru")] cell: &str,
    #[values(1, 2)] layers: usize,
    #[values("uni", "bi")] direction: &str,
    #[values("bias", "nobias")] bias: &str,
    #[values("safetensors", "pt")] format: &str,
) {
    let name = format!("{cell}_l{layers}_{direction}_{bias}");
    let meta = fixture(&format!("torch_weights/{name}.json"));
    match cell {
        "rnn_tanh" => load_and_compare::<ElmanCell>(&name, format, &meta),
        "lstm" => load_and_compare::<LstmCell>(&name, format, &meta),
        "gru" => load_and_compare::<GruCell>(&name, format, &meta),
        _ => unreachable!(),
    }
}

/// An LSTM with `proj_size` 2 (keys `weight_hr_l*`): loads, computes what PyTorch computes,
/// and saves back the same tensors.
#[rstest]
fn loads_a_projecting_lstm(#[values("safetensors", "pt")] format: &str) {
    let name = "lstm_proj_l2_bi_bias";
    load_and_compare::<LstmCell>(
        name,
        format,
        &fixture(&format!("torch_weights/{name}.json")),
    );
}

#[rstest]
fn loads_a_layer_inside_a_larger_model(
    #[values("safetensors", "pt")] format: &str,
    #[values("encoder.rnn", "encoder.rnn.")] prefix: &str,
) {
    let dict = StateDict::read(path(&format!("prefixed.{format}"))).unwrap();
    assert!(
        dict.tensors.contains_key("embedding.weight"),
        "other weights are in the file"
    );
    let lstm: Lstm = RnnConfig::new(4, 3)
        .with_num_layers(2)
        .with_bidirectional(true)
        .init(&device());
    let lstm = lstm
        .load_state_dict(&dict, prefix, true)
        .expect("keys outside the prefix are ignored");
    assert_matches_torch("prefixed", &lstm, &fixture("torch_weights/prefixed.json"));
    assert!(
        lstm.state_dict(prefix)
            .unwrap()
            .tensors
            .keys()
            .all(|k| k.starts_with("encoder.rnn.weight") || k.starts_with("encoder.rnn.bias"))
    );
}

fn lstm(layers: usize, hidden: usize) -> Lstm {
    RnnConfig::new(4, hidden)
        .with_num_layers(layers)
        .init(&device())
}

fn load_error<C: Builtin>(rnn: Rnn<C>, file: &str, strict: bool) -> String {
    let dict = StateDict::read(path(file)).unwrap();
    rnn.load_state_dict(&dict, "", strict)
        .unwrap_err()
        .to_string()
}

#[test]
fn missing_key() {
    assert_eq!(
        load_error(lstm(2, 3), "lstm_l1_uni_bias.safetensors", false),
        "weight_ih_l1: expected a tensor of shape [12, 3] (LSTM), got no such key in the state dict"
    );
}

#[test]
fn unexpected_key_only_in_strict_mode() {
    assert_eq!(
        load_error(lstm(1, 3), "lstm_l2_uni_bias.safetensors", true),
        "bias_hh_l1: expected no such key under prefix \"\" (strict loading) (the network has \
         fewer layers: num_layers?), got a tensor of shape [12]"
    );
    // The first layers of a deeper network load without `strict`.
    let dict = StateDict::read(path("lstm_l2_uni_bias.safetensors")).unwrap();
    assert!(lstm(1, 3).load_state_dict(&dict, "", false).is_ok());
}

/// Keys that say the file's layers compute something else than this network's (biases, a
/// reverse direction) are errors with or without `strict`: ignoring them would give other
/// outputs than PyTorch's, silently.
#[rstest]
fn keys_of_another_computation_are_errors_in_both_modes(#[values(true, false)] strict: bool) {
    let no_bias: Lstm = RnnConfig::new(4, 3).with_bias(false).init(&device());
    assert_eq!(
        load_error(no_bias, "lstm_l1_uni_bias.pt", strict),
        "bias_ih_l0: expected no such key: the network was built with bias = false (the file's \
         layers have biases: build it with bias = true), got a tensor of shape [12]"
    );
    assert_eq!(
        load_error(lstm(1, 3), "lstm_l1_bi_bias.safetensors", strict),
        "weight_ih_l0_reverse: expected no such key: this network is unidirectional (the file's \
         layers are bidirectional: build it with bidirectional = true), got a tensor of shape \
         [12, 4]"
    );
}

/// PyTorch concatenates a bidirectional layer's directions: a network merging them otherwise
/// has no PyTorch counterpart to load from or save to.
#[test]
fn a_merge_other_than_concatenation_is_an_error() {
    let sum: Lstm = RnnConfig::new(4, 3)
        .with_bidirectional(true)
        .with_merge(MergeMode::Sum)
        .init(&device());
    let expected = "merge: expected MergeMode::Concat (PyTorch concatenates the two directions' outputs), \
         got MergeMode::Sum";
    assert_eq!(sum.state_dict("").unwrap_err().to_string(), expected);
    assert_eq!(
        load_error(sum, "lstm_l1_bi_bias.safetensors", true),
        expected
    );
}

/// A network whose layers differ in direction (assembled by hand) is an error, not keys
/// matched to the wrong cells.
#[test]
fn layers_of_different_directions_are_an_error() {
    let mut mixed: Lstm = RnnConfig::new(4, 3).with_num_layers(2).init(&device());
    let bi: Lstm = RnnConfig::new(3, 3)
        .with_bidirectional(true)
        .init(&device());
    mixed.layers[1] = bi.layers.into_iter().next().unwrap();
    let expected = "layers[1]: expected a layer like layers[0] (unidirectional), got \
                    bidirectional, merged by Concat";
    assert_eq!(mixed.state_dict("").unwrap_err().to_string(), expected);
    assert_eq!(
        load_error(mixed, "lstm_l2_uni_bias.safetensors", true),
        expected
    );
}

#[test]
fn wrong_shape() {
    assert_eq!(
        load_error(lstm(1, 5), "lstm_l1_uni_bias.safetensors", true),
        "weight_ih_l0: expected shape [20, 4] (LSTM, 4 gates: LSTM), got [12, 4]"
    );
}

#[test]
fn cell_type_mismatch() {
    assert_eq!(
        load_error(lstm(1, 3), "gru_l1_uni_bias.safetensors", true),
        "weight_ih_l0: expected shape [12, 4] (LSTM, 4 gates: LSTM), got [9, 4] (9 rows = 3 gates: GRU weights?)"
    );
    let gru: Gru = RnnConfig::new(4, 3).init(&device());
    assert_eq!(
        load_error(gru, "lstm_l1_uni_bias.pt", true),
        "weight_ih_l0: expected shape [9, 4] (GRU, 3 gates: GRU), got [12, 4] (12 rows = 4 gates: LSTM weights?)"
    );
}

#[test]
fn projection_mismatch() {
    let no_projection: Lstm = RnnConfig::new(4, 3)
        .with_num_layers(2)
        .with_bidirectional(true)
        .init(&device());
    assert_eq!(
        load_error(no_projection, "lstm_proj_l2_bi_bias.safetensors", false),
        "weight_hr_l0: expected no such key: this LSTM does not project its state (a projecting LSTM's weights: build it with proj_size 2), got a tensor of shape [2, 3]"
    );
    let projecting: Lstm = RnnConfig::new(4, 3).with_proj_size(2).init(&device());
    assert_eq!(
        load_error(projecting, "lstm_l1_uni_bias.safetensors", true),
        "weight_hr_l0: expected a tensor of shape [2, 3] (LSTM), got no such key in the state dict"
    );
}

#[test]
fn wrong_dtype() {
    assert_eq!(
        load_error(lstm(1, 3), "int_dtype.safetensors", true),
        "weight_hh_l0: expected a floating-point tensor (f32, f64, f16 or bf16), got I64"
    );
}

#[rstest]
#[case("truncated.safetensors")]
#[case("corrupt.safetensors")]
#[case("truncated.pt")]
#[case("does_not_exist.safetensors")]
#[case("does_not_exist.pt")]
fn bad_files_give_errors(#[case] file: &str) {
    let err = StateDict::read(path(file)).expect_err("a bad file is an error, not a panic");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("file {}: expected a readable", path(file))),
        "{message}"
    );
    assert!(message.contains("got error: "), "{message}");
}

/// Loading keeps every parameter's gradient requirement: one optimiser step on a loaded
/// network moves every parameter (fine-tuning a ported model trains all of it). On wgpu this
/// also checks that a state dict keeps the values it was taken with, whatever happens to the
/// parameters after it.
#[rstest]
#[case::lstm_projected("lstm_proj_l2_bi_bias.safetensors")]
#[case::gru("gru_l2_bi_bias.pt")]
#[case::elman("rnn_tanh_l2_uni_bias.safetensors")]
fn loaded_weights_train(#[case] file: &str) {
    let meta = fixture(&format!(
        "torch_weights/{}.json",
        file.rsplit_once('.').unwrap().0
    ));
    let device = autodiff_device();
    let dict = StateDict::read(path(file)).unwrap();
    match meta["cell"].as_str().unwrap() {
        "lstm" => one_step::<LstmCell>(config(&meta), &dict, &device),
        "gru" => one_step::<GruCell>(config(&meta), &dict, &device),
        _ => one_step::<ElmanCell>(config(&meta), &dict, &device),
    }
}

fn one_step<C: Builtin>(config: RnnConfig, dict: &StateDict, device: &burn::tensor::Device) {
    let rnn: Rnn<C> = config
        .init::<C>(device)
        .load_state_dict(dict, "", true)
        .unwrap();
    let x = crate::util::Rng::new(3).tensor([2, 5, rnn.input_size()], device);
    let loss = rnn.forward(x, None, None).output.powi_scalar(2).sum();
    let grads = GradientsParams::from_grads(loss.backward(), &rnn);
    let before = rnn.state_dict("").unwrap();
    let rnn = SgdConfig::new().init().step(0.1, rnn, grads);
    let after = rnn.state_dict("").unwrap();
    assert_eq!(before.tensors.len(), after.tensors.len());
    for (key, value) in &before.tensors {
        assert_ne!(&after.tensors[key], value, "{key} did not move");
    }
}

/// `read_under` keeps only the tensors under the prefix (the others are never read), and the
/// layer loads from them as from the whole file.
#[rstest]
fn reads_only_the_tensors_under_a_prefix(#[values("safetensors", "pt")] format: &str) {
    let file = path(&format!("prefixed.{format}"));
    let dict = StateDict::read_under(&file, "encoder.rnn.").unwrap();
    let whole = StateDict::read(&file).unwrap();
    assert!(whole.tensors.contains_key("embedding.weight"));
    assert!(!dict.tensors.is_empty());
    assert!(dict.tensors.keys().all(|k| k.starts_with("encoder.rnn.")));
    let under: Vec<_> = whole
        .tensors
        .keys()
        .filter(|k| k.starts_with("encoder.rnn."))
        .collect();
    assert_eq!(dict.tensors.keys().collect::<Vec<_>>(), under);
    let lstm: Lstm = RnnConfig::new(4, 3)
        .with_num_layers(2)
        .with_bidirectional(true)
        .init(&device());
    let lstm = lstm.load_state_dict(&dict, "encoder.rnn.", true).unwrap();
    assert_matches_torch("prefixed", &lstm, &fixture("torch_weights/prefixed.json"));
}

/// The extension is read in any letter case: `.SafeTensors` is not a `.pt` file.
#[test]
fn the_safetensors_extension_in_any_case() {
    let dir = tempfile::tempdir().unwrap();
    let upper = dir.path().join("lstm.SafeTensors");
    std::fs::copy(path("lstm_l1_uni_bias.safetensors"), &upper).unwrap();
    let dict = StateDict::read(&upper).expect("read as safetensors");
    let lower = StateDict::read(path("lstm_l1_uni_bias.safetensors")).unwrap();
    assert_eq!(dict.tensors, lower.tensors);
}

/// A scalar (0-d) `weight_hr_l0` is an error naming it, not a panic.
#[test]
fn a_scalar_projection_is_an_error() {
    let mut dict = StateDict::read(path("lstm_l1_uni_bias.safetensors")).unwrap();
    let scalar = TensorData::new(vec![1.0f32], Vec::<usize>::new());
    dict.tensors.insert("weight_hr_l0".into(), scalar);
    let plain = lstm(1, 3).load_state_dict(&dict, "", true).unwrap_err();
    assert_eq!(
        plain.to_string(),
        "weight_hr_l0: expected no such key: this LSTM does not project its state, got a tensor \
         of shape []"
    );
    let projecting: Lstm = RnnConfig::new(4, 3).with_proj_size(2).init(&device());
    let error = projecting.load_state_dict(&dict, "", true).unwrap_err();
    assert_eq!(
        error.to_string(),
        "weight_hr_l0: expected shape [2, 3] (LSTM, 4 gates: LSTM), got []"
    );
}

/// A network whose weights were replaced by hand with too few rows for one hidden unit gets a
/// shape error, not a division by zero in the error's hint.
#[test]
fn a_broken_network_gets_an_error() {
    let mut broken = lstm(1, 3);
    broken.cells_mut()[0].weights_mut().weight_ih =
        burn::module::Param::from_tensor(Tensor::zeros([3, 4], &device()));
    let error = load_error(broken, "lstm_l1_uni_bias.safetensors", true);
    assert!(
        error.starts_with("weight_ih_l0: expected shape [0, 4]"),
        "{error}"
    );
}

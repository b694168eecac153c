//! PyTorch parity: outputs, final states and gradients against fixtures written by
//! `tests/fixtures/generate.py` (torch.nn.RNN/LSTM/GRU, float64, same weights and inputs).

use burn::module::Param;
use burn::tensor::{Device, Tensor};
use rnn_core::{ElmanCell, GruCell, LstmCell, Nonlinearity, Rnn, RnnConfig, RnnState};
use rstest::rstest;
use serde_json::Value;

use crate::backend::autodiff_device;
use crate::util::{Builtin, assert_close, fixture, has_cell_state, tensor};

const OUTPUT_TOL: f32 = 1e-5;
const GRAD_TOL: f32 = 1e-4;

/// The PyTorch name suffix of cell `k` in [`Rnn::cells`] order.
fn suffix(k: usize, directions: usize) -> String {
    let reverse = if k % directions == 1 { "_reverse" } else { "" };
    format!("_l{}{reverse}", k / directions)
}

/// Copies PyTorch's `state_dict` into `rnn`.
pub fn load_torch_params<C: Builtin>(rnn: &mut Rnn<C>, params: &Value, device: &Device) {
    let directions = rnn.num_directions();
    for (k, cell) in rnn.cells_mut().into_iter().enumerate() {
        let s = suffix(k, directions);
        if let Some(w_hr) = cell.projection_mut() {
            *w_hr = Param::from_tensor(tensor(&params[format!("weight_hr{s}")], device));
        }
        let w = cell.weights_mut();
        w.weight_ih = Param::from_tensor(tensor(&params[format!("weight_ih{s}")], device));
        w.weight_hh = Param::from_tensor(tensor(&params[format!("weight_hh{s}")], device));
        w.bias_ih = params
            .get(format!("bias_ih{s}"))
            .map(|v| Param::from_tensor(tensor(v, device)));
        w.bias_hh = params
            .get(format!("bias_hh{s}"))
            .map(|v| Param::from_tensor(tensor(v, device)));
    }
}

fn check_fixture<C: Builtin>(name: &str, fx: &Value, nonlinearity: Nonlinearity) {
    let device = autodiff_device();
    let size = |key: &str| fx[key].as_u64().unwrap() as usize;
    let mut rnn: Rnn<C> = RnnConfig::new(size("input_size"), size("hidden_size"))
        .with_proj_size(fx.get("proj_size").map_or(0, |_| size("proj_size")))
        .with_num_layers(size("num_layers"))
        .with_bidirectional(fx["bidirectional"].as_bool().unwrap())
        .with_bias(fx["bias"].as_bool().unwrap())
        .with_nonlinearity(nonlinearity)
        .init(&device);
    load_torch_params(&mut rnn, &fx["params"], &device);

    let x = tensor::<3>(&fx["input"], &device).require_grad();
    let h0 = fx.get("h0").map(|v| tensor::<3>(v, &device).require_grad());
    let c0 = fx.get("c0").map(|v| tensor::<3>(v, &device).require_grad());
    let state = h0
        .clone()
        .map(|hidden| RnnState::with_cell(hidden, c0.clone()));
    let lengths: Option<Vec<usize>> = fx["lengths"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_u64().unwrap() as usize).collect());

    let out = rnn.forward(x.clone(), state, lengths.as_deref());
    let expected = &fx["expected"];
    assert_close(
        &format!("{name} output"),
        &out.output,
        &tensor(&expected["output"], &device),
        OUTPUT_TOL,
    );
    assert_close(
        &format!("{name} h_n"),
        &out.state.hidden,
        &tensor(&expected["h_n"], &device),
        OUTPUT_TOL,
    );
    assert_eq!(
        out.state.cell.is_some(),
        has_cell_state::<C>(),
        "{name}: c_n present iff LSTM"
    );
    if let Some(c_n) = &out.state.cell {
        assert_close(
            &format!("{name} c_n"),
            c_n,
            &tensor(&expected["c_n"], &device),
            OUTPUT_TOL,
        );
    }

    let w = &fx["loss_weights"];
    let mut loss = (out.output * tensor::<3>(&w["output"], &device)).sum()
        + (out.state.hidden * tensor::<3>(&w["h_n"], &device)).sum();
    if let Some(c_n) = out.state.cell {
        loss = loss + (c_n * tensor::<3>(&w["c_n"], &device)).sum();
    }
    let loss_value: f32 = loss.clone().into_scalar();
    let expected_loss = expected["loss"].as_f64().unwrap() as f32;
    assert!(
        (loss_value - expected_loss).abs() <= 1e-4 * expected_loss.abs().max(1.0),
        "{name} loss {loss_value} vs {expected_loss}"
    );

    let grads = loss.backward();
    let g = &fx["grads"];
    let grad_of = |what: &str, t: &Tensor<3>| {
        t.grad(&grads)
            .unwrap_or_else(|| panic!("{name}: no gradient for {what}"))
    };
    assert_close(
        &format!("{name} d input"),
        &grad_of("input", &x),
        &tensor(&g["input"], &device),
        GRAD_TOL,
    );
    if let Some(h0) = &h0 {
        assert_close(
            &format!("{name} d h0"),
            &grad_of("h0", h0),
            &tensor(&g["h0"], &device),
            GRAD_TOL,
        );
    }
    if let Some(c0) = &c0 {
        assert_close(
            &format!("{name} d c0"),
            &grad_of("c0", c0),
            &tensor(&g["c0"], &device),
            GRAD_TOL,
        );
    }
    let directions = rnn.num_directions();
    let mut checked = 0;
    for (k, cell) in rnn.cells().into_iter().enumerate() {
        let s = suffix(k, directions);
        let w = cell.weights();
        // Our weights have PyTorch's layout, so gradients compare as they are.
        let weights = [("weight_ih", &w.weight_ih), ("weight_hh", &w.weight_hh)];
        let projection = cell.projection().map(|w_hr| ("weight_hr", w_hr));
        for (key, param) in weights.into_iter().chain(projection) {
            let grad = param
                .grad(&grads)
                .unwrap_or_else(|| panic!("{name}: no gradient for {key}{s}"));
            let expected = tensor::<2>(&g["params"][format!("{key}{s}")], &device);
            assert_close(&format!("{name} d {key}{s}"), &grad, &expected, GRAD_TOL);
            checked += 1;
        }
        for (key, bias) in [("bias_ih", &w.bias_ih), ("bias_hh", &w.bias_hh)] {
            if let Some(bias) = bias {
                let grad = bias
                    .grad(&grads)
                    .unwrap_or_else(|| panic!("{name}: no gradient for {key}{s}"));
                let expected = tensor::<1>(&g["params"][format!("{key}{s}")], &device);
                assert_close(&format!("{name} d {key}{s}"), &grad, &expected, GRAD_TOL);
                checked += 1;
            }
        }
    }
    assert_eq!(
        checked,
        g["params"].as_object().unwrap().len(),
        "{name}: every PyTorch parameter checked"
    );
}

fn check(name: &str) {
    let fx = fixture(&format!("parity/{name}.json"));
    match fx["cell"].as_str().unwrap() {
        "lstm" => check_fixture::<LstmCell>(name, &fx, Nonlinearity::Tanh),
        "gru" => check_fixture::<GruCell>(name, &fx, Nonlinearity::Tanh),
        "rnn_tanh" => check_fixture::<ElmanCell>(name, &fx, Nonlinearity::Tanh),
        "rnn_relu" => check_fixture::<ElmanCell>(name, &fx, Nonlinearity::Relu),
        other => panic!("unknown cell {other}"),
    }
}

#[rstest]
fn matches_pytorch(
    #[values("rnn_tanh", "lstm", "gru")] cell: &str,
    #[values(1, 2)] layers: usize,
    #[values("uni", "bi")] direction: &str,
    #[values("nostate", "state")] state: &str,
    #[values("full", "varlen")] lengths: &str,
) {
    check(&format!("{cell}_l{layers}_{direction}_{state}_{lengths}"));
}

#[rstest]
#[case("rnn_relu_l2_bi_state_varlen")]
#[case("lstm_l2_bi_state_varlen_nobias")]
#[case("gru_l2_bi_state_varlen_nobias")]
#[case("rnn_tanh_l2_bi_state_varlen_nobias")]
fn matches_pytorch_extra(#[case] name: &str) {
    check(name);
}

/// LSTMs with a projection of the hidden state (`proj_size` 2 of 3 hidden units).
#[rstest]
#[case("lstm_proj_l1_uni_nostate_full")]
#[case("lstm_proj_l2_uni_state_varlen")]
#[case("lstm_proj_l2_bi_state_varlen")]
#[case("lstm_proj_l2_bi_nostate_full_nobias")]
fn matches_pytorch_projected(#[case] name: &str) {
    check(name);
}

/// One layer over 128 steps from a given state, one example cut at step 77: the rounding of
/// `f32` accumulated over many steps, forward and backward, within the same tolerances as
/// the short cases (a small per-step bias would add up here).
#[rstest]
fn matches_pytorch_over_long_sequences(#[values("rnn_tanh", "lstm", "gru")] cell: &str) {
    check(&format!("long_{cell}"));
}

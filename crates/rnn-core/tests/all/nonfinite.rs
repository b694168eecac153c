//! NaN and infinities propagate as in PyTorch: fixtures written by
//! `tests/fixtures/nonfinite.py` (an input holding NaN, +inf and -inf; with lengths, one of them
//! in the padding), on the fused kernels and on the step-by-step driver.

use burn::tensor::{Device, Tensor};
use rnn_core::{ElmanCell, GruCell, LstmCell, Nonlinearity, Rnn, RnnConfig};
use rstest::rstest;
use serde_json::Value;

use crate::backend::{autodiff_device, device};
use crate::parity::load_torch_params;
use crate::util::{Builtin, fixture, tensor, values};
use rnn_core::cell::Stepwise;

const TOL: f32 = 1e-5;

/// Asserts `actual` is NaN exactly where `expected` is, infinite with the same sign where it
/// is, and within [`TOL`] elsewhere.
fn assert_matches<const D: usize>(what: &str, actual: &Tensor<D>, expected: &Tensor<D>) {
    assert_eq!(actual.dims(), expected.dims(), "{what}: shapes differ");
    for (i, (a, e)) in values(actual).into_iter().zip(values(expected)).enumerate() {
        let same = if e.is_nan() {
            a.is_nan()
        } else if e.is_infinite() {
            a == e
        } else {
            (a - e).abs() <= TOL
        };
        assert!(same, "{what}[{i}]: {a} where PyTorch has {e}");
    }
}

fn check_fixture<C: Builtin>(name: &str, fx: &Value, nonlinearity: Nonlinearity, device: &Device) {
    let size = |key: &str| fx[key].as_u64().unwrap() as usize;
    let mut rnn: Rnn<C> = RnnConfig::new(size("input_size"), size("hidden_size"))
        .with_num_layers(size("num_layers"))
        .with_bidirectional(fx["bidirectional"].as_bool().unwrap())
        .with_nonlinearity(nonlinearity)
        .init(device);
    load_torch_params(&mut rnn, &fx["params"], device);
    let lengths: Option<Vec<usize>> = fx["lengths"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_u64().unwrap() as usize).collect());
    let out = rnn.forward(tensor(&fx["input"], device), None, lengths.as_deref());
    let expected = &fx["expected"];
    assert_matches(
        &format!("{name} output"),
        &out.output,
        &tensor(&expected["output"], device),
    );
    assert_matches(
        &format!("{name} h_n"),
        &out.state.hidden,
        &tensor(&expected["h_n"], device),
    );
    if let Some(c_n) = &out.state.cell {
        assert_matches(
            &format!("{name} c_n"),
            c_n,
            &tensor(&expected["c_n"], device),
        );
    }
}

/// Checks fixture `name` with cell `C`, or its [`Stepwise`] twin when `stepwise`.
fn check_with<C: Builtin>(name: &str, fx: &Value, nonlinearity: Nonlinearity, stepwise: bool) {
    // Without autodiff and with it (a fused run that saves what its backward pass needs).
    for device in [device(), autodiff_device()] {
        if stepwise {
            check_fixture::<Stepwise<C>>(name, fx, nonlinearity, &device);
        } else {
            check_fixture::<C>(name, fx, nonlinearity, &device);
        }
    }
}

#[rstest]
fn nan_and_infinities_propagate_as_in_pytorch(
    #[values("rnn_tanh", "rnn_relu", "lstm", "gru")] cell: &str,
    #[values("l1_uni_full", "l2_bi_varlen")] case: &str,
    #[values(false, true)] stepwise: bool,
) {
    let name = format!("{cell}_{case}");
    let fx = fixture(&format!("nonfinite/{name}.json"));
    match cell {
        "lstm" => check_with::<LstmCell>(&name, &fx, Nonlinearity::Tanh, stepwise),
        "gru" => check_with::<GruCell>(&name, &fx, Nonlinearity::Tanh, stepwise),
        "rnn_tanh" => check_with::<ElmanCell>(&name, &fx, Nonlinearity::Tanh, stepwise),
        "rnn_relu" => check_with::<ElmanCell>(&name, &fx, Nonlinearity::Relu, stepwise),
        other => panic!("unknown cell {other}"),
    }
}

/// The gradients (input and every parameter) and outputs of a training step of `rnn` over `x`
/// with `lengths`.
fn training_step<C: Builtin>(rnn: &Rnn<C>, x: Tensor<3>, lengths: &[usize]) -> Vec<Vec<f32>> {
    let x = x.require_grad();
    let out = rnn.forward(x.clone(), None, Some(lengths));
    let mut results = vec![values(&out.output), values(&out.state.hidden)];
    let grads = (out.output.sum() + out.state.hidden.sum()).backward();
    results.push(values(&x.grad(&grads).unwrap()));
    for cell in rnn.cells() {
        let w = cell.weights();
        for param in [&w.weight_ih, &w.weight_hh] {
            results.push(values(&param.grad(&grads).unwrap()));
        }
        for bias in [&w.bias_ih, &w.bias_hh].into_iter().flatten() {
            results.push(values(&bias.grad(&grads).unwrap()));
        }
    }
    results
}

fn padding_is_ignored<C: Builtin>(nonlinearity: Nonlinearity) {
    let device = autodiff_device();
    let rnn: Rnn<C> = RnnConfig::new(4, 5)
        .with_num_layers(2)
        .with_bidirectional(true)
        .with_nonlinearity(nonlinearity)
        .init(&device);
    let lengths = [6, 2, 4];
    let x = crate::util::Rng::new(7).tensor([3, 6, 4], &device);
    // NaN, +inf and -inf in every padded step.
    let mut poisoned = values(&x);
    for (b, &len) in lengths.iter().enumerate() {
        for t in len..6 {
            for k in 0..4 {
                poisoned[(b * 6 + t) * 4 + k] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][k % 3];
            }
        }
    }
    let poisoned = Tensor::from_data(burn::tensor::TensorData::new(poisoned, [3, 6, 4]), &device);
    let clean = training_step(&rnn, x, &lengths);
    let dirty = training_step(&rnn, poisoned, &lengths);
    for (i, (a, b)) in clean.iter().zip(&dirty).enumerate() {
        assert!(
            a.iter().all(|v| v.is_finite()),
            "result {i} of the clean input"
        );
        // The padded positions of the input gradient are 0 either way.
        assert_eq!(a, b, "result {i}: non-finite padding changed it");
    }
}

/// NaN and infinities in the padding change neither the outputs nor any gradient (PyTorch
/// never reads a packed sequence's padding).
#[rstest]
fn non_finite_padding_changes_nothing(
    #[values("rnn_relu", "lstm", "gru")] cell: &str,
    #[values(false, true)] stepwise: bool,
) {
    match (cell, stepwise) {
        ("lstm", false) => padding_is_ignored::<LstmCell>(Nonlinearity::Tanh),
        ("lstm", true) => padding_is_ignored::<Stepwise<LstmCell>>(Nonlinearity::Tanh),
        ("gru", false) => padding_is_ignored::<GruCell>(Nonlinearity::Tanh),
        ("gru", true) => padding_is_ignored::<Stepwise<GruCell>>(Nonlinearity::Tanh),
        (_, false) => padding_is_ignored::<ElmanCell>(Nonlinearity::Relu),
        (_, true) => padding_is_ignored::<Stepwise<ElmanCell>>(Nonlinearity::Relu),
    }
}

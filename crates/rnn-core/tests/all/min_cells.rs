//! The minimal RNNs (minGRU, minLSTM): the parallel scan a layer runs equals stepping the cell
//! (outputs, final states and every gradient), its gradients match finite differences, and
//! bad arguments are errors naming them. (Parity with `mingru-pytorch`: `modern_parity.rs`.)

use burn::module::Param;
use burn::tensor::Tensor;
use rnn_core::cell::InputWeights;
use rnn_core::{
    Cell, CellConfig, MinGruCell, MinLstmCell, Recurrent, RnnConfig, RnnError, RnnState,
};
use rstest::rstest;

use crate::backend::{autodiff_device, device};
use crate::util::{Rng, RnnStateCell, assert_close, assert_network_gradients, weigh};

/// A minimal RNN cell (its parameters are [`InputWeights`]).
trait MinRnnCell: RnnStateCell + Cell<Weights = InputWeights> {}

impl<C: RnnStateCell + Cell<Weights = InputWeights>> MinRnnCell for C {}

/// `cell` over `x: [batch, seq, input]` from `h0`, one `Cell::step` at a time: outputs
/// `[batch, seq, hidden]` and the final `h`.
fn stepped<C: RnnStateCell>(cell: &C, x: Tensor<3>, h0: Tensor<2>) -> (Tensor<3>, Tensor<2>) {
    let [batch, seq, input] = x.dims();
    let mut state = RnnState::new(h0);
    let mut outputs = Vec::new();
    for t in 0..seq {
        let x_t = x.clone().narrow(1, t, 1).reshape([batch, input]);
        state = cell.step(x_t, state);
        outputs.push(state.hidden.clone());
    }
    (Tensor::stack(outputs, 1), state.hidden)
}

fn scan_equals_stepping<C: MinRnnCell>(seq: usize, bias: bool, seed: u64) {
    let device = autodiff_device();
    let mut rng = Rng::new(seed);
    let (batch, input, hidden) = (3, 4, 5);
    let cell: C = CellConfig::new(input, hidden).with_bias(bias).init(&device);
    // Inputs large enough that some gates saturate; `h0` of both signs.
    let x = (rng.tensor([batch, seq, input], &device) * 3.0).require_grad();
    let h0 = rng.tensor([batch, hidden], &device).require_grad();
    let layer = Recurrent::new(cell, false);
    let (out, state) = layer.forward(x.clone(), Some(RnnState::new(h0.clone())), None);
    let (out_ref, h_ref) = stepped(&layer.cell, x.clone(), h0.clone());
    let what = format!("{} seq={seq} bias={bias}", C::NAME);
    assert_close(&format!("{what}: outputs"), &out, &out_ref, 1e-5);
    assert_close(&format!("{what}: h_n"), &state.hidden, &h_ref, 1e-5);

    let grads = (weigh(out) + weigh(state.hidden)).backward();
    let grads_ref = (weigh(out_ref) + weigh(h_ref)).backward();
    let grad = |t: &Tensor<3>, g| t.grad(g).expect("a gradient");
    assert_close(
        &format!("{what}: d input"),
        &grad(&x, &grads),
        &grad(&x, &grads_ref),
        1e-4,
    );
    assert_close(
        &format!("{what}: d h0"),
        &h0.grad(&grads).unwrap(),
        &h0.grad(&grads_ref).unwrap(),
        1e-4,
    );
    let w = &layer.cell.weights().weight;
    assert_close(
        &format!("{what}: d weight"),
        &w.grad(&grads).unwrap(),
        &w.grad(&grads_ref).unwrap(),
        1e-4,
    );
    if let Some(b) = &layer.cell.weights().bias {
        assert_close(
            &format!("{what}: d bias"),
            &b.grad(&grads).unwrap(),
            &b.grad(&grads_ref).unwrap(),
            1e-4,
        );
    }
}

/// Lengths that are and are not powers of two (the scan's rounds double the span).
#[rstest]
fn scan_equals_stepping_outputs_states_and_gradients(
    #[values("mingru", "minlstm")] cell: &str,
    #[values(1, 2, 5, 8, 23)] seq: usize,
    #[values(false, true)] bias: bool,
) {
    match cell {
        "mingru" => scan_equals_stepping::<MinGruCell>(seq, bias, seq as u64),
        "minlstm" => scan_equals_stepping::<MinLstmCell>(seq, bias, seq as u64),
        _ => unreachable!(),
    }
}

fn finite_differences<C: MinRnnCell>() {
    let (batch, seq, input, hidden) = (2, 5, 3, 2);
    let lengths = [5, 3];
    let mut rng = Rng::new(11);
    let x_data: Vec<f32> = (0..batch * seq * input).map(|_| rng.float()).collect();
    let mut template: rnn_core::Rnn<C> = RnnConfig::new(input, hidden)
        .with_num_layers(2)
        .with_bidirectional(true)
        .init(&device());
    // Seeded weights, so that the data is the same on every run: `g` has a kink at 0 (slope
    // ¼ below, 1 above), where a finite difference straddling it measures neither slope.
    for cell in template.cells_mut() {
        let w = cell.weights_mut();
        w.weight = Param::from_tensor(rng.tensor(w.weight.dims(), &device()));
        if let Some(b) = &mut w.bias {
            *b = Param::from_tensor(rng.tensor(b.dims(), &device()));
        }
    }
    fn weight<C: MinRnnCell>(cell: &mut C) -> &mut Param<Tensor<2>> {
        &mut cell.weights_mut().weight
    }
    assert_network_gradients(
        &template,
        [batch, seq, input],
        x_data,
        &lengths,
        weight::<C>,
    );
}

/// Through the scan of a stacked bidirectional network over a padded batch.
#[rstest]
fn gradients_match_finite_differences(#[values("mingru", "minlstm")] cell: &str) {
    match cell {
        "mingru" => finite_differences::<MinGruCell>(),
        "minlstm" => finite_differences::<MinLstmCell>(),
        _ => unreachable!(),
    }
}

fn error<T>(result: Result<T, RnnError>) -> String {
    result.map(|_| ()).unwrap_err().to_string()
}

#[test]
fn bad_arguments_are_errors() {
    let device = device();
    assert_eq!(
        error(
            CellConfig::new(4, 6)
                .with_proj_size(2)
                .try_init::<MinGruCell>(&device)
        ),
        "proj_size: expected 0 (only LSTM cells project their state, not minGRU), got 2"
    );
    let mut layer = Recurrent::new(CellConfig::new(4, 6).init::<MinLstmCell>(&device), false);
    let x = Tensor::<3>::zeros([3, 5, 4], &device);
    assert_eq!(
        error(layer.try_forward(Tensor::zeros([3, 5, 2], &device), None, None)),
        "input: expected feature size 4 (last dimension), got 2"
    );
    assert_eq!(
        error(layer.try_forward(
            x.clone(),
            Some(RnnState::new(Tensor::zeros([3, 5], &device))),
            None
        )),
        "state.hidden: expected shape [3, 6] ([batch, hidden]), got [3, 5]"
    );
    assert_eq!(
        error(layer.cell.try_step(
            Tensor::zeros([3, 4], &device),
            RnnState::lstm(
                Tensor::zeros([3, 6], &device),
                Tensor::zeros([3, 6], &device)
            )
        )),
        "state.cell: expected None (minLSTM has no cell state), got a tensor of shape [3, 6]"
    );
    layer.cell.weights_mut().weight = Param::from_tensor(Tensor::zeros([17, 4], &device));
    assert_eq!(
        error(layer.try_forward(x.clone(), None, None)),
        "cells[0].weights.weight: expected 3 gates × hidden_size rows (minLSTM), got shape [17, 4]"
    );
    layer.cell.weights_mut().weight = Param::from_tensor(Tensor::zeros([18, 4], &device));
    layer.cell.weights_mut().bias = Some(Param::from_tensor(Tensor::zeros([17], &device)));
    assert_eq!(
        error(layer.try_forward(x, None, None)),
        "cells[0].weights.bias: expected shape [18] (3 gates × hidden_size 6), got [17]"
    );
}

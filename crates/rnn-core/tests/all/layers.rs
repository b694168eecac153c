//! Stacking and bidirectional semantics: dropout in training only, merge modes, cell steps.

use burn::module::Module;
use burn::tensor::Tensor;
use rnn_core::{
    AnyRnn, Cell, CellKind, CellState, GruCell, Lstm, LstmCell, MergeMode, Rnn, RnnConfig,
    RnnLayer, RnnState,
};
use rstest::rstest;

use crate::any_state::random_state;
use crate::backend::{autodiff_device, device};
use crate::util::{Rng, assert_close, max_abs_diff};

#[test]
fn dropout_between_layers_only_in_training() {
    let config = RnnConfig::new(3, 8).with_num_layers(2);
    let rnn: Lstm = config.clone().with_dropout(0.5).init(&device());
    let mut no_dropout = rnn.clone();
    no_dropout.dropout = burn::nn::DropoutConfig::new(0.0).init();
    let x = Rng::new(3).tensor([2, 4, 3], &device());

    let eval = rnn.forward(x.clone(), None, None);
    let reference = no_dropout.forward(x.clone(), None, None);
    assert_close(
        "inference ignores dropout",
        &eval.output,
        &reference.output,
        0.0,
    );

    let ad = autodiff_device();
    let train = rnn.valid().to_device(&ad).train();
    let train_ref = no_dropout.valid().to_device(&ad).train();
    let x = x.to_device(&ad);
    let a = train.forward(x.clone(), None, None);
    let b = train_ref.forward(x, None, None);
    assert!(
        max_abs_diff(&a.output, &b.output) > 1e-4,
        "training applies dropout between layers"
    );
}

#[test]
fn dropout_not_applied_to_single_layer_output() {
    let rnn: Lstm = RnnConfig::new(3, 8).with_dropout(0.5).init(&device());
    let ad = autodiff_device();
    let train = rnn.valid().to_device(&ad).train();
    let x = Rng::new(4).tensor([2, 4, 3], &ad);
    let reference = rnn.forward(x.clone().to_device(&device()), None, None);
    let out = train.forward(x, None, None);
    assert_close(
        "last layer output is not dropped",
        &out.output.to_device(&device()),
        &reference.output,
        1e-6,
    );
}

#[rstest]
#[case(MergeMode::Sum)]
#[case(MergeMode::Mean)]
#[case(MergeMode::Mul)]
fn merge_modes_combine_the_two_directions(#[case] mode: MergeMode) {
    let device = device();
    let concat: Rnn<GruCell> = RnnConfig::new(3, 4).with_bidirectional(true).init(&device);
    let mut merged = concat.clone();
    if let RnnLayer::Bidirectional(b) = &mut merged.layers[0] {
        b.merge = mode;
    }
    let x = Rng::new(9).tensor([2, 5, 3], &device);
    let both = concat.forward(x.clone(), None, Some(&[5, 2])).output;
    let (fwd, bwd) = (both.clone().narrow(2, 0, 4), both.narrow(2, 4, 4));
    let expected = match mode {
        MergeMode::Sum => fwd + bwd,
        MergeMode::Mean => (fwd + bwd) / 2.0,
        MergeMode::Mul => fwd * bwd,
        MergeMode::Concat => unreachable!(),
    };
    let out = merged.forward(x, None, Some(&[5, 2])).output;
    assert_close(&format!("{mode:?}"), &out, &expected, 1e-6);
}

#[test]
fn stacked_bidirectional_sum_feeds_hidden_sized_inputs() {
    let rnn: Lstm = RnnConfig::new(3, 4)
        .with_num_layers(3)
        .with_bidirectional(true)
        .with_merge(MergeMode::Sum)
        .init(&device());
    assert_eq!(rnn.cells()[2].input_size(), 4);
    let out = rnn.forward(Rng::new(1).tensor([2, 3, 3], &device()), None, None);
    assert_eq!(out.output.dims(), [2, 3, 4]);
    assert_eq!(out.state.hidden.dims(), [6, 2, 4]);
}

/// The single-step API decoders use gives what the sequence layer gives.
#[test]
fn cell_steps_reproduce_the_layer() {
    let device = device();
    let rnn: Rnn<LstmCell> = RnnConfig::new(3, 4).init(&device);
    let x = Rng::new(2).tensor([2, 5, 3], &device);
    let out = rnn.forward(x.clone(), None, None);
    let cell = rnn.cells()[0];
    let mut state = cell.zero_state(2, &device);
    for t in 0..5 {
        state = cell.step(x.clone().narrow(1, t, 1).squeeze_dim(1), state);
        let expected = out.output.clone().narrow(1, t, 1).squeeze_dim::<2>(1);
        assert_close(&format!("step {t}"), &state.hidden, &expected, 1e-6);
    }
}

/// `Rnn::step` over a sequence (stacked, from a given state) equals `Rnn::forward`, for every
/// cell kind behind `AnyRnn`.
#[test]
fn stacked_steps_reproduce_the_network() {
    let device = device();
    for kind in CellKind::ALL {
        let rnn = RnnConfig::new(3, 4)
            .with_num_layers(2)
            .with_num_heads(if kind == CellKind::Mlstm { 2 } else { 1 })
            .init_kind(kind, &device);
        assert_eq!(rnn.kind(), kind);
        let mut rng = Rng::new(5);
        let x = rng.tensor([2, 5, 3], &device);
        let initial = random_state(&rnn, 2, &mut rng);
        assert_steps_reproduce_forward(&rnn, x, initial);
    }
}

/// `rnn.step` over each timestep of `x: [batch, seq, input]` from `initial` gives the outputs
/// and final state of `rnn.forward`.
fn assert_steps_reproduce_forward(rnn: &AnyRnn, x: Tensor<3>, initial: RnnState<3>) {
    let out = rnn.forward(x.clone(), Some(initial.clone()), None);
    let mut state = Some(initial);
    for t in 0..x.dims()[1] {
        let (y, next) = rnn.step(x.clone().narrow(1, t, 1).squeeze_dim(1), state);
        let expected = out.output.clone().narrow(1, t, 1).squeeze_dim::<2>(1);
        assert_close(&format!("{:?} step {t}", rnn.kind()), &y, &expected, 1e-6);
        state = Some(next);
    }
    let parts = state.unwrap().into_parts();
    let expected = out.state.into_parts();
    assert_eq!(parts.len(), expected.len());
    for (k, (part, expected)) in parts.iter().zip(&expected).enumerate() {
        assert_close(&format!("final state[{k}]"), part, expected, 1e-5);
    }
}

/// A projecting LSTM (`proj_size`): `h` and the outputs are `proj_size` wide, `c` keeps
/// `hidden_size`, the next layer reads the projected outputs, and stepping it reproduces the
/// sequence run from a given state.
#[test]
fn projected_lstm_shapes_and_steps() {
    let device = device();
    let bi: Lstm = RnnConfig::new(3, 5)
        .with_proj_size(2)
        .with_num_layers(2)
        .with_bidirectional(true)
        .init(&device);
    assert_eq!(
        (bi.hidden_size(), bi.proj_size(), bi.output_size()),
        (5, 2, 4)
    );
    assert_eq!(bi.cells()[2].input_size(), 4);
    let mut rng = Rng::new(9);
    let out = bi.forward(rng.tensor([2, 6, 3], &device), None, Some(&[6, 3]));
    assert_eq!(out.output.dims(), [2, 6, 4]);
    assert_eq!(out.state.hidden.dims(), [4, 2, 2]);
    assert_eq!(out.state.cell.unwrap().dims(), [4, 2, 5]);

    let rnn = RnnConfig::new(3, 5)
        .with_proj_size(2)
        .with_num_layers(2)
        .init_kind(CellKind::Lstm, &device);
    let zero = rnn.zero_state(2, &device);
    assert_eq!(zero.hidden.dims(), [2, 2, 2]);
    assert_eq!(zero.cell.unwrap().dims(), [2, 2, 5]);
    let x = rng.tensor([2, 5, 3], &device);
    let initial = RnnState::lstm(
        rng.tensor([2, 2, 2], &device),
        rng.tensor([2, 2, 5], &device),
    );
    assert_steps_reproduce_forward(&rnn, x, initial);
}

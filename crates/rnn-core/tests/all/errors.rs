//! Bad configs and bad forward arguments give errors that name the argument, the expected
//! and the actual value.

use burn::tensor::Tensor;
use rnn_core::{CellConfig, Gru, GruCell, Lstm, RnnConfig, RnnState};
use rstest::rstest;

use crate::backend::device;

#[rstest]
#[case(RnnConfig::new(0, 4), "input_size: expected a value > 0, got 0")]
#[case(RnnConfig::new(3, 0), "hidden_size: expected a value > 0, got 0")]
#[case(RnnConfig::new(3, 4).with_num_layers(0), "num_layers: expected a value > 0, got 0")]
#[case(RnnConfig::new(3, 4).with_dropout(1.0), "dropout: expected a probability in [0, 1), got 1")]
#[case(RnnConfig::new(3, 4).with_dropout(-0.1), "dropout: expected a probability in [0, 1), got -0.1")]
#[case(RnnConfig::new(3, 4).with_dropout(f64::NAN), "dropout: expected a probability in [0, 1), got NaN")]
#[case(RnnConfig::new(3, 4).with_proj_size(4), "proj_size: expected 0 (no projection) or a size below hidden_size (4), got 4")]
#[case(RnnConfig::new(3, 4).with_proj_size(2), "proj_size: expected 0 (only LSTM cells project their state, not GRU), got 2")]
fn invalid_config_is_rejected_at_init(#[case] config: RnnConfig, #[case] message: &str) {
    let err = config.try_init::<GruCell>(&device()).unwrap_err();
    assert_eq!(err.to_string(), message);
}

#[test]
#[should_panic(expected = "hidden_size: expected a value > 0, got 0")]
fn init_panics_with_the_same_message() {
    let _: Lstm = RnnConfig::new(3, 0).init(&device());
}

#[test]
fn invalid_cell_config_is_rejected() {
    let err = CellConfig::new(0, 4)
        .try_init::<GruCell>(&device())
        .unwrap_err();
    assert_eq!(err.to_string(), "input_size: expected a value > 0, got 0");
}

fn lstm() -> Lstm {
    RnnConfig::new(3, 4).with_num_layers(2).init(&device())
}

fn zeros(shape: [usize; 3]) -> Tensor<3> {
    Tensor::zeros(shape, &device())
}

#[test]
fn wrong_feature_size() {
    let err = lstm()
        .try_forward(zeros([2, 5, 6]), None, None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "input: expected feature size 3 (last dimension), got 6"
    );
}

#[test]
fn empty_input() {
    let err = lstm()
        .try_forward(zeros([2, 0, 3]), None, None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "input: expected a non-empty batch and sequence, got shape [2, 0, 3]"
    );
}

/// The error of running `lstm` on a batch of 2 from an LSTM state of the given shapes.
fn state_error(lstm: &Lstm, hidden: [usize; 3], cell: [usize; 3]) -> String {
    let state = RnnState::lstm(zeros(hidden), zeros(cell));
    lstm.try_forward(zeros([2, 5, 3]), Some(state), None)
        .unwrap_err()
        .to_string()
}

#[test]
fn state_of_wrong_shape() {
    assert_eq!(
        state_error(&lstm(), [1, 2, 4], [2, 2, 4]),
        "state.hidden: expected shape [2, 2, 4] ([num_layers * num_directions, batch, hidden]), got [1, 2, 4]"
    );
    assert_eq!(
        state_error(&lstm(), [2, 2, 4], [2, 3, 4]),
        "state.cell: expected shape [2, 2, 4] ([num_layers * num_directions, batch, hidden]), got [2, 3, 4]"
    );
}

#[test]
fn projected_state_of_wrong_shape() {
    let lstm: Lstm = RnnConfig::new(3, 4)
        .with_proj_size(2)
        .with_num_layers(2)
        .init(&device());
    // h is proj_size wide, c hidden_size.
    assert_eq!(
        state_error(&lstm, [2, 2, 4], [2, 2, 4]),
        "state.hidden: expected shape [2, 2, 2] ([num_layers * num_directions, batch, proj_size]), got [2, 2, 4]"
    );
    assert_eq!(
        state_error(&lstm, [2, 2, 2], [2, 2, 2]),
        "state.cell: expected shape [2, 2, 4] ([num_layers * num_directions, batch, hidden]), got [2, 2, 2]"
    );
}

#[test]
fn lstm_state_without_cell() {
    let err = lstm()
        .try_forward(
            zeros([2, 5, 3]),
            Some(RnnState::new(zeros([2, 2, 4]))),
            None,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "state.cell: expected a cell state of shape [2, 2, 4] (LSTM needs h and c), got None"
    );
}

#[test]
fn gru_state_with_cell() {
    let gru: Gru = RnnConfig::new(3, 4)
        .with_bidirectional(true)
        .init(&device());
    let state = RnnState::lstm(zeros([2, 2, 4]), zeros([2, 2, 4]));
    let err = gru
        .try_forward(zeros([2, 5, 3]), Some(state), None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "state.cell: expected None (GRU has no cell state), got a tensor of shape [2, 2, 4]"
    );
}

#[rstest]
#[case(&[5], "lengths: expected one length per batch example (2), got 1 lengths")]
#[case(&[5, 3, 2], "lengths: expected one length per batch example (2), got 3 lengths")]
#[case(&[5, 0], "lengths[1]: expected a length in 1..=5 (the sequence length), got 0")]
#[case(&[6, 2], "lengths[0]: expected a length in 1..=5 (the sequence length), got 6")]
fn bad_lengths(#[case] lengths: &[usize], #[case] message: &str) {
    let err = lstm()
        .try_forward(zeros([2, 5, 3]), None, Some(lengths))
        .unwrap_err();
    assert_eq!(err.to_string(), message);
}

#[test]
#[should_panic(expected = "lengths[0]: expected a length in 1..=5 (the sequence length), got 6")]
fn forward_panics_with_the_same_message() {
    lstm().forward(zeros([2, 5, 3]), None, Some(&[6, 2]));
}

#[test]
fn layers_assembled_by_hand_must_match_the_first() {
    let x = || zeros([2, 5, 3]);
    let mut empty = lstm();
    empty.layers.clear();
    assert_eq!(
        empty.try_forward(x(), None, None).unwrap_err().to_string(),
        "layers: expected at least one layer, got none"
    );
    assert_eq!(
        empty
            .try_step(Tensor::zeros([2, 3], &device()), None)
            .unwrap_err()
            .to_string(),
        "layers: expected at least one layer, got none"
    );
    // A bidirectional layer under a unidirectional one: its backward cell would start from
    // zeros whatever the state says.
    let mut mixed: Lstm = RnnConfig::new(3, 4).with_num_layers(2).init(&device());
    let bi: Lstm = RnnConfig::new(4, 4)
        .with_bidirectional(true)
        .init(&device());
    mixed.layers[1] = bi.layers.into_iter().next().unwrap();
    assert_eq!(
        mixed.try_forward(x(), None, None).unwrap_err().to_string(),
        "layers[1]: expected a layer like layers[0] (unidirectional), got bidirectional, merged \
         by Concat"
    );
}

#[test]
fn step_needs_a_unidirectional_network() {
    let bi: Lstm = RnnConfig::new(3, 4)
        .with_bidirectional(true)
        .init(&device());
    let err = bi
        .try_step(Tensor::zeros([2, 3], &device()), None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "self: expected a unidirectional network (a bidirectional one needs the whole \
         sequence), got a bidirectional network"
    );
}

#[test]
fn step_checks_input_and_state() {
    let err = lstm()
        .try_step(Tensor::zeros([2, 5], &device()), None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "input: expected feature size 3 (last dimension), got 5"
    );
    let state = RnnState::lstm(zeros([1, 2, 4]), zeros([2, 2, 4]));
    let err = lstm()
        .try_step(Tensor::zeros([2, 3], &device()), Some(state))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "state.hidden: expected shape [2, 2, 4] ([num_layers * num_directions, batch, hidden]), got [1, 2, 4]"
    );
}

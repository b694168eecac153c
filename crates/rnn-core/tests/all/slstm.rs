//! The sLSTM through every composition: a padded example of a stacked bidirectional network
//! gives what it gives alone, its gradients match finite differences, and bad arguments are
//! errors naming them. (Parity with the `xlstm` package: `modern_parity.rs`.)

use burn::module::Param;
use burn::tensor::Tensor;
use rnn_core::{
    CellConfig, ForgetGate, GruCell, LstmCell, Recurrent, Rnn, RnnConfig, RnnError, SlstmCell,
    SlstmState,
};
use rstest::rstest;

use crate::backend::device;
use crate::padding::assert_padded_equals_alone;
use crate::util::{Rng, assert_network_gradients};

/// A stacked bidirectional sLSTM with two heads, its weights seeded (the recurrent ones are
/// zero at initialisation, which would leave the recurrence untested).
fn network(input: usize, hidden: usize, forget_gate: ForgetGate, rng: &mut Rng) -> Rnn<SlstmCell> {
    let device = device();
    let mut rnn: Rnn<SlstmCell> = RnnConfig::new(input, hidden)
        .with_num_layers(2)
        .with_bidirectional(true)
        .with_num_heads(2)
        .with_forget_gate(forget_gate)
        .init(&device);
    for cell in rnn.cells_mut() {
        let w = &mut cell.weights;
        w.weight_ih = Param::from_tensor(rng.tensor(w.weight_ih.dims(), &device));
        w.weight_hh = Param::from_tensor(rng.tensor(w.weight_hh.dims(), &device));
    }
    rnn
}

/// A random state of `n` cells with a positive normaliser.
fn state(n: usize, batch: usize, hidden: usize, rng: &mut Rng) -> SlstmState<3> {
    let device = device();
    let mut part = || rng.tensor([n, batch, hidden], &device);
    SlstmState {
        hidden: part(),
        cell: part(),
        normalizer: part().abs() + 0.5,
        stabilizer: part(),
    }
}

#[rstest]
fn padded_example_equals_example_alone(
    #[values(ForgetGate::Sigmoid, ForgetGate::Exponential)] forget_gate: ForgetGate,
    #[values(false, true)] from_state: bool,
) {
    let mut rng = Rng::new(5);
    let (batch, seq, input, hidden) = (3, 6, 3, 4);
    let lengths = [6, 2, 4];
    let rnn = network(input, hidden, forget_gate, &mut rng);
    let x = rng.tensor([batch, seq, input], &device());
    let initial = from_state.then(|| state(4, batch, hidden, &mut rng));
    let what = format!("{forget_gate:?} from_state={from_state}");
    assert_padded_equals_alone(&rnn, x, initial, &lengths, &what);
}

/// The input's and the first cell's recurrent weights' gradients, through a stacked
/// bidirectional network over a padded batch. The loss reads the outputs and `h_n`, which do
/// not depend on the stabiliser (the log scale `c` and `n` share), whose `max` has kinks.
#[rstest]
fn gradients_match_finite_differences(
    #[values(ForgetGate::Sigmoid, ForgetGate::Exponential)] forget_gate: ForgetGate,
) {
    let (batch, seq, input, hidden) = (2, 4, 3, 4);
    let lengths = [4, 2];
    let mut rng = Rng::new(8);
    let template = network(input, hidden, forget_gate, &mut rng);
    let x: Vec<f32> = (0..batch * seq * input).map(|_| rng.float()).collect();
    assert_network_gradients(&template, [batch, seq, input], x, &lengths, |cell| {
        &mut cell.weights.weight_hh
    });
}

fn error<T>(result: Result<T, RnnError>) -> String {
    result.map(|_| ()).unwrap_err().to_string()
}

#[test]
fn bad_arguments_are_errors() {
    let device = device();
    let config = CellConfig::new(4, 6);
    assert_eq!(
        error(
            config
                .clone()
                .with_num_heads(4)
                .try_init::<SlstmCell>(&device)
        ),
        "num_heads: expected a divisor of hidden_size 6, got 4"
    );
    assert_eq!(
        error(
            config
                .clone()
                .with_num_heads(0)
                .try_init::<SlstmCell>(&device)
        ),
        "num_heads: expected a value > 0, got 0"
    );
    assert_eq!(
        error(
            config
                .clone()
                .with_num_heads(2)
                .try_init::<LstmCell>(&device)
        ),
        "num_heads: expected 1 (only sLSTM and mLSTM cells have heads, not LSTM), got 2"
    );
    assert_eq!(
        error(
            RnnConfig::new(4, 6)
                .with_forget_gate(ForgetGate::Exponential)
                .try_init::<GruCell>(&device)
        ),
        "forget_gate: expected Sigmoid (only sLSTM and mLSTM cells choose it, not GRU), got Exponential"
    );
    assert_eq!(
        error(
            config
                .clone()
                .with_proj_size(2)
                .try_init::<SlstmCell>(&device)
        ),
        "proj_size: expected 0 (only LSTM cells project their state, not sLSTM), got 2"
    );

    let mut layer = Recurrent::new(config.with_num_heads(2).init::<SlstmCell>(&device), false);
    let x = Tensor::<3>::zeros([3, 5, 4], &device);
    let zeros = || Tensor::<2>::zeros([3, 6], &device);
    let bad_state = SlstmState {
        hidden: zeros(),
        cell: zeros(),
        normalizer: Tensor::zeros([3, 5], &device),
        stabilizer: zeros(),
    };
    assert_eq!(
        error(layer.try_forward(x.clone(), Some(bad_state), None)),
        "state.normalizer: expected shape [3, 6] ([batch, hidden]), got [3, 5]"
    );
    layer.cell.weights.weight_hh = Param::from_tensor(Tensor::zeros([4, 12, 3], &device));
    assert_eq!(
        error(layer.try_forward(x.clone(), None, None)),
        "cells[0].weights.weight_hh: expected a number of heads (first dimension) dividing \
         hidden_size 6, got shape [4, 12, 3]"
    );
    layer.cell.weights.weight_hh = Param::from_tensor(Tensor::zeros([2, 12, 2], &device));
    assert_eq!(
        error(layer.try_forward(x, None, None)),
        "cells[0].weights.weight_hh: expected shape [2, 12, 3] (2 heads × 4 gates × 3 units, 3 \
         units), got [2, 12, 2]"
    );
}

//! The mLSTM cell: its chunkwise, parallel and recurrent forms agree (outputs, final states,
//! gradients), a padded example of a stacked bidirectional network gives what it gives alone,
//! its gradients match finite differences, a network created on an autodiff device (as a
//! trainer creates it) gives every parameter a gradient, and bad arguments are errors naming
//! them. (Its
//! memory against the `xlstm` package's backends: `modern_parity.rs`.)

use burn::module::Param;
use burn::tensor::{Device, Tensor};
use rnn_core::{
    Cell, CellConfig, CellState, ForgetGate, MlstmCell, MlstmState, Recurrent, Rnn, RnnConfig,
    RnnError,
};
use rstest::rstest;

use crate::backend::{autodiff_device, device};
use crate::padding::assert_padded_equals_alone;
use crate::util::{Rng, assert_network_gradients, values, weigh};

/// Seeds every parameter (the gates' weights are zero at initialisation, which would leave
/// their gradients untested).
fn seed(cell: &mut MlstmCell, rng: &mut Rng, device: &Device) {
    let w = &mut cell.weights;
    w.weight = Param::from_tensor(rng.tensor(w.weight.dims(), device));
    w.gate_weight = Param::from_tensor(rng.tensor(w.gate_weight.dims(), device));
    w.gate_bias = Param::from_tensor(rng.tensor(w.gate_bias.dims(), device) * 2.0);
}

/// A random state for `batch` examples of `cell`, parts `[batch, size]`.
fn random_state(cell: &MlstmCell, batch: usize, rng: &mut Rng, device: &Device) -> MlstmState<2> {
    let parts = cell
        .state_sizes()
        .into_iter()
        .map(|(size, _)| rng.tensor([batch, size], device))
        .collect();
    MlstmState::from_parts(parts)
}

/// What a form computed: outputs, final state parts and gradients, as host values.
/// `cell`, `x` and `s0` live on the plain device: the run tracks copies on the autodiff one.
fn run(cell: &MlstmCell, chunk: Option<usize>, x: &Tensor<3>, s0: &MlstmState<2>) -> Vec<Vec<f32>> {
    let device = autodiff_device();
    let track = |t: Tensor<2>| Tensor::<2>::from_data(t.to_data(), &device).require_grad();
    let leaf2 =
        |p: &Param<Tensor<2>>| Param::from_tensor(Tensor::from_data(p.val().to_data(), &device));
    let leaf1 =
        |p: &Param<Tensor<1>>| Param::from_tensor(Tensor::from_data(p.val().to_data(), &device));
    let mut cell = cell.clone();
    let w = &mut cell.weights;
    (w.weight, w.gate_weight, w.gate_bias) =
        (leaf2(&w.weight), leaf2(&w.gate_weight), leaf1(&w.gate_bias));
    w.bias = w.bias.as_ref().map(leaf1);
    let cell = &cell;
    let x = Tensor::<3>::from_data(x.to_data(), &device).require_grad();
    let s0 = s0.clone().map::<2, MlstmState<2>>(track);
    let (output, state) = match chunk {
        Some(chunk_size) => {
            let mut cell = cell.clone();
            cell.chunk_size = chunk_size;
            Recurrent::new(cell, false).forward(x.clone(), Some(s0.clone()), None)
        }
        // Step by step through the single-step API.
        None => {
            let [batch, seq, input] = x.dims();
            let mut state = s0.clone();
            let mut outputs = Vec::new();
            for t in 0..seq {
                state = cell.step(x.clone().narrow(1, t, 1).reshape([batch, input]), state);
                outputs.push(state.hidden.clone());
            }
            (Tensor::stack(outputs, 1), state)
        }
    };
    let mut loss = weigh(output.clone());
    let mut results = vec![values(&output)];
    for part in state.into_parts() {
        results.push(values(&part));
        loss = loss + weigh(part);
    }
    let grads = loss.backward();
    results.push(values(&x.grad(&grads).expect("d input")));
    let mut parts = s0.into_parts().into_iter();
    // The mLSTM never reads `h` back: the initial `h` has no gradient.
    let h0 = parts.next().expect("h0");
    assert!(h0.grad(&grads).is_none(), "the initial h has a gradient");
    for part in parts {
        results.push(values(&part.grad(&grads).expect("d state")));
    }
    let w = &cell.weights;
    results.push(values(&w.weight.grad(&grads).expect("d weight")));
    results.push(values(&w.gate_weight.grad(&grads).expect("d gate_weight")));
    results.push(values(&w.gate_bias.grad(&grads).expect("d gate_bias")));
    let bias = w.bias.as_ref().expect("a bias");
    results.push(values(&bias.grad(&grads).expect("d bias")));
    results
}

#[rstest]
fn chunkwise_parallel_and_recurrent_forms_agree(
    #[values(ForgetGate::Sigmoid, ForgetGate::Exponential)] forget_gate: ForgetGate,
    #[values(1, 2)] heads: usize,
) {
    let device = device();
    let mut rng = Rng::new(3 + heads as u64);
    let (batch, seq, input, hidden) = (2, 7, 3, 4);
    let mut cell: MlstmCell = CellConfig::new(input, hidden)
        .with_num_heads(heads)
        .with_forget_gate(forget_gate)
        .init(&device);
    seed(&mut cell, &mut rng, &device);
    let x = rng.tensor([batch, seq, input], &device) * 2.0;
    let s0 = random_state(&cell, batch, &mut rng, &device);
    let names = [
        "output",
        "h_n",
        "C_n",
        "n_n",
        "m_n",
        "d input",
        "d C0",
        "d n0",
        "d m0",
        "d weight",
        "d gate_weight",
        "d gate_bias",
        "d bias",
    ];
    let stepped = run(&cell, None, &x, &s0);
    assert_eq!(
        names.len(),
        stepped.len(),
        "a name for every compared value"
    );
    for chunk in [1, 2, 3, 7, 64] {
        let chunked = run(&cell, Some(chunk), &x, &s0);
        for ((name, a), e) in names.iter().zip(&chunked).zip(&stepped) {
            let worst = a
                .iter()
                .zip(e)
                .map(|(a, e)| (a - e).abs() / e.abs().max(1.0))
                .fold(0.0, f32::max);
            assert!(
                worst <= 1e-4,
                "{forget_gate:?} heads={heads} chunk={chunk}: {name} differs from stepping by {worst:e}\n{a:?}\n{e:?}"
            );
        }
    }
}

#[rstest]
fn padded_example_equals_example_alone(#[values(1, 3)] chunk_size: usize) {
    let device = device();
    let mut rng = Rng::new(17);
    let (batch, seq, input, hidden) = (3, 6, 3, 4);
    let lengths = [6, 2, 5];
    let mut rnn: Rnn<MlstmCell> = RnnConfig::new(input, hidden)
        .with_num_layers(2)
        .with_bidirectional(true)
        .with_num_heads(2)
        .with_chunk_size(chunk_size)
        .init(&device);
    for cell in rnn.cells_mut() {
        seed(cell, &mut rng, &device);
    }
    let x = rng.tensor([batch, seq, input], &device);
    let sizes = rnn.cells()[0].state_sizes();
    let s0 = MlstmState::<3>::from_parts(
        sizes
            .iter()
            .map(|&(size, _)| rng.tensor([4, batch, size], &device))
            .collect(),
    );
    let what = format!("chunk {chunk_size}");
    assert_padded_equals_alone(&rnn, x, Some(s0), &lengths, &what);
}

/// Through a stacked bidirectional network over a padded batch, in chunks of 2.
#[test]
fn gradients_match_finite_differences() {
    let (batch, seq, input, hidden) = (2, 5, 3, 4);
    let lengths = [5, 3];
    let mut rng = Rng::new(23);
    let plain = device();
    let mut template: Rnn<MlstmCell> = RnnConfig::new(input, hidden)
        .with_num_layers(2)
        .with_bidirectional(true)
        .with_num_heads(2)
        .with_chunk_size(2)
        .init(&plain);
    for cell in template.cells_mut() {
        seed(cell, &mut rng, &plain);
    }
    let x: Vec<f32> = (0..batch * seq * input).map(|_| rng.float()).collect();
    assert_network_gradients(&template, [batch, seq, input], x, &lengths, |cell| {
        &mut cell.weights.gate_weight
    });
}

#[test]
fn created_on_an_autodiff_device_every_parameter_has_a_gradient() {
    let device = autodiff_device();
    let rnn: Rnn<MlstmCell> = RnnConfig::new(3, 4).with_num_heads(2).init(&device);
    let x = Rng::new(3).tensor([2, 5, 3], &device);
    let grads = weigh(rnn.forward(x, None, None).output).backward();
    let w = &rnn.cells()[0].weights;
    assert!(w.weight.grad(&grads).is_some(), "weight");
    assert!(w.bias.as_ref().unwrap().grad(&grads).is_some(), "bias");
    assert!(w.gate_weight.grad(&grads).is_some(), "gate_weight");
    assert!(w.gate_bias.grad(&grads).is_some(), "gate_bias");
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
                .try_init::<MlstmCell>(&device)
        ),
        "num_heads: expected a divisor of hidden_size 6, got 4"
    );
    assert_eq!(
        error(
            config
                .clone()
                .with_chunk_size(0)
                .try_init::<MlstmCell>(&device)
        ),
        "chunk_size: expected a value > 0, got 0"
    );
    let mut layer = Recurrent::new(config.with_num_heads(2).init::<MlstmCell>(&device), false);
    let x = Tensor::<3>::zeros([3, 5, 4], &device);
    let mut state = layer.cell.zero_state(3, &device);
    state.memory = Tensor::zeros([3, 36], &device);
    assert_eq!(
        error(layer.try_forward(x.clone(), Some(state), None)),
        "state.memory: expected shape [3, 18] ([batch, hidden * hidden / num_heads]), got [3, 36]"
    );
    layer.cell.chunk_size = 0;
    assert_eq!(
        error(layer.try_forward(x.clone(), None, None)),
        "cells[0].chunk_size: expected a value > 0, got 0"
    );
    layer.cell.chunk_size = 2;
    layer.cell.weights.gate_weight = Param::from_tensor(Tensor::zeros([8, 4], &device));
    assert_eq!(
        error(layer.try_forward(x, None, None)),
        "cells[0].weights.gate_weight: expected 2 × heads rows, the heads dividing hidden_size \
         6, got shape [8, 4]"
    );
}

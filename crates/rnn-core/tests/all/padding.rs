//! Variable-length batches: a padded example gives exactly what it gives alone, unpadded.

use burn::tensor::Tensor;
use rnn_core::{
    Cell, CellState, ElmanCell, GruCell, LstmCell, MinGruCell, MinLstmCell, Rnn, RnnConfig,
    RnnState,
};
use rstest::rstest;

use crate::backend::device;
use crate::util::{Rng, RnnStateCell, assert_close, has_cell_state, values};

const TOL: f32 = 1e-5;

fn padded_equals_alone<C: RnnStateCell>(layers: usize, bidirectional: bool, seed: u64) {
    let device = device();
    let mut rng = Rng::new(seed);
    let (batch, seq, input, hidden) = (4, rng.range(2, 7), 3, 5);
    let lengths: Vec<usize> = (0..batch).map(|_| rng.range(1, seq)).collect();
    let rnn: Rnn<C> = RnnConfig::new(input, hidden)
        .with_num_layers(layers)
        .with_bidirectional(bidirectional)
        .init(&device);
    let n_states = layers * rnn.num_directions();
    let x = rng.tensor([batch, seq, input], &device);
    let h0 = rng.tensor([n_states, batch, hidden], &device);
    let c0 = has_cell_state::<C>().then(|| rng.tensor([n_states, batch, hidden], &device));
    let state = RnnState::with_cell(h0.clone(), c0.clone());
    let what = format!("{} layers={layers} bi={bidirectional} seed={seed}", C::NAME);
    assert_padded_equals_alone(&rnn, x, Some(state), &lengths, &what);
}

/// Asserts `rnn` over the padded batch `x: [batch, seq, input]` from `state` (zeros when
/// `None`) gives each example what it gives alone, unpadded: the outputs, zeros past its
/// length, and every part of the final state.
pub fn assert_padded_equals_alone<C: Cell>(
    rnn: &Rnn<C>,
    x: Tensor<3>,
    state: Option<C::State<3>>,
    lengths: &[usize],
    what: &str,
) {
    let seq = x.dims()[1];
    let out = rnn.forward(x.clone(), state.clone(), Some(lengths));
    let finals = out.state.into_parts();
    for (b, &len) in lengths.iter().enumerate() {
        let what = format!("{what} lengths={lengths:?} example {b}");
        let pick = |t: Tensor<3>| t.narrow(1, b, 1);
        let alone_state = state.clone().map(|s| s.map::<3, C::State<3>>(pick));
        let alone = rnn.forward(
            x.clone().narrow(0, b, 1).narrow(1, 0, len),
            alone_state,
            None,
        );
        let padded = out.output.clone().narrow(0, b, 1);
        let outputs = padded.clone().narrow(1, 0, len);
        assert_close(&format!("{what}: outputs"), &outputs, &alone.output, TOL);
        if len < seq {
            let tail = values(&padded.narrow(1, len, seq - len));
            assert!(
                tail.iter().all(|v| *v == 0.0),
                "{what}: outputs past the length must be 0, got {tail:?}"
            );
        }
        let alone_finals = alone.state.into_parts();
        for (k, (part, alone)) in finals.iter().zip(alone_finals).enumerate() {
            assert_close(
                &format!("{what}: final state[{k}]"),
                &pick(part.clone()),
                &alone,
                TOL,
            );
        }
    }
}

#[rstest]
fn padded_example_equals_example_alone(
    #[values("elman", "lstm", "gru", "mingru", "minlstm")] cell: &str,
    #[values(1, 2)] layers: usize,
    #[values(false, true)] bidirectional: bool,
    #[values(1, 2, 3)] seed: u64,
) {
    match cell {
        "elman" => padded_equals_alone::<ElmanCell>(layers, bidirectional, seed),
        "lstm" => padded_equals_alone::<LstmCell>(layers, bidirectional, seed),
        "gru" => padded_equals_alone::<GruCell>(layers, bidirectional, seed),
        "mingru" => padded_equals_alone::<MinGruCell>(layers, bidirectional, seed),
        "minlstm" => padded_equals_alone::<MinLstmCell>(layers, bidirectional, seed),
        _ => unreachable!(),
    }
}

/// Full lengths are the same as no lengths; time-major is batch-first transposed.
#[rstest]
fn full_lengths_and_time_major_agree(#[values(false, true)] bidirectional: bool) {
    let device = device();
    let mut rng = Rng::new(11);
    let config = RnnConfig::new(3, 4)
        .with_num_layers(2)
        .with_bidirectional(bidirectional);
    let rnn: Rnn<LstmCell> = config.init(&device);
    let x = rng.tensor([2, 5, 3], &device);
    let plain = rnn.forward(x.clone(), None, None);
    let full = rnn.forward(x.clone(), None, Some(&[5, 5]));
    assert_close("full lengths", &full.output, &plain.output, 0.0);

    let mut time_major = rnn.clone();
    time_major.batch_first = false;
    let bf = rnn.forward(x.clone(), None, Some(&[5, 3]));
    let tm = time_major.forward(x.swap_dims(0, 1), None, Some(&[5, 3]));
    assert_close(
        "time-major output",
        &tm.output.swap_dims(0, 1),
        &bf.output,
        1e-6,
    );
    assert_close("time-major h_n", &tm.state.hidden, &bf.state.hidden, 1e-6);
}

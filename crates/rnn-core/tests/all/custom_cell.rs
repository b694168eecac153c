//! A cell defined outside the crate is a first-class citizen: a peephole LSTM (Gers and
//! Schmidhuber 2000) with its own state type runs through `Recurrent`, `Bidirectional` and
//! stacking, with lengths; with its peepholes at zero it computes exactly what `LstmCell`
//! computes, padded examples give what they give alone, and its gradients match finite
//! differences.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
use rnn_core::{
    Bidirectional, CellConfig, CellState, Lengths, LstmCell, MergeMode, Recurrent, Rnn, RnnConfig,
    RnnState,
};
use rstest::rstest;

use crate::backend::{autodiff_device, device};
use crate::finite_differences::assert_gradients_match;
use crate::peephole::{PeepholeLstmCell, PeepholeState, lstm_twins};
use crate::util::{Rng, assert_close, values};

const TOL: f32 = 1e-5;

/// A peephole cell and an `LstmCell` with the same random weights; the peepholes zero.
fn twins(input: usize, hidden: usize, device: &Device) -> (PeepholeLstmCell, LstmCell) {
    let mut peephole: PeepholeLstmCell = CellConfig::new(input, hidden).init(device);
    let lstm = peephole.lstm_twin();
    (peephole, lstm)
}

fn assert_states_equal(name: &str, ours: PeepholeState<2>, lstm: RnnState<2>) {
    assert_close(&format!("{name} h"), &ours.h, &lstm.hidden, TOL);
    assert_close(&format!("{name} c"), &ours.c, &lstm.cell.expect("c"), TOL);
}

#[rstest]
fn with_zero_peepholes_it_is_an_lstm_through_every_composition(
    #[values(false, true)] padded: bool,
) {
    let device = device();
    let (batch, seq, input, hidden) = (3, 5, 4, 6);
    let mut rng = Rng::new(3);
    let x = rng.tensor([batch, seq, input], &device);
    let lengths = padded.then(|| Lengths::new(&[5, 2, 4], seq, &device).unwrap());
    let lengths = lengths.as_ref();

    // One direction, from a given state.
    let (peephole, lstm) = twins(input, hidden, &device);
    let (h0, c0) = (
        rng.tensor([batch, hidden], &device),
        rng.tensor([batch, hidden], &device),
    );
    let ours = Recurrent::new(peephole, false).forward(
        x.clone(),
        Some(PeepholeState {
            h: h0.clone(),
            c: c0.clone(),
        }),
        lengths,
    );
    let theirs =
        Recurrent::new(lstm, false).forward(x.clone(), Some(RnnState::lstm(h0, c0)), lengths);
    assert_close("Recurrent output", &ours.0, &theirs.0, TOL);
    assert_states_equal("Recurrent", ours.1, theirs.1);

    // Both directions.
    let (fwd, lstm_fwd) = twins(input, hidden, &device);
    let (bwd, lstm_bwd) = twins(input, hidden, &device);
    let ours = Bidirectional::new(fwd, bwd, MergeMode::Concat).forward(x.clone(), None, lengths);
    let theirs =
        Bidirectional::new(lstm_fwd, lstm_bwd, MergeMode::Concat).forward(x.clone(), None, lengths);
    assert_close("Bidirectional output", &ours.0, &theirs.0, TOL);
    assert_states_equal("Bidirectional forward", ours.1.0, theirs.1.0);
    assert_states_equal("Bidirectional backward", ours.1.1, theirs.1.1);

    // Stacked and bidirectional, with PyTorch-shaped final states.
    let config = RnnConfig::new(input, hidden)
        .with_num_layers(2)
        .with_bidirectional(true);
    let (ours, theirs) = lstm_twins(&config, &device);
    let lengths = padded.then_some(&[5, 2, 4][..]);
    let ours = ours.forward(x.clone(), None, lengths);
    let theirs = theirs.forward(x, None, lengths);
    assert_eq!(ours.state.h.dims(), [4, batch, hidden]);
    assert_close("Rnn output", &ours.output, &theirs.output, TOL);
    assert_close("Rnn h_n", &ours.state.h, &theirs.state.hidden, TOL);
    assert_close("Rnn c_n", &ours.state.c, &theirs.state.cell.unwrap(), TOL);
}

#[test]
fn padded_examples_give_what_they_give_alone() {
    let device = device();
    let (seq, input, hidden) = (6, 3, 4);
    let lengths = [6, 3, 1, 5];
    let mut rng = Rng::new(5);
    let x = rng.tensor([lengths.len(), seq, input], &device);
    let cell = |_| CellConfig::new(input, hidden).init::<PeepholeLstmCell>(&device);
    let layer = Bidirectional::new(cell(0), cell(1), MergeMode::Sum);
    let padded = Lengths::new(&lengths, seq, &device).unwrap();
    assert!(padded.is_padded());
    let (out, (fwd, bwd)) = layer.forward(x.clone(), None, Some(&padded));
    for (b, &len) in lengths.iter().enumerate() {
        let alone = x.clone().narrow(0, b, 1).narrow(1, 0, len);
        let (out_alone, (fwd_alone, bwd_alone)) = layer.forward(alone, None, None);
        let row = |t: Tensor<3>| t.narrow(0, b, 1).narrow(1, 0, len);
        assert_close(&format!("output {b}"), &row(out.clone()), &out_alone, TOL);
        for (k, (padded, alone)) in fwd
            .clone()
            .into_parts()
            .into_iter()
            .chain(bwd.clone().into_parts())
            .zip(
                fwd_alone
                    .into_parts()
                    .into_iter()
                    .chain(bwd_alone.into_parts()),
            )
            .enumerate()
        {
            let padded = padded.narrow(0, b, 1);
            assert_close(
                &format!("final state part {k} of {b}"),
                &padded,
                &alone,
                TOL,
            );
        }
        if len < seq {
            let padding = out.clone().narrow(0, b, 1).narrow(1, len, seq - len);
            let zeros = values(&padding).iter().all(|&v| v == 0.0);
            assert!(zeros, "zero past the length");
        }
    }
}

#[test]
fn gradients_match_finite_differences() {
    let (batch, seq, input, hidden) = (2, 4, 3, 3);
    let lengths = [4, 2];
    let mut rng = Rng::new(9);
    let x_data: Vec<f32> = (0..batch * seq * input).map(|_| rng.float()).collect();
    let template: Rnn<PeepholeLstmCell> = RnnConfig::new(input, hidden)
        .with_bidirectional(true)
        .init(&device());
    // The loss of the network whose first cell's peepholes are `peep` over the input `x`.
    let loss = |x: &[f32], peep: &[f32], device: &Device, track: bool| {
        let mut rnn = template.clone().fork(device);
        let x = Tensor::<3>::from_data(TensorData::new(x.to_vec(), [batch, seq, input]), device);
        let x = if track { x.require_grad() } else { x };
        let p = Tensor::<2>::from_data(TensorData::new(peep.to_vec(), [3, hidden]), device);
        let p = Param::from_tensor(p);
        let p_val = p.val();
        rnn.cells_mut()[0].peepholes = p;
        let out = rnn.forward(x.clone(), None, Some(&lengths));
        let weigh = |t: Tensor<3>| {
            let n: usize = t.dims().iter().product();
            let w: Vec<f32> = (0..n).map(|k| ((k * 7 % 11) as f32 - 5.0) / 5.0).collect();
            (t.clone() * Tensor::<3>::from_data(TensorData::new(w, t.dims()), device)).sum()
        };
        let loss = weigh(out.output) + weigh(out.state.h) + weigh(out.state.c);
        (loss, x, p_val)
    };
    let peep: Vec<f32> = (0..3 * hidden).map(|_| rng.float()).collect();
    let (l, x, p) = loss(&x_data, &peep, &autodiff_device(), true);
    let grads = l.backward();
    let analytic = [
        values(&x.grad(&grads).expect("x has a gradient")),
        values(&p.grad(&grads).expect("the peepholes have a gradient")),
    ];
    let plain = device();
    assert_gradients_match(vec![x_data, peep], &analytic, |leaves| {
        loss(&leaves[0], &leaves[1], &plain, false).0.into_scalar()
    });
}

#[test]
fn bad_arguments_to_a_layer_are_errors() {
    let device = device();
    let layer = Recurrent::new(
        CellConfig::new(4, 6).init::<PeepholeLstmCell>(&device),
        false,
    );
    let x = Tensor::<3>::zeros([3, 5, 4], &device);
    let error = |result: Result<_, rnn_core::RnnError>| result.map(|_| ()).unwrap_err().to_string();

    let other_batch = Lengths::new(&[5, 2], 5, &device).unwrap();
    assert_eq!(
        error(layer.try_forward(x.clone(), None, Some(&other_batch))),
        "lengths: expected lengths of 3 sequences of 5 steps (the input's), got lengths of 2 \
         sequences of 5 steps"
    );
    let state = PeepholeState {
        h: Tensor::zeros([3, 6], &device),
        c: Tensor::zeros([3, 5], &device),
    };
    assert_eq!(
        error(layer.try_forward(x.clone(), Some(state), None)),
        "state[1]: expected shape [3, 6] ([batch, hidden]), got [3, 5]"
    );
    assert_eq!(
        error(layer.try_forward(Tensor::zeros([3, 5, 2], &device), None, None)),
        "input: expected feature size 4 (last dimension), got 2"
    );
    let too_long = Lengths::new(&[5, 6], 5, &device).unwrap_err();
    assert_eq!(too_long.argument, "lengths[1]");
}

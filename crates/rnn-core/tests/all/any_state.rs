//! `AnyRnn` over the xLSTM cells: their four-part states as an `RnnState`, errors naming the
//! part missing or too many, and the state a decoder starts from (`initial_state`).

use burn::tensor::Tensor;
use rnn_core::{
    AnyRnn, CellKind, CellState, Mlstm, MlstmState, RnnConfig, RnnState, Slstm, SlstmState,
};
use rstest::rstest;

use crate::backend::device;
use crate::util::{Rng, assert_close, values};

/// An `RnnState` with random parts of the shapes of `rnn`'s state for `batch` examples, the
/// xLSTM cells' normaliser (part 2) positive, as their steps keep it.
pub fn random_state(rnn: &AnyRnn, batch: usize, rng: &mut Rng) -> RnnState<3> {
    let parts = rnn.zero_state(batch, &device()).into_parts();
    RnnState::from_parts(
        parts
            .into_iter()
            .enumerate()
            .map(|(k, part)| {
                let random = rng.tensor(part.dims(), &device());
                if k == 2 { random.abs() + 0.5 } else { random }
            })
            .collect(),
    )
}

fn assert_same_parts(what: &str, actual: Vec<Tensor<3>>, expected: Vec<Tensor<3>>) {
    assert_eq!(actual.len(), expected.len(), "{what}: number of parts");
    for (k, (a, e)) in actual.iter().zip(&expected).enumerate() {
        assert_close(&format!("{what} part {k}"), a, e, 0.0);
    }
}

/// `AnyRnn::Slstm` and `AnyRnn::Mlstm` give what the networks they wrap give, from the same
/// state, over a padded batch, bidirectional and stacked.
#[test]
fn any_rnn_runs_the_xlstm_cells_with_their_states() {
    let device = device();
    let config = RnnConfig::new(3, 4)
        .with_num_layers(2)
        .with_bidirectional(true)
        .with_num_heads(2)
        .with_chunk_size(2);
    let mut rng = Rng::new(8);
    let x = rng.tensor([3, 5, 3], &device);
    let lengths = [5, 2, 4];

    let slstm: Slstm = config.init(&device);
    let any = AnyRnn::Slstm(slstm.clone());
    assert_eq!(any.kind(), CellKind::Slstm);
    assert!(any.has_cell_state());
    let state = random_state(&any, 3, &mut rng);
    let typed = SlstmState::from_parts(state.clone().into_parts());
    let expected = slstm.forward(x.clone(), Some(typed), Some(&lengths));
    let out = any.forward(x.clone(), Some(state), Some(&lengths));
    assert_close("sLSTM output", &out.output, &expected.output, 0.0);
    assert_same_parts(
        "sLSTM state",
        out.state.into_parts(),
        expected.state.into_parts(),
    );

    let mlstm: Mlstm = config.init(&device);
    let any = AnyRnn::Mlstm(mlstm.clone());
    assert_eq!(any.kind(), CellKind::Mlstm);
    assert!(
        !any.has_cell_state(),
        "the mLSTM's memory is not a `c` of `h`'s kind"
    );
    let state = random_state(&any, 3, &mut rng);
    let typed = MlstmState::from_parts(state.clone().into_parts());
    let expected = mlstm.forward(x.clone(), Some(typed), Some(&lengths));
    let out = any.forward(x, Some(state), Some(&lengths));
    assert_close("mLSTM output", &out.output, &expected.output, 0.0);
    assert_same_parts(
        "mLSTM state",
        out.state.into_parts(),
        expected.state.into_parts(),
    );
}

/// A state with the parts of another cell's: the error names the first part missing or too
/// many, and what the cell needs.
#[rstest]
#[case::lstm_state_to_slstm(
    CellKind::Slstm,
    2,
    "state.normalizer: expected a normaliser (sLSTM needs h, c, n and m), got None"
)]
#[case::gru_state_to_mlstm(
    CellKind::Mlstm,
    1,
    "state.cell: expected a cell state (mLSTM needs h, c, n and m), got None"
)]
#[case::xlstm_state_to_lstm(
    CellKind::Lstm,
    4,
    "state.normalizer: expected None (LSTM has no normaliser), got a tensor of shape [1, 2, 4]"
)]
#[case::xlstm_state_to_gru(
    CellKind::Gru,
    4,
    "state.cell: expected None (GRU has no cell state), got a tensor of shape [1, 2, 4]"
)]
fn a_state_of_other_parts_is_rejected(
    #[case] kind: CellKind,
    #[case] parts: usize,
    #[case] message: &str,
) {
    let device = device();
    let rnn = RnnConfig::new(3, 4).init_kind(kind, &device);
    let part = || Tensor::<3>::zeros([1, 2, 4], &device);
    let state = RnnState::from_parts((0..parts).map(|_| part()).collect());
    let x = Tensor::<3>::zeros([2, 3, 3], &device);
    let error = rnn
        .try_forward(x.clone(), Some(state.clone()), None)
        .unwrap_err();
    assert_eq!(error.to_string(), message);
    let error = rnn
        .try_step(x.narrow(1, 0, 1).squeeze_dim(1), Some(state))
        .unwrap_err();
    assert_eq!(error.to_string(), message);
}

/// `initial_state` from content: `h` (and `c`) as given, the xLSTM's other parts as the
/// documentation says; the mLSTM stores the value `hidden` under the key `cell`, per head.
#[test]
fn initial_state_is_set_from_content() {
    for kind in CellKind::ALL {
        initial_state_is_set_from_content_for(kind);
    }
}

fn initial_state_is_set_from_content_for(kind: CellKind) {
    let device = device();
    let (layers, batch, hidden, heads) = (2, 3, 4, 2);
    let rnn = RnnConfig::new(3, hidden)
        .with_num_layers(layers)
        .with_num_heads(if kind == CellKind::Mlstm { heads } else { 1 })
        .init_kind(kind, &device);
    let mut rng = Rng::new(2);
    let h = rng.tensor([layers, batch, hidden], &device);
    let c = kind
        .takes_cell_content()
        .then(|| rng.tensor([layers, batch, hidden], &device));
    let state = rnn.initial_state(h.clone(), c.clone());
    assert_close("h", &state.hidden, &h, 0.0);
    let zero = rnn.zero_state(batch, &device).into_parts();
    let parts = state.clone().into_parts();
    assert_eq!(parts.len(), zero.len(), "the cell's parts");
    for (k, (part, zero)) in parts.iter().zip(&zero).enumerate() {
        assert_eq!(part.dims(), zero.dims(), "part {k}");
    }
    match kind {
        CellKind::Lstm | CellKind::Slstm => {
            assert_close("c", state.cell.as_ref().unwrap(), c.as_ref().unwrap(), 0.0);
            for part in parts.iter().skip(2) {
                assert_eq!(values(part).iter().map(|v| v.abs()).sum::<f32>(), 0.0);
            }
        }
        CellKind::Mlstm => {
            let (key, value) = (values(c.as_ref().unwrap()), values(&h));
            let memory = values(state.cell.as_ref().unwrap());
            let dh = hidden / heads;
            for row in 0..layers * batch {
                for head in 0..heads {
                    for i in 0..dh {
                        for j in 0..dh {
                            let expected = key[row * hidden + head * dh + i]
                                * value[row * hidden + head * dh + j];
                            let got = memory[((row * heads + head) * dh + i) * dh + j];
                            assert!((got - expected).abs() < 1e-6, "C[{row}, {head}, {i}, {j}]");
                        }
                    }
                }
            }
            assert_close(
                "n = key",
                state.normalizer.as_ref().unwrap(),
                c.as_ref().unwrap(),
                0.0,
            );
            let m = values(state.stabilizer.as_ref().unwrap());
            assert!(m.iter().all(|&m| m == 0.0), "m = 0");
        }
        _ => {}
    }
    // The state runs.
    let x = rng.tensor([batch, 2, 3], &device);
    let out = rnn.forward(x, Some(state), None);
    assert!(values(&out.output).iter().all(|v| v.is_finite()));
}

#[test]
fn initial_state_names_a_missing_or_misshapen_part() {
    let device = device();
    let rnn = RnnConfig::new(3, 4).init_kind(CellKind::Mlstm, &device);
    let h = Tensor::<3>::zeros([1, 2, 4], &device);
    let error = rnn.try_initial_state(h.clone(), None).unwrap_err();
    assert_eq!(
        error.to_string(),
        "state.cell: expected a cell state (mLSTM needs h and c), got None"
    );
    let error = rnn
        .try_initial_state(h.clone(), Some(Tensor::zeros([1, 2, 5], &device)))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "state.cell: expected shape [1, 2, 4] ([num_layers * num_directions, batch, hidden]), got [1, 2, 5]"
    );
    let gru = RnnConfig::new(3, 4).init_kind(CellKind::Gru, &device);
    let error = gru
        .try_initial_state(h.clone(), Some(h.clone()))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "state.cell: expected None (GRU has no cell state), got a tensor of shape [1, 2, 4]"
    );
}

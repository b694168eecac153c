//! Saving and loading with Burn's records.

use burn::module::Module;
use rnn_core::{
    Cell, CellState, Lstm, MinGruCell, MinLstmCell, MlstmCell, Rnn, RnnConfig, SlstmCell,
};
use rstest::rstest;

use crate::backend::device;
use crate::util::{Rng, assert_close};

/// With and without a projection of the hidden state (`proj_size`, whose `weight_hr` is saved
/// too).
#[rstest]
fn stacked_bidirectional_lstm_round_trips_through_a_file(#[values(0, 2)] proj_size: usize) {
    let device = device();
    let config = RnnConfig::new(3, 4)
        .with_proj_size(proj_size)
        .with_num_layers(2)
        .with_bidirectional(true);
    let saved: Lstm = config.init(&device);
    let x = Rng::new(5).tensor([2, 6, 3], &device);
    let before = saved.forward(x.clone(), None, Some(&[6, 4]));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lstm.bpk");
    saved.save_file(&path).expect("save");
    let fresh: Lstm = config.init(&device);
    let differs = fresh.forward(x.clone(), None, Some(&[6, 4]));
    assert!(
        crate::util::max_abs_diff(&differs.output, &before.output) > 1e-3,
        "a fresh init differs"
    );
    let loaded = fresh.try_load_file(&path).expect("load");
    let after = loaded.forward(x, None, Some(&[6, 4]));
    assert_close("output", &after.output, &before.output, 0.0);
    assert_close("h_n", &after.state.hidden, &before.state.hidden, 0.0);
    assert_close(
        "c_n",
        after.state.cell.as_ref().unwrap(),
        before.state.cell.as_ref().unwrap(),
        0.0,
    );
}

/// A stacked bidirectional network of the modern cells (two heads for the xLSTM cells) saves
/// and loads every parameter: the loaded network computes exactly what the saved one did.
fn round_trips<C: Cell>(num_heads: usize) {
    let device = device();
    let config = RnnConfig::new(3, 4)
        .with_num_layers(2)
        .with_bidirectional(true)
        .with_num_heads(num_heads);
    let saved: Rnn<C> = config.init(&device);
    let x = Rng::new(5).tensor([2, 6, 3], &device);
    let before = saved.forward(x.clone(), None, Some(&[6, 4]));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rnn.bpk");
    saved.save_file(&path).expect("save");
    let fresh: Rnn<C> = config.init(&device);
    let differs = fresh.forward(x.clone(), None, Some(&[6, 4]));
    // Any difference: the loaded network must then match to the bit. (An mLSTM this small, from
    // its initialisation, can give outputs within 1e-4 of another draw's: that threshold made
    // this check fail once in a while on wgpu, whose draws are not seeded.)
    assert!(
        crate::util::max_abs_diff(&differs.output, &before.output) > 0.0,
        "{}: a fresh init differs",
        C::NAME
    );
    let after = fresh
        .try_load_file(&path)
        .expect("load")
        .forward(x, None, Some(&[6, 4]));
    assert_close("output", &after.output, &before.output, 0.0);
    for (a, b) in after
        .state
        .into_parts()
        .into_iter()
        .zip(before.state.into_parts())
    {
        assert_close("final state", &a, &b, 0.0);
    }
}

#[rstest]
fn modern_cells_round_trip_through_a_file(
    #[values("mingru", "minlstm", "slstm", "mlstm")] cell: &str,
) {
    match cell {
        "mingru" => round_trips::<MinGruCell>(1),
        "minlstm" => round_trips::<MinLstmCell>(1),
        "slstm" => round_trips::<SlstmCell>(2),
        "mlstm" => round_trips::<MlstmCell>(2),
        _ => unreachable!(),
    }
}

/// An LSTM cell as it was before projections (no `weight_hr` field): what files saved by
/// earlier versions hold.
#[derive(Module, Debug)]
struct LstmCellWithoutProjection {
    weights: rnn_core::FusedWeights,
}

/// Files saved before `LstmCell` had its optional `weight_hr` still load, as a cell without a
/// projection.
#[test]
fn lstm_cells_saved_before_projections_load() {
    use rnn_core::{Cell, CellConfig, LstmCell};
    let device = device();
    let config = CellConfig::new(3, 4);
    let old = LstmCellWithoutProjection {
        weights: config.init::<LstmCell>(&device).weights,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cell.bpk");
    old.clone().save_file(&path).expect("save");
    let loaded = config
        .init::<LstmCell>(&device)
        .try_load_file(&path)
        .expect("an old file loads");
    assert!(loaded.weight_hr.is_none());
    let x = Rng::new(3).tensor([2, 3], &device);
    let state = loaded.zero_state(2, &device);
    let expected = {
        let cell = LstmCell {
            weights: old.weights.clone(),
            weight_hr: None,
        };
        cell.step(x.clone(), state.clone()).hidden
    };
    assert_close("h", &loaded.step(x, state).hidden, &expected, 0.0);
}

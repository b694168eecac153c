//! Parameters that do not fit their network (replaced through `weights_mut` with another
//! shape, dtype or device) are errors that name them, before any kernel reads them: never a
//! panic deep inside a kernel, never a hang.

use burn::module::Param;
use burn::tensor::Tensor;
use rnn_core::{Cell, CellConfig, Gru, GruCell, Lstm, LstmCell, Rnn, RnnConfig, RnnState};

use crate::backend::device;
use crate::util::{Builtin, other_device, other_dtypes, panic_message};

/// `rnn`'s error on a forward pass over `[batch, 5, input]` zeros, which `forward` panics with
/// too; and `try_step`'s, when the network is unidirectional.
fn forward_error<C: Builtin>(rnn: &Rnn<C>, batch: usize) -> String {
    let x = Tensor::<3>::zeros([batch, 5, rnn.input_size()], &device());
    let error = rnn
        .try_forward(x.clone(), None, None)
        .unwrap_err()
        .to_string();
    assert_eq!(panic_message(|| drop(rnn.forward(x, None, None))), error);
    if rnn.num_directions() == 1 {
        let x = Tensor::<2>::zeros([batch, rnn.input_size()], &device());
        assert_eq!(rnn.try_step(x, None).unwrap_err().to_string(), error);
    }
    error
}

fn zeros<const D: usize>(shape: [usize; D]) -> Param<Tensor<D>> {
    Param::from_tensor(Tensor::zeros(shape, &device()))
}

/// The reported case: a GRU's `weight_ih` with one row too few, over a batch of 1 (whose fused
/// run is split by hidden units among threads that meet every step).
#[test]
fn a_weight_with_a_wrong_shape_is_an_error_not_a_hang() {
    let mut gru: Gru = RnnConfig::new(8, 256).init(&device());
    gru.cells_mut()[0].weights_mut().weight_ih = zeros([767, 8]);
    assert_eq!(
        forward_error(&gru, 1),
        "cells[0].weights.weight_ih: expected shape [768, 8] (3 gates × hidden_size 256, \
         input_size 8), got [767, 8]"
    );
}

/// A change to a network's parameters.
type Break = dyn Fn(&mut Lstm);

/// Every parameter of every cell of a stacked, bidirectional, projecting LSTM is checked.
#[test]
fn every_parameter_of_every_cell_is_checked() {
    let lstm = || -> Lstm {
        RnnConfig::new(4, 6)
            .with_proj_size(3)
            .with_num_layers(2)
            .with_bidirectional(true)
            .init(&device())
    };
    let cases: [(&Break, &str); 7] = [
        (
            &|l: &mut Lstm| l.cells_mut()[1].weights_mut().weight_hh = zeros([24, 4]),
            "cells[1].weights.weight_hh: expected shape [24, 3] (4 gates × hidden_size 6, \
             hidden state size 3), got [24, 4]",
        ),
        (
            // Layer 1 reads both directions' projected states: 2 × 3 features.
            &|l: &mut Lstm| l.cells_mut()[2].weights_mut().weight_ih = zeros([24, 3]),
            "cells[2].weights.weight_ih: expected shape [24, 6] (4 gates × hidden_size 6, \
             input_size 6), got [24, 3]",
        ),
        (
            &|l: &mut Lstm| l.cells_mut()[3].weights_mut().bias_hh = Some(zeros([23])),
            "cells[3].weights.bias_hh: expected shape [24] (4 gates × hidden_size 6), got [23]",
        ),
        (
            &|l: &mut Lstm| l.cells_mut()[3].weights_mut().bias_ih = Some(zeros([6])),
            "cells[3].weights.bias_ih: expected shape [24] (4 gates × hidden_size 6), got [6]",
        ),
        (
            &|l: &mut Lstm| l.cells_mut()[0].weight_hr = Some(zeros([3, 5])),
            "cells[0].weight_hr: expected shape [3, 6] (proj_size 3 × hidden_size 6), got [3, 5]",
        ),
        (
            &|l: &mut Lstm| l.cells_mut()[0].weights_mut().weight_hh = zeros([22, 3]),
            "cells[0].weights.weight_hh: expected 4 gates × hidden_size rows (LSTM), got shape \
             [22, 3]",
        ),
        (
            // A cell that no longer projects, with weights of that shape: its kernel would
            // read initial states of the wrong width.
            &|l: &mut Lstm| {
                let mut cells = l.cells_mut();
                cells[1].weight_hr = None;
                cells[1].weights.weight_hh = zeros([24, 6]);
            },
            "cells[1].weight_hr: expected a projection of shape [3, 6] (h has 3 values), got None",
        ),
    ];
    for (break_it, expected) in cases {
        let mut lstm = lstm();
        break_it(&mut lstm);
        assert_eq!(forward_error(&lstm, 2), expected);
    }
}

/// A parameter of another dtype than the input (a half-precision record loads as such), for
/// each dtype the backend can hold.
#[test]
fn a_parameter_of_another_dtype_is_an_error() {
    let weight: Gru = RnnConfig::new(4, 8).init(&device());
    let value = weight.cells()[0].weights().weight_hh.val();
    for (dtype, cast) in other_dtypes(&value) {
        let mut gru: Gru = RnnConfig::new(4, 8).init(&device());
        gru.cells_mut()[0].weights_mut().weight_hh = Param::from_tensor(cast);
        assert_eq!(
            forward_error(&gru, 3),
            format!("cells[0].weights.weight_hh: expected dtype F32 (the input's), got {dtype:?}")
        );
    }
}

/// A parameter on another backend than the input.
#[test]
fn a_parameter_on_another_device_is_an_error() {
    let other = other_device();
    let mut gru: Gru = RnnConfig::new(4, 8).init(&device());
    gru.cells_mut()[0].weights_mut().bias_ih =
        Some(Param::from_tensor(Tensor::zeros([24], &other)));
    let error = forward_error(&gru, 3);
    assert!(
        error.starts_with("cells[0].weights.bias_ih: expected a tensor on the input's device"),
        "{error}"
    );
}

/// `Cell::try_step` (what decoders call on a single cell) checks its input, its state and the
/// cell's parameters; `step` panics with the same message.
#[test]
fn a_single_step_checks_its_arguments() {
    let error =
        |cell: &dyn Fn() -> LstmCell, x: [usize; 2], h: [usize; 2], c: Option<[usize; 2]>| {
            let cell = cell();
            let state = RnnState::with_cell(
                Tensor::zeros(h, &device()),
                c.map(|c| Tensor::zeros(c, &device())),
            );
            let x = Tensor::<2>::zeros(x, &device());
            let e = cell
                .try_step(x.clone(), state.clone())
                .unwrap_err()
                .to_string();
            assert_eq!(panic_message(|| drop(cell.step(x, state))), e);
            e
        };
    let lstm = || CellConfig::new(8, 16).init::<LstmCell>(&device());
    assert_eq!(
        error(&lstm, [2, 5], [2, 16], Some([2, 16])),
        "x: expected feature size 8 (last dimension), got 5"
    );
    assert_eq!(
        error(&lstm, [2, 8], [3, 16], Some([2, 16])),
        "state.hidden: expected shape [2, 16] ([batch, size]), got [3, 16]"
    );
    assert_eq!(
        error(&lstm, [2, 8], [2, 16], None),
        "state.cell: expected a cell state of shape [2, 16] (LSTM needs h and c), got None"
    );
    let broken = || {
        let mut cell = lstm();
        cell.weights.bias_ih = Some(zeros([63]));
        cell
    };
    assert_eq!(
        error(&broken, [2, 8], [2, 16], Some([2, 16])),
        "cell.weights.bias_ih: expected shape [64] (4 gates × hidden_size 16), got [63]"
    );
    let mut gru = CellConfig::new(8, 256).init::<GruCell>(&device());
    gru.weights.weight_ih = zeros([767, 8]);
    let state = RnnState::new(Tensor::zeros([1, 256], &device()));
    assert_eq!(
        gru.try_step(Tensor::zeros([1, 8], &device()), state)
            .unwrap_err()
            .to_string(),
        "cell.weights.weight_ih: expected shape [768, 8] (3 gates × hidden_size 256, \
         input_size 8), got [767, 8]"
    );
}

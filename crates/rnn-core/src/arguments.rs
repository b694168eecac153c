//! Checks of the arguments of a forward pass, shared by [`Rnn`](crate::Rnn),
//! [`Recurrent`](crate::Recurrent) and [`Bidirectional`](crate::Bidirectional): the input
//! sequence, the cells' parameters, an initial state, the lengths.

use burn::tensor::{Device, Tensor};

use crate::padding::Padding;
use crate::{Cell, CellState, Lengths, RnnError};

/// Checks a time-major `input: [seq, batch, features]` is non-empty and has `input_size`
/// features; `batch_first` says how the caller gave it (for the shape in the error).
pub(crate) fn check_input(
    input: &Tensor<3>,
    batch_first: bool,
    input_size: usize,
) -> Result<(), RnnError> {
    let [seq, batch, features] = input.dims();
    if seq == 0 || batch == 0 {
        let shape = if batch_first {
            [batch, seq, features]
        } else {
            [seq, batch, features]
        };
        return Err(RnnError::new(
            "input",
            "a non-empty batch and sequence",
            format!("shape {shape:?}"),
        ));
    }
    check_features(features, input_size)
}

/// Checks an input has `input_size` features (its last dimension).
pub(crate) fn check_features(features: usize, input_size: usize) -> Result<(), RnnError> {
    crate::validate::check_feature_size("input", input_size, features)
}

/// Checks that the parameters of `cells` (named `cells[k]` in errors) fit together and have
/// `input`'s dtype and device: the cells of the first `first_layer` read `input_size`
/// features, the others `later_input` (a layer's output). The sizes are the first cell's
/// (see [`Cell::parameter_sizes`]). A parameter replaced through [`Cell::weights_mut`] with another shape
/// (or a record loaded in another precision) is an error here, before any kernel reads it.
pub(crate) fn check_cells<C: Cell, const D: usize>(
    cells: &[&C],
    [input_size, first_layer]: [usize; 2],
    later_input: impl Fn(usize) -> usize,
    input: &Tensor<D>,
) -> Result<(), RnnError> {
    let (dtype, device) = (input.dtype(), input.device());
    let (hidden, state) = cells[0].parameter_sizes("cells[0]")?;
    for (k, cell) in cells.iter().enumerate() {
        let input = if k < first_layer {
            input_size
        } else {
            later_input(state)
        };
        let sizes = [input, hidden, state];
        cell.check_parameters(&format!("cells[{k}]"), sizes, dtype, &device)?;
    }
    Ok(())
}

/// Checks an initial state of one cell (parts `[batch, size]`) for `cell` and `batch`
/// examples of `input` (its dtype and device).
pub(crate) fn check_cell_state<C: Cell>(
    cell: &C,
    state: &C::State<2>,
    batch: usize,
    input: &Tensor<3>,
) -> Result<(), RnnError> {
    let shapes: Vec<([usize; 2], &str)> = cell
        .state_sizes()
        .into_iter()
        .map(|(size, name)| ([batch, size], name))
        .collect();
    let (dtype, device) = (input.dtype(), input.device());
    state.check(&shapes, "[batch, size]", C::NAME, dtype, &device)
}

/// The masks of `lengths` after checking they were made for `batch` sequences of `seq` steps
/// on `device`.
pub(crate) fn padding_of<'a>(
    lengths: Option<&'a Lengths>,
    batch: usize,
    seq: usize,
    device: &Device,
) -> Result<Option<&'a Padding>, RnnError> {
    match lengths {
        Some(l) => {
            l.check("lengths", batch, seq, device)?;
            Ok(l.padding())
        }
        None => Ok(None),
    }
}

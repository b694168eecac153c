//! Recurrent state: the hidden state, plus the cell state for LSTMs.

use burn::tensor::{Bool, Tensor};

/// The state carried between timesteps.
///
/// `hidden` is `h`; `cell` is the LSTM cell state `c` and is `None` for Elman and GRU cells.
///
/// - For a single cell step (`D = 2`): `hidden` and `cell` are `[batch, hidden]`.
/// - For a whole (stacked, possibly bidirectional) layer (`D = 3`): they are
///   `[num_layers * num_directions, batch, hidden]`, ordered like PyTorch's `h_n`/`c_n`:
///   layer 0 forward, layer 0 backward, layer 1 forward, ...
#[derive(Debug, Clone)]
pub struct RnnState<const D: usize> {
    /// Hidden state `h`.
    pub hidden: Tensor<D>,
    /// Cell state `c` (LSTM only).
    pub cell: Option<Tensor<D>>,
}

impl<const D: usize> RnnState<D> {
    /// A state with only a hidden part (Elman, GRU).
    pub fn new(hidden: Tensor<D>) -> Self {
        Self { hidden, cell: None }
    }

    /// An LSTM state `(h, c)`.
    pub fn lstm(hidden: Tensor<D>, cell: Tensor<D>) -> Self {
        Self {
            hidden,
            cell: Some(cell),
        }
    }

    /// Applies `f` to every part of the state.
    pub fn map<const D2: usize>(self, f: impl Fn(Tensor<D>) -> Tensor<D2>) -> RnnState<D2> {
        RnnState {
            hidden: f(self.hidden),
            cell: self.cell.map(f),
        }
    }

    /// Keeps `self` where `keep` is true and `other` where it is false, part by part.
    ///
    /// `keep` broadcasts against the parts (e.g. `[1, batch]` against `[hidden, batch]`). A
    /// selection, not a blend `old + (new - old) · keep`: a NaN or an infinity in the state
    /// that is not kept must not leak into the one that is (`inf · 0` is NaN).
    pub(crate) fn select(self, other: Self, keep: &Tensor<D, Bool>) -> Self {
        let pick = |new: Tensor<D>, old: Tensor<D>| {
            let keep = keep.clone().expand(old.dims());
            old.mask_where(keep, new)
        };
        Self {
            hidden: pick(self.hidden, other.hidden),
            cell: match (self.cell, other.cell) {
                (Some(new), Some(old)) => Some(pick(new, old)),
                _ => None,
            },
        }
    }
}

impl RnnState<2> {
    /// Stacks per-layer/direction states `[batch, hidden]` into `[n, batch, hidden]`.
    pub(crate) fn stack(states: Vec<RnnState<2>>) -> RnnState<3> {
        let has_cell = states.iter().all(|s| s.cell.is_some());
        let (hidden, cell): (Vec<_>, Vec<_>) =
            states.into_iter().map(|s| (s.hidden, s.cell)).unzip();
        RnnState {
            hidden: Tensor::stack(hidden, 0),
            cell: has_cell.then(|| Tensor::stack(cell.into_iter().flatten().collect(), 0)),
        }
    }
}

impl RnnState<3> {
    /// Splits `[n, batch, hidden]` into `n` states `[batch, hidden]`.
    pub(crate) fn unstack(self) -> Vec<RnnState<2>> {
        let split = |t: Tensor<3>| -> Vec<Tensor<2>> {
            t.iter_dim(0).map(|part| part.squeeze_dim(0)).collect()
        };
        let hidden = split(self.hidden);
        match self.cell {
            Some(cell) => hidden
                .into_iter()
                .zip(split(cell))
                .map(|(h, c)| RnnState::lstm(h, c))
                .collect(),
            None => hidden.into_iter().map(RnnState::new).collect(),
        }
    }
}

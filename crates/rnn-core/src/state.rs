//! Recurrent state: what a cell carries from step to step ([`CellState`]), and the state of
//! the built-in cells ([`RnnState`]: the hidden state, plus the cell state for LSTMs).

use burn::tensor::{Bool, Tensor};

use crate::RnnError;

/// The state a [`Cell`](crate::Cell) carries from step to step, as a fixed list of tensor
/// parts: its own type (`Cell::State`) names them; the drivers (sequence, stacking,
/// bidirectional, padding) handle any state through its parts.
///
/// `D` is the rank of every part: 2 for one cell (`[batch, size]`), 3 for a stacked network
/// (`[num_layers * num_directions, batch, size]`, PyTorch's `h_n` layout). The first part is
/// the cell's output at the step (`h`).
pub trait CellState<const D: usize>: Clone + std::fmt::Debug + Send + Sized {
    /// The parts, in the state's order (`h` first).
    fn into_parts(self) -> Vec<Tensor<D>>;

    /// The state from its parts, in the order of [`into_parts`](Self::into_parts).
    ///
    /// # Panics
    /// If there are not as many parts as the state has.
    fn from_parts(parts: Vec<Tensor<D>>) -> Self;

    /// Checks the state has a part for each of `expected` (the shape each part must have and
    /// the name of its last size, e.g. `"hidden"`), in order; `layout` describes the shape
    /// in errors (`"[batch, size]"` with `size` replaced by the name). `cell` names the cell
    /// in errors (`"LSTM"`).
    ///
    /// The default names the parts `state[k]`; a state type with named parts may say more.
    fn check(
        &self,
        expected: &[([usize; D], &str)],
        layout: &str,
        cell: &str,
    ) -> Result<(), RnnError> {
        let parts = self.clone().into_parts();
        if parts.len() != expected.len() {
            return Err(RnnError::new(
                "state",
                format!("{} parts ({cell})", expected.len()),
                format!("{} parts", parts.len()),
            ));
        }
        for (k, (part, (shape, size))) in parts.iter().zip(expected).enumerate() {
            if part.dims() != *shape {
                return Err(RnnError::new(
                    format!("state[{k}]"),
                    format!("shape {shape:?} ({})", layout.replace("size", size)),
                    format!("{:?}", part.dims()),
                ));
            }
        }
        Ok(())
    }

    /// The cell's output at the step: the first part, `h`. The default takes it from
    /// [`into_parts`](Self::into_parts); a state with a named `h` hands it over without
    /// collecting the others.
    fn output(&self) -> Tensor<D> {
        self.clone()
            .into_parts()
            .into_iter()
            .next()
            .expect("a state has a part")
    }

    /// Applies `f` to every part.
    fn map<const D2: usize, S: CellState<D2>>(self, f: impl Fn(Tensor<D>) -> Tensor<D2>) -> S {
        S::from_parts(self.into_parts().into_iter().map(f).collect())
    }
}

/// Implements [`CellState`] for a state struct `$state<const D>` whose fields are its parts,
/// in order, the first the output `h`; `check` names the parts by their fields
/// (`state.normalizer`). `$cell` names the cell in panics.
macro_rules! cell_state_of_fields {
    ($state:ident, $cell:literal, [$first:ident $(, $part:ident)*]) => {
        impl<const D: usize> $crate::CellState<D> for $state<D> {
            fn into_parts(self) -> Vec<Tensor<D>> {
                vec![self.$first $(, self.$part)*]
            }

            fn from_parts(parts: Vec<Tensor<D>>) -> Self {
                let count = [stringify!($first) $(, stringify!($part))*].len();
                assert_eq!(
                    parts.len(),
                    count,
                    "{} state: expected {count} parts, got {}",
                    $cell,
                    parts.len()
                );
                let mut parts = parts.into_iter();
                let mut next = || parts.next().expect("counted");
                Self {
                    $first: next(),
                    $($part: next(),)*
                }
            }

            fn output(&self) -> Tensor<D> {
                self.$first.clone()
            }

            /// Names the parts by their fields (`state.normalizer`).
            fn check(
                &self,
                expected: &[([usize; D], &str)],
                layout: &str,
                _cell: &str,
            ) -> Result<(), $crate::RnnError> {
                let parts = [
                    (stringify!($first), &self.$first)
                    $(, (stringify!($part), &self.$part))*
                ];
                $crate::state::check_named_parts(&parts, expected, layout)
            }
        }
    };
}
pub(crate) use cell_state_of_fields;

/// Checks each of a state's named `parts` has the shape `expected` says (the shape, and the
/// name of its last size in `layout`), naming the part in the error (`state.cell`).
pub(crate) fn check_named_parts<const D: usize>(
    parts: &[(&str, &Tensor<D>)],
    expected: &[([usize; D], &str)],
    layout: &str,
) -> Result<(), RnnError> {
    for ((name, part), (shape, size)) in parts.iter().zip(expected) {
        if part.dims() != *shape {
            return Err(RnnError::new(
                format!("state.{name}"),
                format!("shape {shape:?} ({})", layout.replace("size", size)),
                format!("{:?}", part.dims()),
            ));
        }
    }
    Ok(())
}

/// Keeps `new` where `keep` is true and `old` where it is false, part by part.
///
/// `keep` broadcasts against the parts (e.g. `[1, batch]` against `[hidden, batch]`). A
/// selection, not a blend `old + (new - old) · keep`: a NaN or an infinity in the state
/// that is not kept must not leak into the one that is (`inf · 0` is NaN).
pub(crate) fn select<const D: usize, S: CellState<D>>(new: S, old: S, keep: &Tensor<D, Bool>) -> S {
    let parts = new
        .into_parts()
        .into_iter()
        .zip(old.into_parts())
        .map(|(new, old)| {
            let keep = keep.clone().expand(old.dims());
            old.mask_where(keep, new)
        })
        .collect();
    S::from_parts(parts)
}

/// Stacks per-layer/direction states (parts `[batch, size]`) into one (parts
/// `[n, batch, size]`).
pub(crate) fn stack<S2: CellState<2>, S3: CellState<3>>(states: Vec<S2>) -> S3 {
    let mut parts: Vec<Vec<Tensor<2>>> = Vec::new();
    for state in states {
        for (k, part) in state.into_parts().into_iter().enumerate() {
            if parts.len() <= k {
                parts.push(Vec::new());
            }
            parts[k].push(part);
        }
    }
    S3::from_parts(parts.into_iter().map(|p| Tensor::stack(p, 0)).collect())
}

/// Splits a state with parts `[n, batch, size]` into `n` states (parts `[batch, size]`).
pub(crate) fn unstack<S3: CellState<3>, S2: CellState<2>>(state: S3) -> Vec<S2> {
    let mut states: Vec<Vec<Tensor<2>>> = Vec::new();
    for part in state.into_parts() {
        for (k, t) in part.iter_dim(0).enumerate() {
            if states.len() <= k {
                states.push(Vec::new());
            }
            states[k].push(t.squeeze_dim(0));
        }
    }
    states.into_iter().map(S2::from_parts).collect()
}

/// The state carried between timesteps by the built-in cells.
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

    /// Applies `f` to every part of the state ([`CellState::map`] to an `RnnState`).
    pub fn map<const D2: usize>(self, f: impl Fn(Tensor<D>) -> Tensor<D2>) -> RnnState<D2> {
        CellState::map(self, f)
    }
}

impl<const D: usize> CellState<D> for RnnState<D> {
    /// `h`, without copying the parts into a list: the step-by-step driver asks at every step.
    fn output(&self) -> Tensor<D> {
        self.hidden.clone()
    }

    /// `[hidden]`, or `[hidden, cell]`.
    fn into_parts(self) -> Vec<Tensor<D>> {
        std::iter::once(self.hidden).chain(self.cell).collect()
    }

    fn from_parts(parts: Vec<Tensor<D>>) -> Self {
        let mut parts = parts.into_iter();
        let hidden = parts.next().expect("a state has a hidden part");
        let cell = parts.next();
        assert!(parts.next().is_none(), "an RnnState has at most two parts");
        Self { hidden, cell }
    }

    fn check(
        &self,
        expected: &[([usize; D], &str)],
        layout: &str,
        cell: &str,
    ) -> Result<(), RnnError> {
        let shape = |name: &str, t: &Tensor<D>, (shape, size): ([usize; D], &str)| {
            if t.dims() != shape {
                return Err(RnnError::new(
                    name,
                    format!("shape {shape:?} ({})", layout.replace("size", size)),
                    format!("{:?}", t.dims()),
                ));
            }
            Ok(())
        };
        shape("state.hidden", &self.hidden, expected[0])?;
        match (&self.cell, expected.get(1)) {
            (Some(c), Some(&expected)) => shape("state.cell", c, expected),
            (None, None) => Ok(()),
            (None, Some((shape, _))) => Err(RnnError::new(
                "state.cell",
                format!("a cell state of shape {shape:?} ({cell} needs h and c)"),
                "None",
            )),
            (Some(c), None) => Err(RnnError::new(
                "state.cell",
                format!("None ({cell} has no cell state)"),
                format!("a tensor of shape {:?}", c.dims()),
            )),
        }
    }
}

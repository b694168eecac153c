//! Recurrent state: what a cell carries from step to step ([`CellState`]), and the state of
//! the built-in cells ([`RnnState`]: the hidden state, plus the cell state for LSTMs).

use burn::tensor::{Bool, DType, Device, Tensor};

use crate::RnnError;
use crate::validate::check_tensor;

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
    /// the name of its last size, e.g. `"hidden"`), in order, each of the input's `dtype` and
    /// on its `device`; `layout` describes the shape in errors (`"[batch, size]"` with `size`
    /// replaced by the name). `cell` names the cell in errors (`"LSTM"`).
    ///
    /// The default names the parts `state[k]`; a state type with named parts may say more.
    fn check(
        &self,
        expected: &[([usize; D], &str)],
        layout: &str,
        cell: &str,
        dtype: DType,
        device: &Device,
    ) -> Result<(), RnnError> {
        let parts = self.clone().into_parts();
        if parts.len() != expected.len() {
            return Err(RnnError::new(
                "state",
                format!("{} parts ({cell})", expected.len()),
                format!("{} parts", parts.len()),
            ));
        }
        let named = parts.iter().enumerate().map(|(k, p)| (PartIndex(k), p));
        check_parts(named, expected, layout, dtype, device)
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
                dtype: burn::tensor::DType,
                device: &burn::tensor::Device,
            ) -> Result<(), $crate::RnnError> {
                let parts = [
                    (concat!("state.", stringify!($first)), &self.$first)
                    $(, (concat!("state.", stringify!($part)), &self.$part))*
                ];
                $crate::state::check_parts(parts, expected, layout, dtype, device)
            }
        }
    };
}
pub(crate) use cell_state_of_fields;

/// Checks each of a state's named `parts` has the shape `expected` says (the shape, and the
/// name of its last size in `layout`), the input's `dtype` and `device`, naming the part in
/// the error (`state.cell`).
pub(crate) fn check_parts<'a, const D: usize>(
    parts: impl IntoIterator<Item = (impl core::fmt::Display, &'a Tensor<D>)>,
    expected: &[([usize; D], &str)],
    layout: &str,
    dtype: DType,
    device: &Device,
) -> Result<(), RnnError> {
    for ((name, part), (shape, size)) in parts.into_iter().zip(expected) {
        check_tensor(name, part, shape, SizeNamed { layout, size }, dtype, device)?;
    }
    Ok(())
}

/// A state part's `layout` with `size` standing for its last size's name (`[batch, hidden]`),
/// written out only in an error: the checks run at every decoding step.
struct SizeNamed<'a> {
    layout: &'a str,
    size: &'a str,
}

impl core::fmt::Display for SizeNamed<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.layout.replace("size", self.size))
    }
}

/// The name of a state's part `k` where the state type names none (`state[1]`).
struct PartIndex(usize);

impl core::fmt::Display for PartIndex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "state[{}]", self.0)
    }
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
    // One layer and direction's parts stay views (see `cat`): a fused layer's final state on
    // the GPU then shares the buffer of the layer's outputs, which it keeps alive while held.
    let stacked =
        |parts: Vec<Tensor<2>>| cat(parts.into_iter().map(|p| p.unsqueeze()).collect(), 0);
    S3::from_parts(parts.into_iter().map(stacked).collect())
}

/// `Tensor::cat` of `parts` along `dim`, without Burn's copy of a single part (one layer and
/// direction, a state of one part: the common cases), a kernel launch on a GPU.
pub(crate) fn cat<const D: usize>(mut parts: Vec<Tensor<D>>, dim: usize) -> Tensor<D> {
    if parts.len() == 1 {
        parts.remove(0)
    } else {
        Tensor::cat(parts, dim)
    }
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

/// The state carried between timesteps by the built-in cells, whichever the cell: what an
/// [`AnyRnn`](crate::AnyRnn) takes and returns.
///
/// `hidden` is `h`; `cell` is the LSTM's and the sLSTM's cell state `c`, or the mLSTM's
/// matrix memory `C`, and `None` for Elman, GRU, minGRU and minLSTM cells; `normalizer` and
/// `stabilizer` are the xLSTM cells' `n` and `m`, and `None` for the others. The cells of the
/// xLSTM have states of their own ([`SlstmState`](crate::SlstmState),
/// [`MlstmState`](crate::MlstmState)) with the same parts in the same order.
///
/// - For a single cell step (`D = 2`): the parts are `[batch, size]`.
/// - For a whole (stacked, possibly bidirectional) layer (`D = 3`): they are
///   `[num_layers * num_directions, batch, size]`, ordered like PyTorch's `h_n`/`c_n`:
///   layer 0 forward, layer 0 backward, layer 1 forward, ...
///
/// `size` is the hidden size, except for a projecting LSTM's `h` (`proj_size`) and the
/// mLSTM's memory (`hidden * hidden / num_heads`) and stabiliser (`num_heads`).
#[derive(Debug, Clone)]
pub struct RnnState<const D: usize> {
    /// Hidden state `h`.
    pub hidden: Tensor<D>,
    /// Cell state `c` (LSTM, sLSTM) or matrix memory `C` (mLSTM).
    pub cell: Option<Tensor<D>>,
    /// Normaliser state `n` (sLSTM, mLSTM).
    pub normalizer: Option<Tensor<D>>,
    /// Stabiliser state `m` (sLSTM, mLSTM).
    pub stabilizer: Option<Tensor<D>>,
}

impl<const D: usize> RnnState<D> {
    /// A state with only a hidden part (Elman, GRU, minGRU, minLSTM).
    pub fn new(hidden: Tensor<D>) -> Self {
        Self::with_cell(hidden, None)
    }

    /// An LSTM state `(h, c)`.
    pub fn lstm(hidden: Tensor<D>, cell: Tensor<D>) -> Self {
        Self::with_cell(hidden, Some(cell))
    }

    /// A state `h`, with a cell state `c` when `cell` is given (an LSTM's or not).
    pub fn with_cell(hidden: Tensor<D>, cell: Option<Tensor<D>>) -> Self {
        Self {
            hidden,
            cell,
            normalizer: None,
            stabilizer: None,
        }
    }

    /// An xLSTM cell's state `(h, c, n, m)` (for the mLSTM, `c` is its matrix memory).
    pub fn xlstm(
        hidden: Tensor<D>,
        cell: Tensor<D>,
        normalizer: Tensor<D>,
        stabilizer: Tensor<D>,
    ) -> Self {
        Self {
            hidden,
            cell: Some(cell),
            normalizer: Some(normalizer),
            stabilizer: Some(stabilizer),
        }
    }

    /// Applies `f` to every part of the state ([`CellState::map`] to an `RnnState`).
    pub fn map<const D2: usize>(self, f: impl Fn(Tensor<D>) -> Tensor<D2>) -> RnnState<D2> {
        CellState::map(self, f)
    }

    /// Checks the state has the `count` parts (1, 2 or 4) of a `cell`'s state, or names the
    /// first part missing (`shape(k)` describes part `k` in the error) or too many.
    pub(crate) fn check_part_count(
        &self,
        count: usize,
        cell: &str,
        shape: impl Fn(usize) -> String,
    ) -> Result<(), RnnError> {
        let needs = match count {
            1 => "h",
            2 => "h and c",
            _ => "h, c, n and m",
        };
        for (k, (name, what, part)) in self.named_parts().into_iter().enumerate() {
            match (part, k + 1 < count) {
                (None, true) => {
                    return Err(RnnError::new(
                        name,
                        format!("a {what}{} ({cell} needs {needs})", shape(k + 1)),
                        "None",
                    ));
                }
                (Some(t), false) => {
                    return Err(RnnError::new(
                        name,
                        format!("None ({cell} has no {what})"),
                        format!("a tensor of shape {:?}", t.dims()),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The parts after `h`: their names and what they are, as errors say, and the tensors.
    fn named_parts(&self) -> [(&'static str, &'static str, Option<&Tensor<D>>); 3] {
        [
            ("state.cell", "cell state", self.cell.as_ref()),
            ("state.normalizer", "normaliser", self.normalizer.as_ref()),
            ("state.stabilizer", "stabiliser", self.stabilizer.as_ref()),
        ]
    }
}

impl<const D: usize> CellState<D> for RnnState<D> {
    /// `h`, without copying the parts into a list: the step-by-step driver asks at every step.
    fn output(&self) -> Tensor<D> {
        self.hidden.clone()
    }

    /// `[hidden]`, `[hidden, cell]`, or `[hidden, cell, normalizer, stabilizer]`.
    fn into_parts(self) -> Vec<Tensor<D>> {
        std::iter::once(self.hidden)
            .chain(self.cell)
            .chain(self.normalizer)
            .chain(self.stabilizer)
            .collect()
    }

    /// From one, two or four parts.
    ///
    /// # Panics
    /// With three parts or more than four.
    fn from_parts(parts: Vec<Tensor<D>>) -> Self {
        let count = parts.len();
        let mut parts = parts.into_iter();
        let hidden = parts.next().expect("a state has a hidden part");
        match (parts.next(), parts.next(), parts.next()) {
            (cell, None, None) => Self::with_cell(hidden, cell),
            (Some(c), Some(n), Some(m)) if count == 4 => Self::xlstm(hidden, c, n, m),
            _ => panic!("an RnnState has 1, 2 or 4 parts, not {count}"),
        }
    }

    fn check(
        &self,
        expected: &[([usize; D], &str)],
        layout: &str,
        cell: &str,
        dtype: DType,
        device: &Device,
    ) -> Result<(), RnnError> {
        self.check_part_count(expected.len(), cell, |k| {
            format!(" of shape {:?}", expected[k].0)
        })?;
        let parts = self.clone().into_parts();
        let names = ["state.hidden"]
            .into_iter()
            .chain(self.named_parts().map(|p| p.0));
        check_parts(names.zip(&parts), expected, layout, dtype, device)
    }
}

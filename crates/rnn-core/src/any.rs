//! A recurrent network whose cell kind is chosen at run time, by configuration.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorCreationOptions};

use crate::{
    Cell, CellState, Elman, Gru, Lstm, MinGru, MinLstm, Mlstm, Rnn, RnnConfig, RnnError, RnnOutput,
    RnnState, Slstm,
};

/// Which recurrent cell a network uses.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Long short-term memory ([`LstmCell`](crate::LstmCell)).
    Lstm,
    /// Gated recurrent unit ([`GruCell`](crate::GruCell)).
    Gru,
    /// Elman RNN ([`ElmanCell`](crate::ElmanCell)), with the config's nonlinearity.
    Elman,
    /// minGRU ([`MinGruCell`](crate::MinGruCell)).
    MinGru,
    /// minLSTM ([`MinLstmCell`](crate::MinLstmCell)).
    MinLstm,
    /// xLSTM's sLSTM ([`SlstmCell`](crate::SlstmCell)), with the config's heads and forget
    /// gate.
    Slstm,
    /// xLSTM's mLSTM ([`MlstmCell`](crate::MlstmCell)), with the config's heads, forget gate
    /// and chunk size.
    Mlstm,
}

impl CellKind {
    /// Every cell kind.
    pub const ALL: [CellKind; 7] = [
        CellKind::Lstm,
        CellKind::Gru,
        CellKind::Elman,
        CellKind::MinGru,
        CellKind::MinLstm,
        CellKind::Slstm,
        CellKind::Mlstm,
    ];

    /// Whether the state has a cell state `c` of `hidden_size` values (LSTM, sLSTM), which a
    /// head can read like `h` (an encoder's summary).
    pub fn has_cell_state(self) -> bool {
        matches!(self, CellKind::Lstm | CellKind::Slstm)
    }

    /// Whether a state set from content ([`AnyRnn::initial_state`]) takes a second vector
    /// besides `h`: the cell state `c` (LSTM, sLSTM) or the mLSTM's key.
    pub fn takes_cell_content(self) -> bool {
        matches!(self, CellKind::Lstm | CellKind::Slstm | CellKind::Mlstm)
    }
}

/// An [`Lstm`], [`Gru`], [`Elman`], [`MinGru`], [`MinLstm`], [`Slstm`] or [`Mlstm`] picked by a
/// [`CellKind`] at run time, so models can take the cell kind as configuration:
/// `RnnConfig::new(8, 16).init_kind(CellKind::Gru, &device)`.
///
/// Every method forwards to the wrapped [`Rnn`]; see its documentation for shapes.
/// Whatever the cell, the state is an [`RnnState`]: `h`, plus `c` for the LSTM, and `c` (the
/// mLSTM's matrix memory), `n` and `m` for the xLSTM cells.
#[derive(Module, Debug)]
pub enum AnyRnn {
    /// An LSTM.
    Lstm(Lstm),
    /// A GRU.
    Gru(Gru),
    /// An Elman RNN.
    Elman(Elman),
    /// A minGRU.
    MinGru(MinGru),
    /// A minLSTM.
    MinLstm(MinLstm),
    /// An sLSTM.
    Slstm(Slstm),
    /// An mLSTM.
    Mlstm(Mlstm),
}

/// Runs `$body` with `$rnn` bound to the network an [`AnyRnn`] wraps, whatever its cell: the
/// one list of the variants, for this crate and for rnn-tasks' implementations over any cell.
#[doc(hidden)]
#[macro_export]
macro_rules! with_any_rnn {
    ($any:expr, $rnn:ident => $body:expr) => {
        match $any {
            $crate::AnyRnn::Lstm($rnn) => $body,
            $crate::AnyRnn::Gru($rnn) => $body,
            $crate::AnyRnn::Elman($rnn) => $body,
            $crate::AnyRnn::MinGru($rnn) => $body,
            $crate::AnyRnn::MinLstm($rnn) => $body,
            $crate::AnyRnn::Slstm($rnn) => $body,
            $crate::AnyRnn::Mlstm($rnn) => $body,
        }
    };
}

impl RnnConfig {
    /// Creates a network with the cell `kind`, or says which field is invalid.
    pub fn try_init_kind(&self, kind: CellKind, device: &Device) -> Result<AnyRnn, RnnError> {
        Ok(match kind {
            CellKind::Lstm => AnyRnn::Lstm(self.try_init(device)?),
            CellKind::Gru => AnyRnn::Gru(self.try_init(device)?),
            CellKind::Elman => AnyRnn::Elman(self.try_init(device)?),
            CellKind::MinGru => AnyRnn::MinGru(self.try_init(device)?),
            CellKind::MinLstm => AnyRnn::MinLstm(self.try_init(device)?),
            CellKind::Slstm => AnyRnn::Slstm(self.try_init(device)?),
            CellKind::Mlstm => AnyRnn::Mlstm(self.try_init(device)?),
        })
    }

    /// Creates a network with the cell `kind`.
    ///
    /// # Panics
    /// If the config is invalid; the message names the field.
    pub fn init_kind(&self, kind: CellKind, device: &Device) -> AnyRnn {
        self.try_init_kind(kind, device)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

impl AnyRnn {
    /// The cell kind.
    pub fn kind(&self) -> CellKind {
        match self {
            AnyRnn::Lstm(_) => CellKind::Lstm,
            AnyRnn::Gru(_) => CellKind::Gru,
            AnyRnn::Elman(_) => CellKind::Elman,
            AnyRnn::MinGru(_) => CellKind::MinGru,
            AnyRnn::MinLstm(_) => CellKind::MinLstm,
            AnyRnn::Slstm(_) => CellKind::Slstm,
            AnyRnn::Mlstm(_) => CellKind::Mlstm,
        }
    }

    /// Whether the state has a cell state `c` of `hidden_size` values (LSTM, sLSTM; see
    /// [`CellKind::has_cell_state`]).
    pub fn has_cell_state(&self) -> bool {
        self.kind().has_cell_state()
    }

    /// Size of the input features.
    pub fn input_size(&self) -> usize {
        with_any_rnn!(self, r => r.input_size())
    }

    /// Number of hidden units of each direction.
    pub fn hidden_size(&self) -> usize {
        with_any_rnn!(self, r => r.hidden_size())
    }

    /// Size of the projection of an LSTM's hidden state; 0 when none (see
    /// [`Rnn::proj_size`](crate::Rnn::proj_size)).
    pub fn proj_size(&self) -> usize {
        with_any_rnn!(self, r => r.proj_size())
    }

    /// Size of each direction's `h` (see [`Rnn::state_size`](crate::Rnn::state_size)).
    pub fn state_size(&self) -> usize {
        with_any_rnn!(self, r => r.state_size())
    }

    /// Size of the output features (see [`Rnn::output_size`](crate::Rnn::output_size)).
    pub fn output_size(&self) -> usize {
        with_any_rnn!(self, r => r.output_size())
    }

    /// Number of stacked layers.
    pub fn num_layers(&self) -> usize {
        with_any_rnn!(self, r => r.num_layers())
    }

    /// 2 when bidirectional, else 1.
    pub fn num_directions(&self) -> usize {
        with_any_rnn!(self, r => r.num_directions())
    }

    /// The all-zero state: parts `[num_layers * num_directions, batch, size]`, made as
    /// `options` say (a `&Device`, or `(&device, dtype)`).
    pub fn zero_state(
        &self,
        batch: usize,
        options: impl Into<TensorCreationOptions>,
    ) -> RnnState<3> {
        let options = options.into();
        with_any_rnn!(self, r => any_state(r.zero_state(batch, options)))
    }

    /// A state to start from, set from content vectors (a decoder's state projected from an
    /// encoder's summary, or learned): `hidden: [num_layers * num_directions, batch,
    /// state_size]` and, when the cell [takes one](CellKind::takes_cell_content), `cell:
    /// [num_layers * num_directions, batch, hidden]`, of `hidden`'s dtype and device.
    ///
    /// - Elman, GRU, minGRU, minLSTM: `h = hidden`; LSTM: `(h, c) = (hidden, cell)`.
    /// - sLSTM: `(h, c) = (hidden, cell)`, with `n = m = 0`: the first step then starts its
    ///   normaliser afresh (`m' = ĩ`), reading `c` at the scale `exp(0)`.
    /// - mLSTM, which does not read `h` back: its memory holds one association, the value
    ///   `hidden` stored under the key `cell`, as a step from the zero state with input gate 1
    ///   stores it: per head `C = k vᵀ`, `n = k`, `m = 0`; `h = hidden`.
    pub fn try_initial_state(
        &self,
        hidden: Tensor<3>,
        cell: Option<Tensor<3>>,
    ) -> Result<RnnState<3>, RnnError> {
        let (rows, batch) = (self.num_layers() * self.num_directions(), hidden.dims()[1]);
        let (size, state_size) = (self.hidden_size(), self.state_size());
        let content = RnnState::with_cell(hidden, cell);
        let parts = if self.kind().takes_cell_content() {
            2
        } else {
            1
        };
        content.check_part_count(parts, self.cell_name(), |_| String::new())?;
        let expected = [
            ([rows, batch, state_size], "state size"),
            ([rows, batch, size], "hidden"),
        ];
        // The cell content's dtype and device are the hidden part's, and so are the zeros'.
        let (dtype, device) = (content.hidden.dtype(), content.hidden.device());
        content.check(
            &expected[..parts],
            "[num_layers * num_directions, batch, size]",
            self.cell_name(),
            dtype,
            &device,
        )?;
        let zeros = |size: usize| Tensor::<3>::zeros([rows, batch, size], (&device, dtype));
        Ok(match self {
            AnyRnn::Slstm(_) => {
                let (h, c) = (content.hidden, content.cell.expect("checked"));
                RnnState::xlstm(h, c, zeros(size), zeros(size))
            }
            AnyRnn::Mlstm(r) => {
                let heads = r.cells()[0].weights.num_heads();
                let dh = size / heads;
                let (value, key) = (content.hidden, content.cell.expect("checked"));
                let per_head = |t: Tensor<3>| t.reshape([rows, batch, heads, dh]);
                let memory = per_head(key.clone()).unsqueeze_dim::<5>(4)
                    * per_head(value.clone()).unsqueeze_dim::<5>(3);
                RnnState::xlstm(
                    value,
                    memory.reshape([rows, batch, heads * dh * dh]),
                    key,
                    zeros(heads),
                )
            }
            _ => content,
        })
    }

    /// [`try_initial_state`](Self::try_initial_state).
    ///
    /// # Panics
    /// If the parts are missing or of the wrong shape; the message names the part.
    pub fn initial_state(&self, hidden: Tensor<3>, cell: Option<Tensor<3>>) -> RnnState<3> {
        self.try_initial_state(hidden, cell)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The cell's name, as errors say it (`"sLSTM"`).
    fn cell_name(&self) -> &'static str {
        fn name<C: Cell>(_: &Rnn<C>) -> &'static str {
            C::NAME
        }
        with_any_rnn!(self, r => name(r))
    }

    /// Runs the network over a sequence (see [`Rnn::forward`](crate::Rnn::forward)).
    ///
    /// # Panics
    /// On bad arguments, with the message of [`try_forward`](Self::try_forward).
    pub fn forward(
        &self,
        input: Tensor<3>,
        state: Option<RnnState<3>>,
        lengths: Option<&[usize]>,
    ) -> RnnOutput {
        self.try_forward(input, state, lengths)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`forward`](Self::forward), returning an error naming the bad argument.
    pub fn try_forward(
        &self,
        input: Tensor<3>,
        state: Option<RnnState<3>>,
        lengths: Option<&[usize]>,
    ) -> Result<RnnOutput, RnnError> {
        with_any_rnn!(self, r => {
            let out = r.try_forward(input, cell_state(r, state)?, lengths)?;
            Ok(any_output(out))
        })
    }

    /// Advances a unidirectional network by one step (see [`Rnn::step`](crate::Rnn::step)).
    ///
    /// # Panics
    /// On bad arguments, with the message of [`try_step`](Self::try_step).
    pub fn step(&self, input: Tensor<2>, state: Option<RnnState<3>>) -> (Tensor<2>, RnnState<3>) {
        self.try_step(input, state)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`step`](Self::step), returning an error naming the bad argument.
    pub fn try_step(
        &self,
        input: Tensor<2>,
        state: Option<RnnState<3>>,
    ) -> Result<(Tensor<2>, RnnState<3>), RnnError> {
        with_any_rnn!(self, r => {
            let (output, state) = r.try_step(input, cell_state(r, state)?)?;
            Ok((output, any_state(state)))
        })
    }
}

/// A network's output with its final state as an [`RnnState`].
fn any_output<S: CellState<3>>(output: RnnOutput<S>) -> RnnOutput {
    RnnOutput {
        output: output.output,
        state: any_state(output.state),
    }
}

/// A built-in cell's state as an [`RnnState`] (the same parts, in order).
fn any_state<S: CellState<3>>(state: S) -> RnnState<3> {
    RnnState::from_parts(state.into_parts())
}

/// `state` as the state of `rnn`'s cell, or an error naming the first part missing or too
/// many (the network checks their shapes).
fn cell_state<C: Cell>(
    rnn: &Rnn<C>,
    state: Option<RnnState<3>>,
) -> Result<Option<C::State<3>>, RnnError> {
    let Some(state) = state else { return Ok(None) };
    let count = rnn.cells()[0].state_sizes().len();
    state.check_part_count(count, C::NAME, |_| String::new())?;
    Ok(Some(C::State::from_parts(state.into_parts())))
}

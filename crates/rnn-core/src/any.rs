//! A recurrent network whose cell kind is chosen at run time, by configuration.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

use crate::{Elman, Gru, Lstm, MinGru, MinLstm, RnnConfig, RnnError, RnnOutput, RnnState};

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
}

/// An [`Lstm`], [`Gru`], [`Elman`], [`MinGru`] or [`MinLstm`] picked by a [`CellKind`] at run
/// time, so models can take
/// the cell kind as configuration: `RnnConfig::new(8, 16).init_kind(CellKind::Gru, &device)`.
///
/// Every method forwards to the wrapped [`Rnn`](crate::Rnn); see its documentation for shapes.
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
        }
    }

    /// Whether the state has a cell part (LSTM).
    pub fn has_cell_state(&self) -> bool {
        matches!(self, AnyRnn::Lstm(_))
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

    /// The all-zero state: parts `[num_layers * num_directions, batch, hidden]`.
    pub fn zero_state(&self, batch: usize, device: &Device) -> RnnState<3> {
        with_any_rnn!(self, r => r.zero_state(batch, device))
    }

    /// Runs the network over a sequence (see [`Rnn::forward`](crate::Rnn::forward)).
    pub fn forward(
        &self,
        input: Tensor<3>,
        state: Option<RnnState<3>>,
        lengths: Option<&[usize]>,
    ) -> RnnOutput {
        with_any_rnn!(self, r => r.forward(input, state, lengths))
    }

    /// [`forward`](Self::forward), returning an error naming the bad argument.
    pub fn try_forward(
        &self,
        input: Tensor<3>,
        state: Option<RnnState<3>>,
        lengths: Option<&[usize]>,
    ) -> Result<RnnOutput, RnnError> {
        with_any_rnn!(self, r => r.try_forward(input, state, lengths))
    }

    /// Advances a unidirectional network by one step (see [`Rnn::step`](crate::Rnn::step)).
    pub fn step(&self, input: Tensor<2>, state: Option<RnnState<3>>) -> (Tensor<2>, RnnState<3>) {
        with_any_rnn!(self, r => r.step(input, state))
    }

    /// [`step`](Self::step), returning an error naming the bad argument.
    pub fn try_step(
        &self,
        input: Tensor<2>,
        state: Option<RnnState<3>>,
    ) -> Result<(Tensor<2>, RnnState<3>), RnnError> {
        with_any_rnn!(self, r => r.try_step(input, state))
    }
}

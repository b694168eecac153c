//! Recurrent cells: one timestep of Elman, LSTM and GRU, with a shared trait the sequence
//! driver ([`Recurrent`](crate::Recurrent)) runs over time.

mod elman;
mod gru;
mod lstm;

pub use elman::{ElmanCell, Nonlinearity};
pub use gru::GruCell;
pub use lstm::LstmCell;

use burn::config::Config;
use burn::module::{Module, ModuleDisplay};
use burn::tensor::{Device, Tensor};

use crate::error::{RnnError, check_positive};
use crate::{CellKernel, FusedWeights, RnnState};

/// One timestep of a recurrent network.
///
/// A step is split in two so the sequence driver can hoist work out of the time loop:
/// [`project_input`](Cell::project_input) runs once on all timesteps at once, and
/// [`step_projected`](Cell::step_projected) does the per-step recurrence (one matmul of the
/// fused hidden weights with the hidden state plus pointwise gate math). Both work
/// feature-major (`[features, batch]`), so every gate is a contiguous block of rows.
/// Decoders that produce their inputs one step at a time use [`step`](Cell::step), which takes
/// and returns the usual batch-major tensors.
pub trait Cell: Module + ModuleDisplay + Sized {
    /// Number of fused gates: Elman 1, GRU 3, LSTM 4.
    const GATES: usize;
    /// Whether the state has a cell part `c` (LSTM).
    const HAS_CELL_STATE: bool;
    /// Short name used in messages (`"LSTM"`, `"GRU"`, `"Elman RNN"`).
    const NAME: &'static str;

    /// Creates the cell with PyTorch's default initialisation. `config` is already validated.
    fn from_config(config: &CellConfig, device: &Device) -> Self;

    /// The fused parameters.
    fn weights(&self) -> &FusedWeights;

    /// The fused parameters, mutably (to load or tie weights).
    fn weights_mut(&mut self) -> &mut FusedWeights;

    /// Projects inputs onto the gates, feature-major: `x: [n, input]` → `[GATES * hidden, n]`.
    ///
    /// `n` may be `seq * batch`: the driver projects all timesteps in one matmul.
    fn project_input(&self, x: Tensor<2>) -> Tensor<2>;

    /// Advances a feature-major state (parts `[hidden, batch]`) by one step from projected
    /// inputs `[GATES * hidden, batch]`; returns the next state, feature-major.
    fn step_projected(&self, projected: Tensor<2>, state: RnnState<2>) -> RnnState<2>;

    /// Advances the state by one step from raw inputs `x: [batch, input]`; `state` parts and
    /// the returned ones are `[batch, hidden]`.
    fn step(&self, x: Tensor<2>, state: RnnState<2>) -> RnnState<2> {
        let state = state.map(Tensor::transpose);
        self.step_projected(self.project_input(x), state)
            .map(Tensor::transpose)
    }

    /// The fused CPU kernel that computes this cell over a whole sequence, if any: the
    /// sequence driver then runs it instead of [`step_projected`](Cell::step_projected) on the
    /// ndarray and flex backends. `None` (the default) for cells without one.
    fn kernel(&self) -> Option<CellKernel> {
        None
    }

    /// Size of the input features.
    fn input_size(&self) -> usize {
        self.weights().input_size()
    }

    /// Size of the hidden state.
    fn hidden_size(&self) -> usize {
        self.weights().hidden_size()
    }

    /// The all-zero state for `batch` examples: parts `[batch, hidden]`.
    fn zero_state(&self, batch: usize, device: &Device) -> RnnState<2> {
        let zeros = || Tensor::zeros([batch, self.hidden_size()], device);
        RnnState {
            hidden: zeros(),
            cell: Self::HAS_CELL_STATE.then(zeros),
        }
    }
}

/// Configuration of a single cell, for [`Cell`] types: `CellConfig::new(4, 8).init::<LstmCell>(&device)`.
#[derive(Config, Debug)]
pub struct CellConfig {
    /// Size of the input features.
    pub input_size: usize,
    /// Size of the hidden state.
    pub hidden_size: usize,
    /// Whether the cell has the biases `bias_ih` and `bias_hh` (PyTorch's `bias`).
    #[config(default = true)]
    pub bias: bool,
    /// Nonlinearity of the Elman cell (PyTorch's `nonlinearity`); LSTM and GRU ignore it.
    #[config(default = "Nonlinearity::Tanh")]
    pub nonlinearity: Nonlinearity,
}

impl CellConfig {
    /// Checks the sizes are positive.
    pub fn validate(&self) -> Result<(), RnnError> {
        check_positive("input_size", self.input_size)?;
        check_positive("hidden_size", self.hidden_size)
    }

    /// Creates the cell, or says which field is invalid.
    pub fn try_init<C: Cell>(&self, device: &Device) -> Result<C, RnnError> {
        self.validate()?;
        Ok(C::from_config(self, device))
    }

    /// Creates the cell.
    ///
    /// # Panics
    /// If a size is 0 (see [`try_init`](Self::try_init)).
    pub fn init<C: Cell>(&self, device: &Device) -> C {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }
}

//! Recurrent cells: one timestep of Elman, LSTM and GRU, of the minimal RNNs (minGRU,
//! minLSTM) and of xLSTM's sLSTM and mLSTM, with a shared trait the sequence driver
//! ([`Recurrent`](crate::Recurrent)) runs over time.

pub(crate) mod elman;
pub(crate) mod gru;
pub(crate) mod lstm;
mod min;
pub(crate) mod mlstm;
pub(crate) mod slstm;
mod stepwise;

pub use elman::{ElmanCell, Nonlinearity};
pub use gru::GruCell;
pub use lstm::LstmCell;
pub use min::{
    InputWeights, MinCell, MinGates, MinGruCell, MinGruGates, MinLstmCell, MinLstmGates,
};
pub use mlstm::{MlstmCell, MlstmMemory, MlstmState, MlstmWeights, mlstm_chunkwise};
pub use slstm::{ForgetGate, SlstmCell, SlstmState, SlstmWeights};
pub use stepwise::Stepwise;

use burn::config::Config;
use burn::module::{Module, ModuleDisplay};
use burn::tensor::{Bool, DType, Device, Tensor, TensorCreationOptions};

use crate::error::RnnError;
use crate::fused::{self, Kernel};
use crate::recurrent::unstack_time;
use crate::state::select;
use crate::validate::{check_positive, check_proj_size};
use crate::{CellState, CellWeights};

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
    /// The state the cell carries from step to step, with parts of rank `D`
    /// ([`RnnState`](crate::RnnState) for the built-in cells: `h`, and an LSTM's `c`). A
    /// stacked network's state is `State<3>`, each part `[num_layers * num_directions, batch,
    /// size]`.
    type State<const D: usize>: CellState<D>;
    /// The cell's parameters ([`FusedWeights`](crate::FusedWeights) for the classic cells).
    type Weights: CellWeights;
    /// Number of fused gates, the rows per unit of the projected input: Elman 1, minGRU 2,
    /// GRU and minLSTM 3, LSTM and sLSTM 4, mLSTM 4 (`q, k, v, o`; its two gates per head
    /// come on top).
    const GATES: usize;
    /// Short name used in messages (`"LSTM"`, `"GRU"`, `"Elman RNN"`).
    const NAME: &'static str;

    /// Creates the cell with PyTorch's default initialisation. `config` is already validated.
    fn from_config(config: &CellConfig, device: &Device) -> Self;

    /// The parameters.
    fn weights(&self) -> &Self::Weights;

    /// The parameters, mutably (to load or tie weights).
    fn weights_mut(&mut self) -> &mut Self::Weights;

    /// Projects inputs onto the gates, feature-major: `x: [n, input]` →
    /// `[weights().gates_width(), n]` (`[GATES * hidden, n]`).
    ///
    /// `n` may be `seq * batch`: the driver projects all timesteps in one matmul.
    fn project_input(&self, x: Tensor<2>) -> Tensor<2>;

    /// Advances a feature-major state (each part `[size, batch]`, e.g. `h: [output, batch]`,
    /// `c: [hidden, batch]`) by one step from projected inputs `[GATES * hidden, batch]`;
    /// returns the next state, feature-major.
    fn step_projected(&self, projected: Tensor<2>, state: Self::State<2>) -> Self::State<2>;

    /// Advances a feature-major state over a whole projected sequence, time-major
    /// `projected: [steps, G * H, batch]`; where `keep: [steps, 1, batch]` is false (an
    /// example's padding) the state stays as it is. Returns the outputs `[steps, output,
    /// batch]` (the state's first part after each step) and the final state.
    ///
    /// The default runs [`step_projected`](Cell::step_projected) step by step (like candle's
    /// `RNN::seq`); a cell whose recurrence allows it overrides this with a form that runs all
    /// steps at once (the minGRU's parallel scan), which must compute the same thing.
    fn sequence_projected(
        &self,
        projected: Tensor<3>,
        state: Self::State<2>,
        keep: Option<Tensor<3, Bool>>,
    ) -> (Tensor<3>, Self::State<2>) {
        let [steps, _, batch] = projected.dims();
        let mut state = state;
        let mut outputs = Vec::with_capacity(steps);
        let inputs = unstack_time(projected);
        match keep {
            None => {
                for x_t in inputs {
                    state = self.step_projected(x_t, state);
                    outputs.push(state.output());
                }
            }
            Some(keep) => {
                // `[1, batch]` per step, ready to broadcast against the parts.
                let keeps = keep.reshape([steps, batch]).iter_dim(0);
                for (x_t, keep_t) in inputs.into_iter().zip(keeps) {
                    let next = self.step_projected(x_t, state.clone());
                    state = select(next, state, &keep_t);
                    outputs.push(state.output());
                }
            }
        }
        (Tensor::stack(outputs, 0), state)
    }

    /// The size of each part of the state per example, in the state's order, with the name of
    /// that size in messages: `[(output, "hidden")]`, or for an LSTM `[(output, "hidden" or
    /// "proj_size"), (hidden, "hidden")]`. The first part is the output `h`.
    fn state_sizes(&self) -> Vec<(usize, &'static str)>;

    /// Advances the state by one step from raw inputs `x: [batch, input]`; the parts of `state`
    /// and of the returned one are `[batch, size]` (`h: [batch, output]`, `c: [batch, hidden]`).
    ///
    /// # Panics
    /// On bad arguments, with the message of [`try_step`](Cell::try_step).
    fn step(&self, x: Tensor<2>, state: Self::State<2>) -> Self::State<2> {
        self.try_step(x, state).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`step`](Cell::step), returning an error naming the bad argument: `x` of another
    /// feature size or an empty batch, a state part of another shape (or a cell state `c`
    /// given to a cell without one, or missing), or parameters that do not fit together.
    fn try_step(&self, x: Tensor<2>, state: Self::State<2>) -> Result<Self::State<2>, RnnError> {
        check_step(self, &x, &state)?;
        Ok(step_unchecked(self, x, state))
    }

    /// The fused kernel of a built-in cell, which the sequence driver runs instead of
    /// [`step_projected`](Cell::step_projected) on the ndarray and flex backends, and on wgpu
    /// for the classic cells. Only this
    /// crate can name the returned type: a cell defined elsewhere keeps this default (`None`)
    /// and runs step by step, and can never be handed another cell's math.
    #[doc(hidden)]
    fn kernel(&self) -> Option<Kernel> {
        None
    }

    /// Size of the input features.
    fn input_size(&self) -> usize {
        self.weights().input_size()
    }

    /// Number of hidden units: the size of each gate (and of an LSTM's cell state `c`).
    fn hidden_size(&self) -> usize {
        self.weights().gates_width() / Self::GATES
    }

    /// Size of the hidden state `h`, which is also the cell's output (PyTorch's `H_out`):
    /// [`hidden_size`](Cell::hidden_size), or the projection size of a projecting LSTM.
    fn output_size(&self) -> usize {
        self.weights().state_size(Self::GATES)
    }

    /// Checks `config` asks for nothing this cell does not have, before
    /// [`from_config`](Cell::from_config). The default rejects a projection
    /// ([`CellConfig::proj_size`]), which only LSTM cells have, as in PyTorch, and the xLSTM
    /// cells' options ([`CellConfig::num_heads`], [`CellConfig::forget_gate`]).
    fn check_config(config: &CellConfig) -> Result<(), RnnError> {
        config.check_no_projection(Self::NAME)?;
        config.check_no_xlstm_options(Self::NAME)
    }

    /// The sizes `(hidden, state)` that the cell's parameters give: the units (from
    /// `weight_hh`'s `G * H` rows, see [`gate_units`]) and the size of `h` (the units, unless
    /// the cell projects its state). `name` names the cell in errors (`cells[1]`).
    fn parameter_sizes(&self, name: &str) -> Result<(usize, usize), RnnError> {
        let hidden = gate_units(self, name)?;
        Ok((hidden, hidden))
    }

    /// Checks the cell's parameters (`name` in errors: `cells[1]`) are those of a cell reading
    /// `input` features with `hidden` units and a hidden state `h` of `state` values, stored as
    /// `dtype` on `device`, so that no kernel or matmul reads past a tensor. The default checks
    /// [`weights`](Cell::weights); a cell with parameters outside them checks those too.
    fn check_parameters(
        &self,
        name: &str,
        [input, hidden, state]: [usize; 3],
        dtype: DType,
        device: &Device,
    ) -> Result<(), RnnError> {
        self.weights()
            .check(name, [Self::GATES, input, hidden, state], dtype, device)?;
        self.check_settings(name)
    }

    /// Checks the cell's settings besides its parameters (`name` in errors: `cells[1]`), which
    /// a public field lets a user change after the config was checked; none by default. The
    /// default [`check_parameters`](Cell::check_parameters) calls it.
    fn check_settings(&self, name: &str) -> Result<(), RnnError> {
        let _ = name;
        Ok(())
    }

    /// The all-zero state for `batch` examples: parts `[batch, size]` (`h: [batch, output]`,
    /// `c: [batch, hidden]`), made as `options` say: on a `&Device` in its default float
    /// dtype, or `(&device, dtype)` in another (a model of that dtype).
    fn zero_state(
        &self,
        batch: usize,
        options: impl Into<TensorCreationOptions>,
    ) -> Self::State<2> {
        let options = options.into();
        let parts = self.state_sizes().into_iter();
        Self::State::from_parts(
            parts
                .map(|(size, _)| Tensor::zeros([batch, size], options.clone()))
                .collect(),
        )
    }
}

/// Configuration of a single cell, for [`Cell`] types: `CellConfig::new(4, 8).init::<LstmCell>(&device)`.
#[derive(Config, Debug)]
pub struct CellConfig {
    /// Size of the input features.
    pub input_size: usize,
    /// Number of hidden units (the size of the hidden state, unless projected).
    pub hidden_size: usize,
    /// Size of the projection of an LSTM's hidden state (PyTorch's `proj_size`): when positive,
    /// `h = W_hr (σ(o) ⊙ tanh(c))` has this many values, fewer than `hidden_size`. 0 (the
    /// default): no projection. Only LSTM cells project.
    #[config(default = 0)]
    pub proj_size: usize,
    /// Whether the cell has the biases `bias_ih` and `bias_hh` (PyTorch's `bias`).
    #[config(default = true)]
    pub bias: bool,
    /// Nonlinearity of the Elman cell (PyTorch's `nonlinearity`); other cells ignore it.
    #[config(default = "Nonlinearity::Tanh")]
    pub nonlinearity: Nonlinearity,
    /// Number of heads of an sLSTM or mLSTM cell, which must divide `hidden_size`: an
    /// sLSTM's recurrence is block-diagonal, each head's units reading only that head's part of
    /// `h`; an mLSTM has a memory per head. Other cells have one (the default).
    #[config(default = 1)]
    pub num_heads: usize,
    /// The activation of an sLSTM or mLSTM cell's forget gates; other cells take the default
    /// ([`ForgetGate::Sigmoid`]).
    #[config(default = "ForgetGate::Sigmoid")]
    pub forget_gate: ForgetGate,
    /// Steps an mLSTM runs at once over a sequence (its chunkwise form: memory
    /// `O(chunk_size²)` per head and chunk); other cells ignore it.
    #[config(default = 64)]
    pub chunk_size: usize,
}

impl CellConfig {
    /// Checks the sizes are positive and the projection, if any, is smaller than the hidden
    /// size.
    pub fn validate(&self) -> Result<(), RnnError> {
        check_positive("input_size", self.input_size)?;
        check_positive("hidden_size", self.hidden_size)?;
        check_proj_size(self.proj_size, self.hidden_size)
    }

    /// Checks the config asks for no projection ([`proj_size`](Self::proj_size) 0), for a
    /// cell type (`cell`, in the error) that has none.
    pub fn check_no_projection(&self, cell: &str) -> Result<(), RnnError> {
        if self.proj_size > 0 {
            return Err(RnnError::new(
                "proj_size",
                format!("0 (only LSTM cells project their state, not {cell})"),
                self.proj_size.to_string(),
            ));
        }
        Ok(())
    }

    /// Checks [`num_heads`](Self::num_heads) is positive and divides the hidden size.
    pub fn check_heads(&self) -> Result<(), RnnError> {
        crate::validate::check_divisor("num_heads", self.num_heads, self.hidden_size, "hidden_size")
    }

    /// Checks the config leaves the xLSTM cells' options ([`num_heads`](Self::num_heads),
    /// [`forget_gate`](Self::forget_gate)) at their defaults, for a cell type (`cell`, in the
    /// error) that has neither.
    pub fn check_no_xlstm_options(&self, cell: &str) -> Result<(), RnnError> {
        if self.num_heads != 1 {
            return Err(RnnError::new(
                "num_heads",
                format!("1 (only sLSTM and mLSTM cells have heads, not {cell})"),
                self.num_heads.to_string(),
            ));
        }
        if self.forget_gate != ForgetGate::Sigmoid {
            return Err(RnnError::new(
                "forget_gate",
                format!("Sigmoid (only sLSTM and mLSTM cells choose it, not {cell})"),
                format!("{:?}", self.forget_gate),
            ));
        }
        Ok(())
    }

    /// Creates the cell, or says which field is invalid (also an option the cell type does
    /// not have).
    pub fn try_init<C: Cell>(&self, device: &Device) -> Result<C, RnnError> {
        self.validate()?;
        C::check_config(self)?;
        Ok(C::from_config(self, device))
    }

    /// Creates the cell.
    ///
    /// # Panics
    /// If the config is invalid (see [`try_init`](Self::try_init)).
    pub fn init<C: Cell>(&self, device: &Device) -> C {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// The units `H` that `cell`'s parameters give ([`CellWeights::units`]: for the classic cells,
/// `weight_hh`'s `G * H` rows); `name` names the cell in the error when they give none.
pub fn gate_units<C: Cell>(cell: &C, name: &str) -> Result<usize, RnnError> {
    cell.weights().units(C::GATES, name, C::NAME)
}

/// Checks the arguments of [`Cell::step`]: `x: [batch, input]` with `batch > 0`, `state`
/// `h: [batch, output]` (and `c: [batch, hidden]` for a cell that has one), and the cell's
/// parameters.
fn check_step<C: Cell>(cell: &C, x: &Tensor<2>, state: &C::State<2>) -> Result<(), RnnError> {
    let [batch, features] = x.dims();
    if batch == 0 {
        return Err(RnnError::new("x", "a non-empty batch", "batch size 0"));
    }
    let input = cell.weights().input_size();
    crate::validate::check_feature_size("x", input, features)?;
    let (hidden, output) = cell.parameter_sizes("cell")?;
    cell.check_parameters("cell", [input, hidden, output], x.dtype(), &x.device())?;
    // The sizes the parameters give: `h`'s from `parameter_sizes`, the others the cell's own.
    let sizes: Vec<([usize; 2], &str)> = cell
        .state_sizes()
        .into_iter()
        .enumerate()
        .map(|(k, (size, _))| ([batch, if k == 0 { output } else { size }], "size"))
        .collect();
    state.check(&sizes, "[batch, size]", C::NAME, x.dtype(), &x.device())
}

/// [`Cell::step`] without its checks, for callers that made them already (`Rnn::try_step`
/// checks every cell's parameters and the state once per step).
///
/// A cell with a fused kernel runs the step as the kernel's sequence of one where the kernel
/// runs (one operation, and one graph node under autodiff, instead of a dozen tensor
/// operations); other cells, and every cell on the other backends, run
/// [`project_input`](Cell::project_input) and [`step_projected`](Cell::step_projected).
pub(crate) fn step_unchecked<C: Cell>(cell: &C, x: Tensor<2>, state: C::State<2>) -> C::State<2> {
    let x = x.unsqueeze_dim::<3>(0);
    if let Some(kernel) = fused::kernel_for(cell, &x) {
        // One step: both layouts are the same.
        return fused::run(kernel, x, Some(state), None, fused::OutputLayout::TimeMajor).1;
    }
    let x = x.squeeze_dim(0);
    let state: C::State<2> = state.map(Tensor::transpose);
    cell.step_projected(cell.project_input(x), state)
        .map(Tensor::transpose)
}

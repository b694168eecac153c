//! The mLSTM cell of xLSTM (Beck et al. 2024, §2.3): a matrix memory written with key-value
//! outer products and read with queries, scalar exponential gates per head, no recurrence
//! through `h` — so a sequence runs in parallel (or chunk by chunk) as well as step by step.

mod memory;
mod state;
mod weights;

pub use memory::{MlstmMemory, mlstm_chunkwise};
pub use state::MlstmState;
pub use weights::MlstmWeights;
pub(crate) use weights::gate_biases;

use burn::module::Module;
use burn::tensor::activation::{log_sigmoid, sigmoid};
use burn::tensor::{Bool, Device, Tensor};

use super::{Cell, CellConfig, ForgetGate};
use crate::{CellWeights, RnnError};
use memory::NEVER;

/// The mLSTM cell, with `H` units in `heads` heads of `dh = H / heads` units: per head a
/// memory `C` (`dh × dh`), a normaliser `n` and a stabiliser `m`, updated from the input
/// alone ([`mlstm_chunkwise`] gives the equations, as the `xlstm` package's
/// `recurrent_step_stabilized_simple` computes them), and the paper's output gate:
///
/// ```text
/// [q, k, v, õ] = W x + b,   [ĩ, f̃] = W_g x + b_g       (ĩ, f̃ one per head)
/// h' = σ(õ) ⊙ C'ᵀq / (max(|n'·q|, exp(-m')) + ε)
/// ```
///
/// Over a sequence the cell runs its chunkwise form, [`CellConfig::chunk_size`] steps at a
/// time (the parallel form when a chunk covers the sequence); step by step
/// ([`Cell::step`]) for decoding. All forms compute the same values: the tests check them
/// against each other, the memory against the package's parallel, chunkwise and recurrent
/// forms, and the whole cell (outputs, final states, every gradient) against the equations
/// above around the package's recurrent step.
///
/// Shapes: `x: [batch, input]`; the state [`MlstmState`] (`h: [batch, H]`, the memory
/// flattened `[batch, heads * dh * dh]`, `n: [batch, H]`, `m: [batch, heads]`); parameters
/// [`MlstmWeights`]. Configure with [`CellConfig::num_heads`], [`CellConfig::forget_gate`]
/// (the package's is the sigmoid) and [`CellConfig::chunk_size`].
#[derive(Module, Debug)]
pub struct MlstmCell {
    /// The parameters.
    pub weights: MlstmWeights,
    /// The forget gates' activation.
    #[module(skip)]
    pub forget_gate: ForgetGate,
    /// Steps per chunk over a sequence.
    #[module(skip)]
    pub chunk_size: usize,
}

impl MlstmCell {
    /// Runs the cell over feature-major `projected: [steps, 4 * H + 2 * heads, batch]` from
    /// `state` (parts `[size, batch]`), `chunk_size` steps at a time; where `keep: [steps, 1,
    /// batch]` is false the state stays. Returns the outputs `[steps, H, batch]` and the state
    /// after each example's last kept step.
    fn run(
        &self,
        projected: Tensor<3>,
        state: MlstmState<2>,
        keep: Option<Tensor<3, Bool>>,
        chunk_size: usize,
    ) -> (Tensor<3>, MlstmState<2>) {
        let [steps, _, batch] = projected.dims();
        let (hidden, heads) = (self.hidden_size(), self.weights.num_heads());
        let dh = hidden / heads;
        let rows = |first: usize, count: usize| projected.clone().narrow(1, first, count);
        // `[steps, H, batch]` → `[batch, heads, steps, dh]`, and per head `[batch, heads,
        // steps, 1]`.
        let units = |k: usize| {
            rows(k * hidden, hidden)
                .reshape([steps, heads, dh, batch])
                .permute([3, 1, 0, 2])
        };
        let per_head = |k: usize| {
            rows(4 * hidden + k * heads, heads)
                .permute([2, 1, 0])
                .unsqueeze_dim::<4>(3)
        };
        let (i, f) = (per_head(0), per_head(1));
        let log_f = match self.forget_gate {
            ForgetGate::Sigmoid => log_sigmoid(f),
            ForgetGate::Exponential => f,
        };
        // A padded step writes nothing and forgets nothing.
        let (i, log_f) = match &keep {
            Some(keep) => {
                let padded = keep
                    .clone()
                    .bool_not()
                    .permute([2, 1, 0])
                    .unsqueeze_dim::<4>(3)
                    .expand([batch, heads, steps, 1]);
                (
                    i.mask_fill(padded.clone(), NEVER),
                    log_f.mask_fill(padded, 0.0),
                )
            }
            None => (i, log_f),
        };
        let memory = MlstmMemory {
            memory: state.memory.transpose().reshape([batch, heads, dh, dh]),
            normalizer: state.normalizer.transpose().reshape([batch, heads, dh, 1]),
            stabilizer: state.stabilizer.transpose().reshape([batch, heads, 1, 1]),
        };
        let (h, memory) =
            mlstm_chunkwise(units(0), units(1), units(2), i, log_f, memory, chunk_size);
        let output_gate = sigmoid(rows(3 * hidden, hidden));
        let h = h.permute([2, 1, 3, 0]).reshape([steps, hidden, batch]) * output_gate;
        let last = match keep {
            // Each example's output at its last kept step.
            Some(keep) => {
                let last = keep
                    .int()
                    .sum_dim(0)
                    .sub_scalar(1)
                    .expand([1, hidden, batch]);
                h.clone().gather(0, last)
            }
            None => h.clone().narrow(0, steps - 1, 1),
        };
        let state = MlstmState {
            hidden: last.reshape([hidden, batch]),
            memory: memory.memory.reshape([batch, heads * dh * dh]).transpose(),
            normalizer: memory.normalizer.reshape([batch, hidden]).transpose(),
            stabilizer: memory.stabilizer.reshape([batch, heads]).transpose(),
        };
        (h, state)
    }
}

impl Cell for MlstmCell {
    type State<const D: usize> = MlstmState<D>;
    type Weights = MlstmWeights;
    /// The per-unit rows: `q, k, v, o` (the two gates are per head).
    const GATES: usize = 4;
    const NAME: &'static str = "mLSTM";

    fn from_config(config: &CellConfig, device: &Device) -> Self {
        Self {
            weights: MlstmWeights::init(config, device),
            forget_gate: config.forget_gate,
            chunk_size: config.chunk_size,
        }
    }

    fn weights(&self) -> &MlstmWeights {
        &self.weights
    }

    fn weights_mut(&mut self) -> &mut MlstmWeights {
        &mut self.weights
    }

    /// Rejects a projection, heads that do not divide the hidden size, and an empty chunk.
    fn check_config(config: &CellConfig) -> Result<(), RnnError> {
        config.check_no_projection(Self::NAME)?;
        config.check_heads()?;
        crate::validate::check_positive("chunk_size", config.chunk_size)
    }

    /// A chunk of at least one step.
    fn check_settings(&self, name: &str) -> Result<(), RnnError> {
        crate::validate::check_positive(format_args!("{name}.chunk_size"), self.chunk_size)
    }

    /// From `weight`'s `4 * H` rows (the projected input also holds the gates' `2 * heads`).
    fn hidden_size(&self) -> usize {
        self.weights.state_size(Self::GATES)
    }

    fn project_input(&self, x: Tensor<2>) -> Tensor<2> {
        self.weights.project_input(x)
    }

    fn step_projected(&self, projected: Tensor<2>, state: MlstmState<2>) -> MlstmState<2> {
        self.run(projected.unsqueeze_dim(0), state, None, 1).1
    }

    /// The chunkwise form, [`chunk_size`](Self::chunk_size) steps at a time.
    fn sequence_projected(
        &self,
        projected: Tensor<3>,
        state: MlstmState<2>,
        keep: Option<Tensor<3, Bool>>,
    ) -> (Tensor<3>, MlstmState<2>) {
        self.run(projected, state, keep, self.chunk_size)
    }

    fn state_sizes(&self) -> Vec<(usize, &'static str)> {
        let (hidden, heads) = (self.hidden_size(), self.weights.num_heads());
        vec![
            (hidden, "hidden"),
            (hidden * hidden / heads, "hidden * hidden / num_heads"),
            (hidden, "hidden"),
            (heads, "num_heads"),
        ]
    }
}

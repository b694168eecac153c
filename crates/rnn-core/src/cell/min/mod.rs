//! The minimal RNNs of Feng et al. (2024), "Were RNNs All We Needed?": minGRU and minLSTM,
//! whose gates read the input only, so a sequence runs as one parallel scan
//! ([`Cell::sequence_projected`]) as well as step by step.

mod gru;
mod lstm;
mod weights;

pub use gru::MinGruGates;
pub use lstm::MinLstmGates;
pub use weights::InputWeights;

use std::fmt::Debug;
use std::marker::PhantomData;

use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Bool, Device, Tensor};

use super::{Cell, CellConfig};
use crate::RnnState;
use crate::scan::linear_recurrence;

/// A minimal RNN cell: `h' = a ⊙ h + b`, with `(a, b)` computed from the input alone by the
/// gates `K` ([`MinGruGates`], [`MinLstmGates`]). Use the aliases [`MinGruCell`] and
/// [`MinLstmCell`].
///
/// Shapes: `x: [batch, input]`, `h: [batch, hidden]`; parameters `weight: [G * hidden,
/// input]` and `bias: [G * hidden]` ([`InputWeights`]). There are no recurrent weights: over a
/// sequence, the cell computes every `(a_t, b_t)` at once and runs a parallel scan, equal to
/// stepping (checked by the tests), which stays for decoding ([`Cell::step`]).
#[derive(Module, Debug)]
pub struct MinCell<K: MinGates> {
    /// The gates' parameters.
    pub weights: InputWeights,
    #[module(skip)]
    gates: PhantomData<K>,
}

/// The minGRU cell (`torch` reference: `mingru-pytorch`'s `minGRU`).
pub type MinGruCell = MinCell<MinGruGates>;
/// The minLSTM cell (`torch` reference: `mingru-pytorch`'s `minLSTM`).
pub type MinLstmCell = MinCell<MinLstmGates>;

/// The gate math of a minimal RNN: how its `G` gates make the coefficients of
/// `h' = a ⊙ h + b`.
pub trait MinGates: Debug + Clone + Copy + Default + Send + Sync + 'static {
    /// Number of gates (rows of [`InputWeights::weight`] per unit).
    const GATES: usize;
    /// Name used in messages (`"minGRU"`).
    const NAME: &'static str;

    /// The coefficients `(a, b)` of each unit from the projected input `gates`, whose
    /// dimension `dim` holds the `G * hidden` gate rows (gate `k` in rows
    /// `k * hidden .. (k + 1) * hidden`); `a` and `b` have `hidden` rows there.
    fn coefficients<const D: usize>(
        gates: Tensor<D>,
        dim: usize,
        hidden: usize,
    ) -> (Tensor<D>, Tensor<D>);
}

impl<K: MinGates> Cell for MinCell<K> {
    type State<const D: usize> = RnnState<D>;
    type Weights = InputWeights;
    const GATES: usize = K::GATES;
    const NAME: &'static str = K::NAME;

    fn from_config(config: &CellConfig, device: &Device) -> Self {
        let (input, hidden) = (config.input_size, config.hidden_size);
        Self {
            weights: InputWeights::init(input, hidden, K::GATES, config.bias, device),
            gates: PhantomData,
        }
    }

    fn weights(&self) -> &InputWeights {
        &self.weights
    }

    fn weights_mut(&mut self) -> &mut InputWeights {
        &mut self.weights
    }

    fn project_input(&self, x: Tensor<2>) -> Tensor<2> {
        self.weights.project(x)
    }

    fn step_projected(&self, projected: Tensor<2>, state: RnnState<2>) -> RnnState<2> {
        let (a, b) = K::coefficients(projected, 0, self.hidden_size());
        RnnState::new(a * state.hidden + b)
    }

    /// The parallel scan: every step's coefficients at once, then
    /// `⌈log₂ steps⌉` rounds of elementwise work; a padded step keeps the state (`a = 1`,
    /// `b = 0`).
    fn sequence_projected(
        &self,
        projected: Tensor<3>,
        state: RnnState<2>,
        keep: Option<Tensor<3, Bool>>,
    ) -> (Tensor<3>, RnnState<2>) {
        let [steps, _, batch] = projected.dims();
        let hidden = self.hidden_size();
        let (a, b) = K::coefficients(projected, 1, hidden);
        let (a, b) = match keep {
            Some(keep) => {
                let padded = keep.bool_not().expand(a.dims());
                (a.mask_fill(padded.clone(), 1.0), b.mask_fill(padded, 0.0))
            }
            None => (a, b),
        };
        let h = linear_recurrence(a, b, state.hidden);
        let last = h.clone().narrow(0, steps - 1, 1).reshape([hidden, batch]);
        (h, RnnState::new(last))
    }

    fn state_sizes(&self) -> Vec<(usize, &'static str)> {
        vec![(self.hidden_size(), "hidden")]
    }
}

/// The minimal RNNs' activation of the candidate state, positive everywhere so that the
/// authors' log-space scan can take its log: `g(x) = x + ½` for `x ≥ 0`, `σ(x)` below.
fn g<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let positive = x.clone().greater_equal_elem(0.0);
    sigmoid(x.clone()).mask_where(positive, x + 0.5)
}

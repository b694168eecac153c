//! Any cell run step by step, whatever faster form it has: to compare the forms, or to run
//! the reference recurrence.

use burn::module::Module;
use burn::tensor::{DType, Device, Tensor};

use super::{Cell, CellConfig};
use crate::RnnError;

/// `C` without its fused kernel and without its own sequence form ([`Cell::sequence_projected`]:
/// the minimal cells' scan, the mLSTM's chunkwise form): every sequence runs through
/// [`Cell::step_projected`], one step at a time, on every backend. Everything else is `C`'s,
/// so `Rnn<Stepwise<C>>` computes what `Rnn<C>` computes, by the plain recurrence.
#[derive(Module, Debug)]
pub struct Stepwise<C: Cell> {
    /// The cell.
    pub cell: C,
}

impl<C: Cell> Stepwise<C> {
    /// `cell`, run step by step.
    pub fn new(cell: C) -> Self {
        Self { cell }
    }
}

impl<C: Cell> Cell for Stepwise<C> {
    type State<const D: usize> = C::State<D>;
    type Weights = C::Weights;
    const GATES: usize = C::GATES;
    const NAME: &'static str = C::NAME;

    fn from_config(config: &CellConfig, device: &Device) -> Self {
        Self::new(C::from_config(config, device))
    }

    fn weights(&self) -> &C::Weights {
        self.cell.weights()
    }

    fn weights_mut(&mut self) -> &mut C::Weights {
        self.cell.weights_mut()
    }

    fn project_input(&self, x: Tensor<2>) -> Tensor<2> {
        self.cell.project_input(x)
    }

    fn step_projected(&self, projected: Tensor<2>, state: C::State<2>) -> C::State<2> {
        self.cell.step_projected(projected, state)
    }

    fn state_sizes(&self) -> Vec<(usize, &'static str)> {
        self.cell.state_sizes()
    }

    fn input_size(&self) -> usize {
        self.cell.input_size()
    }

    fn hidden_size(&self) -> usize {
        self.cell.hidden_size()
    }

    fn output_size(&self) -> usize {
        self.cell.output_size()
    }

    fn check_config(config: &CellConfig) -> Result<(), RnnError> {
        C::check_config(config)
    }

    fn parameter_sizes(&self, name: &str) -> Result<(usize, usize), RnnError> {
        self.cell.parameter_sizes(name)
    }

    fn check_parameters(
        &self,
        name: &str,
        sizes: [usize; 3],
        dtype: DType,
        device: &Device,
    ) -> Result<(), RnnError> {
        self.cell.check_parameters(name, sizes, dtype, device)
    }
}

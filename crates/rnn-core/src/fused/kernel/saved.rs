//! What the backward pass needs from the forward pass.

use super::super::gate_math::GateMath;
use super::super::pool;
use super::super::split::Split;
use super::order::ExampleOrder;
use super::{Dims, OutputLayout};

/// The buffers a forward run keeps for its backward pass (pooled again when dropped).
pub(crate) struct Saved<K: GateMath> {
    pub cell: K,
    pub dims: Dims,
    pub split: Split,
    /// Permuted row → PyTorch row.
    pub perm: Vec<usize>,
    /// `[seq, batch, input]`, time-major.
    pub x: Vec<f32>,
    /// The weights with permuted rows.
    pub w_ih: Vec<f32>,
    pub w_hh: Vec<f32>,
    /// `[P, H]`, the projection of `h`; empty without one.
    pub w_hr: Vec<f32>,
    /// `[steps * batch]`: whether each step of each example is valid.
    pub keep: Vec<bool>,
    /// `[steps * batch, G * hidden]`, permuted columns: what the gate math left in the gates.
    pub gates: Vec<f32>,
    /// A copy of the packed output: `h` after each step (zero in the padding), then the
    /// final state's parts.
    pub h: Vec<f32>,
    /// The state's other parts after each step, `[steps * batch, hidden]` each.
    pub others: Vec<Vec<f32>>,
    /// With a projection, `h` before it after each step, `[steps * batch, hidden]`; empty
    /// without one.
    pub unprojected: Vec<f32>,
    /// The initial state, its parts flattened (`h: [batch, P]`, then `[batch, hidden]` each).
    pub initial: Vec<f32>,
    /// `[steps * batch, SAVED * hidden]`: what the gate math saved.
    pub values: Vec<f32>,
    /// The order of a padded batch's examples in the run (that of every per-example buffer
    /// above); `None`: the caller's.
    pub order: Option<ExampleOrder>,
    /// The layout of the outputs in the packed output, and so of their gradient.
    pub layout: OutputLayout,
}

impl<K: GateMath> Drop for Saved<K> {
    fn drop(&mut self) {
        let others = std::mem::take(&mut self.others);
        for buffer in [
            &mut self.x,
            &mut self.w_ih,
            &mut self.w_hh,
            &mut self.w_hr,
            &mut self.gates,
            &mut self.h,
            &mut self.unprojected,
            &mut self.initial,
            &mut self.values,
        ] {
            pool::give(std::mem::take(buffer));
        }
        others.into_iter().for_each(pool::give);
    }
}

impl<K: GateMath> std::fmt::Debug for Saved<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Saved")
            .field("cell", &self.cell)
            .field("dims", &self.dims)
            .finish()
    }
}

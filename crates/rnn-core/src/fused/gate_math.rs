//! What a cell contributes to the fused kernels: its pointwise gate math, forward and backward,
//! for one example at one step over a run of hidden units.
//!
//! The kernel driver ([`super::kernel`]) does everything else (the matmuls, the threads, the
//! padding, the saved buffers) for any cell that implements [`GateMath`]. The built-in cells
//! implement it next to their tensor step (`cell/lstm/kernel.rs`, ...); the trait is private
//! to the crate, so a cell defined elsewhere runs step by step and can never be handed another
//! cell's math.

use super::isa::{self, Vectorised};

/// Most parts a cell's state may have (the sLSTM's: `h`, `c`, `n` and `m`).
pub(crate) const MAX_STATE_PARTS: usize = 4;

/// The gate math of a cell with `GATES` gates, in the fused kernels.
///
/// Every slice of the step views holds one value per unit of the run (`units` values, the
/// units contiguous); a slice over several gates holds them gate by gate, in PyTorch's order.
pub(crate) trait GateMath: Copy + Send + Sync + std::fmt::Debug + 'static {
    /// Number of fused gates: the rows of `W_ih`, `W_hh` and the biases are `GATES * hidden`.
    const GATES: usize;
    /// Parts of the state carried from step to step, `hidden` values each: the hidden state
    /// `h` first (the output; `P` values with a projection), then the cell's others (LSTM:
    /// `c`).
    const STATE_PARTS: usize;
    /// The leading gates whose part of `b_hh` is purely additive: the kernel adds it to the
    /// input projection once per sequence. The others' (GRU's n gate, where `b_hh` is scaled
    /// by r) reach the gate math as [`ForwardStep::hidden_bias`].
    const ADDITIVE_HIDDEN_BIAS: usize;
    /// Values per unit the forward pass saves for the backward pass besides the gates and the
    /// states ([`ForwardStep::saved`]).
    const SAVED: usize = 0;
    /// Whether the gradient with respect to the hidden projections `W_hh h` differs from that
    /// with respect to the input projections (GRU: its n gate's is scaled by r). A cell whose
    /// `b_hh` is not all additive needs it (the gradient of `b_hh` is the hidden projections'),
    /// and its two gradients are then equal on the additive gates.
    const SEPARATE_HIDDEN_GRADIENT: bool = false;
    /// Whether the kernel may project this cell's `h` (`h = W_hr h'`, an LSTM's `proj_size`):
    /// only for math that reads neither `h` before the step nor `h'` after it (the LSTM, whose
    /// `h` reaches the gates only through `W_hh`). With a projection the step views' `prev[0]`
    /// is empty (and in the backward pass `next[0]` too), `next[0]` is `h'` to write, and
    /// `d_state[0]` is the gradient of `h'`.
    const PROJECTABLE: bool = false;

    /// The same gate math in the CubeCL kernels (`cube_forward` and `cube_backward` next to
    /// the cell's `GateMath`), if the cell has it.
    #[cfg(feature = "wgpu")]
    fn cube_math(self) -> Option<super::cube::CubeMath> {
        None
    }

    /// One step of the cell's gate math. `FMA`: compiled for a CPU with fused multiply-add
    /// (see [`super::math`]); implementations are `#[inline(always)]` so that they are
    /// compiled for those instructions inside [`forward`].
    fn forward<const FMA: bool>(self, step: ForwardStep<'_>);

    /// Backpropagates one valid step through the gate math.
    fn backward<const FMA: bool>(self, step: BackwardStep<'_>);
}

/// What the gate math of one example at one step reads and writes.
pub(crate) struct ForwardStep<'a> {
    /// In: the gates' input projections `W_ih x` (no bias), `[GATES * units]`. Out: the
    /// values the backward pass reads back as [`BackwardStep::gates`] (the activations).
    pub gates: &'a mut [f32],
    /// The gates' hidden projections `W_hh h` (no bias), `[GATES * units]`.
    pub hidden: &'a [f32],
    /// The bias of each gate's input projection: `b_ih` plus the additive part of `b_hh`,
    /// `[GATES * units]`.
    pub bias: &'a [f32],
    /// `b_hh` of the gates past [`GateMath::ADDITIVE_HIDDEN_BIAS`],
    /// `[(GATES - ADDITIVE_HIDDEN_BIAS) * units]`.
    pub hidden_bias: &'a [f32],
    /// The state before the step: [`GateMath::STATE_PARTS`] slices of `[units]` (the first
    /// empty with a projection, see [`GateMath::PROJECTABLE`]).
    pub prev: &'a [&'a [f32]],
    /// The state after the step, to write: as `prev`.
    pub next: &'a mut [&'a mut [f32]],
    /// `[SAVED * units]` to write for the backward pass.
    pub saved: &'a mut [f32],
}

/// What the backward pass through the gate math of one example at one valid step reads and
/// writes.
pub(crate) struct BackwardStep<'a> {
    /// What the forward pass left in [`ForwardStep::gates`], `[GATES * units]`.
    pub gates: &'a [f32],
    /// Out: the gradient with respect to the gates' input projections, `[GATES * units]`.
    pub d_input: &'a mut [f32],
    /// Out, for cells with [`GateMath::SEPARATE_HIDDEN_GRADIENT`] (`None` for the others):
    /// the gradient with respect to the gates' hidden projections.
    pub d_hidden: Option<&'a mut [f32]>,
    /// In: the gradient with respect to each part of the state after the step. Out: the part
    /// of the gradient with respect to the state before the step that does not go through
    /// `W_hh` (the kernel adds that part).
    pub d_state: &'a mut [&'a mut [f32]],
    /// The states before and after the step, as in [`ForwardStep`].
    pub prev: &'a [&'a [f32]],
    pub next: &'a [&'a [f32]],
    /// What the forward pass saved, `[SAVED * units]`.
    pub saved: &'a [f32],
}

/// `values` (`[G * units]`) split into its `G` gates of `units` values.
///
/// Split with `split_at` (not `array::from_fn`), so that the gates' lengths reach the cells'
/// loops as `units`: those loops then vectorise whole. From `from_fn` the compiler lost the
/// lengths, kept the loops' bounds checks and ran their last 16 units in scalar code
/// (BENCHMARKS.md, 2026-12-06 23:55).
#[inline(always)]
pub(crate) fn per_gate<const G: usize>(values: &[f32], units: usize) -> [&[f32]; G] {
    let mut rest = &values[..G * units];
    [(); G].map(|()| {
        let (gate, tail) = rest.split_at(units);
        rest = tail;
        gate
    })
}

/// [`per_gate`], mutably.
#[inline(always)]
pub(crate) fn per_gate_mut<const G: usize>(values: &mut [f32], units: usize) -> [&mut [f32]; G] {
    let mut rest = &mut values[..G * units];
    [(); G].map(|()| {
        let (gate, tail) = std::mem::take(&mut rest).split_at_mut(units);
        rest = tail;
        gate
    })
}

/// Runs `cell`'s gate math forward with [`kernel_isa`](super::isa::kernel_isa)'s
/// instructions.
pub(super) fn forward<K: GateMath>(cell: K, step: ForwardStep<'_>) {
    isa::run(Forward(cell, step))
}

/// Runs `cell`'s gate math backward with [`kernel_isa`](super::isa::kernel_isa)'s
/// instructions.
pub(super) fn backward<K: GateMath>(cell: K, step: BackwardStep<'_>) {
    isa::run(Backward(cell, step))
}

/// A cell's forward gate math on one step, as work for [`isa::run`].
struct Forward<'a, K>(K, ForwardStep<'a>);

impl<K: GateMath> Vectorised for Forward<'_, K> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(self) {
        self.0.forward::<FMA>(self.1)
    }
}

/// A cell's backward gate math on one step, as work for [`isa::run`].
struct Backward<'a, K>(K, BackwardStep<'a>);

impl<K: GateMath> Vectorised for Backward<'_, K> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(self) {
        self.0.backward::<FMA>(self.1)
    }
}

/// What the cells' own tests check of their gate math: every code path this CPU runs gives
/// the portable path's results, forward and backward, and the default entry points take the
/// path they should.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::fused::isa::tests::{LAST_RAN, expected_default};
    use crate::fused::isa::{KernelIsa, runnable};

    /// `n` values in `[low, high)`, a fixed sequence per `seed`.
    fn values(n: usize, seed: u64, (low, high): (f32, f32)) -> Vec<f32> {
        let mut s = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                low + (high - low) * ((s >> 40) as f32 / (1u64 << 24) as f32)
            })
            .collect()
    }

    /// The forward step's outputs (gates, next state's parts, saved values) for `units` units,
    /// with `isa`'s code (the default entry point when `None`).
    fn forward_outputs<K: GateMath>(
        cell: K,
        units: usize,
        isa: Option<KernelIsa>,
    ) -> Vec<Vec<f32>> {
        let (g, s) = (K::GATES, K::STATE_PARTS);
        let mut gates = values(g * units, 1, (-3.0, 3.0));
        let hidden = values(g * units, 2, (-3.0, 3.0));
        let bias = values(g * units, 3, (-1.0, 1.0));
        let hidden_bias = values((g - K::ADDITIVE_HIDDEN_BIAS) * units, 4, (-1.0, 1.0));
        // Positive states: a cell's normalizer divides.
        let prev: Vec<Vec<f32>> = (0..s)
            .map(|p| values(units, 5 + p as u64, (0.2, 1.7)))
            .collect();
        let mut next = vec![vec![0.0; units]; s];
        let mut saved = vec![0.0; K::SAVED * units];
        let prev_refs: Vec<&[f32]> = prev.iter().map(Vec::as_slice).collect();
        let mut next_refs: Vec<&mut [f32]> = next.iter_mut().map(Vec::as_mut_slice).collect();
        let step = ForwardStep {
            gates: &mut gates,
            hidden: &hidden,
            bias: &bias,
            hidden_bias: &hidden_bias,
            prev: &prev_refs,
            next: &mut next_refs,
            saved: &mut saved,
        };
        match isa {
            // SAFETY: `runnable` gives only instruction sets the CPU runs.
            Some(isa) => unsafe { isa::run_with(isa, Forward(cell, step)) },
            None => forward(cell, step),
        }
        let mut out = vec![gates, saved];
        out.extend(next);
        out
    }

    /// The backward step's outputs (input and hidden projections' gradients, the state's
    /// gradient) for the portable forward step's values, with `isa`'s code (the default
    /// entry point when `None`).
    fn backward_outputs<K: GateMath>(
        cell: K,
        units: usize,
        isa: Option<KernelIsa>,
    ) -> Vec<Vec<f32>> {
        let (g, s) = (K::GATES, K::STATE_PARTS);
        let forward = forward_outputs(cell, units, Some(KernelIsa::Portable));
        let (gates, saved, next) = (&forward[0], &forward[1], &forward[2..]);
        let prev: Vec<Vec<f32>> = (0..s)
            .map(|p| values(units, 5 + p as u64, (0.2, 1.7)))
            .collect();
        let mut d_input = vec![0.0; g * units];
        let mut d_hidden = vec![0.0; g * units];
        let mut d_state: Vec<Vec<f32>> = (0..s)
            .map(|p| values(units, 20 + p as u64, (-1.0, 1.0)))
            .collect();
        let prev_refs: Vec<&[f32]> = prev.iter().map(Vec::as_slice).collect();
        let next_refs: Vec<&[f32]> = next.iter().map(Vec::as_slice).collect();
        let mut d_state_refs: Vec<&mut [f32]> = d_state.iter_mut().map(Vec::as_mut_slice).collect();
        let step = BackwardStep {
            gates,
            d_input: &mut d_input,
            d_hidden: K::SEPARATE_HIDDEN_GRADIENT.then_some(&mut d_hidden[..]),
            d_state: &mut d_state_refs,
            prev: &prev_refs,
            next: &next_refs,
            saved,
        };
        match isa {
            // SAFETY: `runnable` gives only instruction sets the CPU runs.
            Some(isa) => unsafe { isa::run_with(isa, Backward(cell, step)) },
            None => backward(cell, step),
        }
        let mut out = vec![d_input, d_hidden];
        out.extend(d_state);
        out
    }

    fn assert_close(what: &str, got: &[Vec<f32>], want: &[Vec<f32>]) {
        for (k, (got, want)) in got.iter().zip(want).enumerate() {
            for (j, (a, e)) in got.iter().zip(want).enumerate() {
                assert!(
                    (a - e).abs() <= 1e-5 * e.abs().max(1.0),
                    "{what}, output {k}, value {j}: {a} vs {e}"
                );
            }
        }
    }

    /// Every code path against the portable one on run lengths that are and are not
    /// multiples of the vector widths, and the default entry points' path.
    pub(crate) fn every_path_computes_the_same<K: GateMath>(cell: K) {
        for units in [1, 7, 8, 16, 17, 33, 70] {
            let forward = forward_outputs(cell, units, Some(KernelIsa::Portable));
            let backward = backward_outputs(cell, units, Some(KernelIsa::Portable));
            for isa in runnable() {
                let what = format!("{cell:?}, {units} units, {isa:?}");
                let got = forward_outputs(cell, units, Some(isa));
                assert_eq!(LAST_RAN.get(), Some(isa));
                assert_close(&format!("{what} forward"), &got, &forward);
                let got = backward_outputs(cell, units, Some(isa));
                assert_eq!(LAST_RAN.get(), Some(isa));
                assert_close(&format!("{what} backward"), &got, &backward);
            }
            forward_outputs(cell, units, None);
            assert_eq!(LAST_RAN.get(), Some(expected_default()), "forward's path");
            backward_outputs(cell, units, None);
            assert_eq!(LAST_RAN.get(), Some(expected_default()), "backward's path");
        }
    }
}

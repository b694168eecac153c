//! What a cell contributes to the fused kernels: its pointwise gate math, forward and backward,
//! for one example at one step over a run of hidden units.
//!
//! The kernel driver ([`super::kernel`]) does everything else (the matmuls, the threads, the
//! padding, the saved buffers) for any cell that implements [`GateMath`]. The built-in cells
//! implement it next to their tensor step (`cell/lstm/kernel.rs`, ...); the trait is private
//! to the crate, so a cell defined elsewhere runs step by step and can never be handed another
//! cell's math.

#[cfg(target_arch = "x86_64")]
use super::math::has_avx2_fma;

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
    /// `h` first (the output), then the cell's others (LSTM: `c`).
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
    /// The state before the step: [`GateMath::STATE_PARTS`] slices of `[units]`.
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
#[inline(always)]
pub(crate) fn per_gate<const G: usize>(values: &[f32], units: usize) -> [&[f32]; G] {
    std::array::from_fn(|k| &values[k * units..][..units])
}

/// [`per_gate`], mutably.
#[inline(always)]
pub(crate) fn per_gate_mut<const G: usize>(values: &mut [f32], units: usize) -> [&mut [f32]; G] {
    let mut rest = &mut values[..G * units];
    std::array::from_fn(|_| {
        let (gate, tail) = std::mem::take(&mut rest).split_at_mut(units);
        rest = tail;
        gate
    })
}

/// Runs `cell`'s gate math forward, with fused multiply-adds where the CPU has them.
pub(super) fn forward<K: GateMath>(cell: K, step: ForwardStep<'_>) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        #[target_feature(enable = "avx2,fma")]
        fn avx2<K: GateMath>(cell: K, step: ForwardStep<'_>) {
            cell.forward::<true>(step)
        }
        // SAFETY: the CPU has the features `avx2` is compiled for (checked above); it has no
        // other requirement.
        return unsafe { avx2(cell, step) };
    }
    cell.forward::<false>(step)
}

/// Runs `cell`'s gate math backward, with fused multiply-adds where the CPU has them.
pub(super) fn backward<K: GateMath>(cell: K, step: BackwardStep<'_>) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        #[target_feature(enable = "avx2,fma")]
        fn avx2<K: GateMath>(cell: K, step: BackwardStep<'_>) {
            cell.backward::<true>(step)
        }
        // SAFETY: as in `forward`.
        return unsafe { avx2(cell, step) };
    }
    cell.backward::<false>(step)
}

//! The Elman cell's gate math in the fused CPU kernels (the same equation as
//! [`super::ElmanCell`]'s tensor step), forward and backward.

use super::Nonlinearity;
use crate::fused::gate_math::{BackwardStep, ForwardStep, GateMath};
use crate::fused::math::tanh;

/// The Elman cell's math: one gate, state `h`, and its nonlinearity.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ElmanMath(pub Nonlinearity);

impl GateMath for ElmanMath {
    const GATES: usize = 1;
    const STATE_PARTS: usize = 1;
    const ADDITIVE_HIDDEN_BIAS: usize = 1;

    #[cfg(feature = "wgpu")]
    fn cube_math(self) -> Option<crate::fused::cube::CubeMath> {
        use crate::fused::cube::CubeMath;
        Some(match self.0 {
            Nonlinearity::Tanh => CubeMath::ElmanTanh,
            Nonlinearity::Relu => CubeMath::ElmanRelu,
        })
    }

    #[inline(always)]
    fn forward<const FMA: bool>(self, step: ForwardStep<'_>) {
        let tanh = tanh::<FMA>;
        let [h_next] = step.next else {
            unreachable!("an Elman state has one part")
        };
        let n = h_next.len();
        let h_next = &mut h_next[..n];
        let (g, hh, bias) = (&step.gates[..n], &step.hidden[..n], &step.bias[..n]);
        for j in 0..n {
            let pre = g[j] + hh[j] + bias[j];
            h_next[j] = match self.0 {
                Nonlinearity::Tanh => tanh(pre),
                // Not `pre.max(0.0)`, which turns NaN into 0: PyTorch's relu keeps it.
                Nonlinearity::Relu => {
                    if pre < 0.0 {
                        0.0
                    } else {
                        pre
                    }
                }
            };
        }
    }

    #[inline(always)]
    fn backward<const FMA: bool>(self, step: BackwardStep<'_>) {
        let [dh] = step.d_state else {
            unreachable!("an Elman state has one part")
        };
        let n = dh.len();
        let (dh, d, h) = (&mut dh[..n], &mut step.d_input[..n], &step.next[0][..n]);
        for j in 0..n {
            let slope = match self.0 {
                Nonlinearity::Tanh => 1.0 - h[j] * h[j],
                Nonlinearity::Relu => (h[j] > 0.0) as u8 as f32,
            };
            d[j] = dh[j] * slope;
            dh[j] = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Nonlinearity;

    #[test]
    fn every_code_path_computes_the_same() {
        for nonlinearity in [Nonlinearity::Tanh, Nonlinearity::Relu] {
            crate::fused::gate_math::tests::every_path_computes_the_same(super::ElmanMath(
                nonlinearity,
            ));
        }
    }
}

/// The gate math in the CubeCL kernels (see `fused::cube::recurrence`), for one example and
/// unit.
#[cfg(feature = "wgpu")]
pub(crate) mod cube {
    use cubecl::prelude::*;

    use crate::fused::cube::recurrence::tanh;

    /// [`ElmanMath`](crate::cell::elman::kernel::ElmanMath)'s `GateMath::forward` for one example
    /// and unit in the CubeCL kernels (see `fused::cube::recurrence`): `tanh` where `saturating`,
    /// else ReLU.
    #[cube]
    pub(crate) fn forward(
        gates: &mut Array<f32>,
        hidden: &Array<f32>,
        state: &mut Array<f32>,
        #[comptime] saturating: bool,
    ) -> f32 {
        let pre = gates[0] + hidden[0];
        let mut h = pre;
        if saturating {
            h = tanh(pre);
        } else if pre < 0.0 {
            h = 0.0;
        }
        state[0] = h;
        0.0
    }

    /// [`ElmanMath`](crate::cell::elman::kernel::ElmanMath)'s `GateMath::backward` for one example
    /// and unit in the CubeCL kernels.
    #[cube]
    pub(crate) fn backward(
        next: &Array<f32>,
        d_state: &mut Array<f32>,
        d_input: &mut Array<f32>,
        d_hidden: &mut Array<f32>,
        #[comptime] saturating: bool,
    ) {
        let h = next[0];
        let mut slope = 0.0;
        if saturating {
            slope = 1.0 - h * h;
        } else if h > 0.0 {
            slope = 1.0;
        }
        d_input[0] = d_state[0] * slope;
        d_hidden[0] = d_input[0];
        d_state[0] = 0.0;
    }
}

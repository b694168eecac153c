//! Reductions of a row in independent vector lanes: a float sum or maximum over one
//! accumulator is a chain the compiler must keep in order; over [`LANES`] of them it is a
//! vector. For the row-wise host operations ([`super::log_softmax`], [`super::cross_entropy`]),
//! called inside their [`Vectorised`](super::isa::Vectorised) work so that they are compiled
//! for its instruction set.

use super::math;

/// Independent accumulators per row: enough for the compiler to keep a vector of them.
pub(super) const LANES: usize = 16;

/// `Σ e^(v - shift)` over `row` (with `EXP`; else `Σ v`), summed in [`LANES`] lanes. Loops,
/// not closures: a closure the compiler leaves out of line loses the caller's vector
/// instructions, and `mul_add` becomes a library call.
#[inline(always)]
pub(super) fn lane_sum<const FMA: bool, const EXP: bool>(row: &[f32], shift: f32) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for chunk in &mut chunks {
        for i in 0..LANES {
            lanes[i] += if EXP {
                math::exp::<FMA>(chunk[i] - shift)
            } else {
                chunk[i]
            };
        }
    }
    let mut total = 0.0;
    for &v in chunks.remainder() {
        total += if EXP { math::exp::<FMA>(v - shift) } else { v };
    }
    lanes.iter().sum::<f32>() + total
}

/// The largest value of `row` (NaN values are skipped; `-inf` for an empty row).
#[inline(always)]
pub(super) fn lane_max(row: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for chunk in &mut chunks {
        for i in 0..LANES {
            lanes[i] = lanes[i].max(chunk[i]);
        }
    }
    let mut max = f32::NEG_INFINITY;
    for &v in chunks.remainder().iter().chain(&lanes) {
        max = max.max(v);
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each row's maximum and sum, whatever its length against the lanes.
    #[test]
    fn lane_reductions_cover_every_value() {
        for n in [0, 1, 15, 16, 17, 40] {
            let row: Vec<f32> = (0..n).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(lane_max(&row), max, "max of {n}");
            assert_eq!(lane_sum::<false, false>(&row, 0.0), row.iter().sum::<f32>());
        }
    }
}

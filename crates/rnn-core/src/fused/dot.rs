//! The product of a few state rows with weights read in place, each output column's `k`
//! weights contiguous (a row of PyTorch's `[out, in]` matrices): dot products, a tile of rows ×
//! columns in registers at a time.
//!
//! A decoder's step multiplies its state by each weight matrix once. `gemm` packs the weights
//! for two rows or more, a copy of the whole matrix per step, which made a step of 2 to 16
//! examples cost 4 to 7 times a step of one; here each weight is read once per tile of rows,
//! from where it is. On the AVX paths each output is one accumulator summed in the same order
//! whatever the tile, so up to [`MOST_ROWS`] rows a value depends neither on the batch nor on
//! how the columns are split (the portable path, and more rows, go through `gemm`).

use super::isa::{KernelIsa, kernel_isa, ran};
use super::strided::{Mat, MatMut, matmul};

/// Most rows worth multiplying here: with more, `gemm`'s packing pays for itself (its blocks
/// keep the rows in the L1 cache, where each tile here reads them all again).
pub(super) const MOST_ROWS: usize = 32;

/// Rows and columns of the AVX-512 tile: sixteen 16-lane accumulators, four weight vectors and
/// a state vector of the 32 registers.
#[cfg(target_arch = "x86_64")]
const AVX512_TILE: (usize, usize) = (4, 4);
/// Rows and columns of the AVX2 tile: eight 8-lane accumulators, four weight vectors and a
/// state vector of the 16 registers.
#[cfg(target_arch = "x86_64")]
const AVX2_TILE: (usize, usize) = (2, 4);

/// `(m, n, k)`, then `a` (`m` rows of `k` values, rows `.1` apart), `w` (`n` rows of `k`
/// values, rows `.1` apart), `dst` (`m` rows of `n` values, rows `.1` apart) and whether to
/// add to `dst`.
type Args = (
    (usize, usize, usize),
    (*const f32, usize),
    (*const f32, usize),
    (*mut f32, usize),
    bool,
);

/// `dst[r, j] (+)= Σ_i a[r, i] · w[j, i]` for `r < m`, `j < n`, `i < k`, with the best code
/// path the kernels may use ([`kernel_isa`]).
///
/// # Safety
/// `a` covers `m` rows of `k` values, `w` `n` rows of `k` values and `dst` `m` rows of `n`
/// values, at their row strides; `dst` overlaps neither `a` nor `w`.
pub(super) unsafe fn multiply(
    size: (usize, usize, usize),
    a: (*const f32, usize),
    w: (*const f32, usize),
    dst: (*mut f32, usize),
    accumulate: bool,
) {
    // SAFETY: the CPU runs `kernel_isa()`; the caller upholds the rest.
    unsafe { multiply_with(kernel_isa(), (size, a, w, dst, accumulate)) }
}

/// [`multiply`] with `isa`'s instructions.
///
/// # Safety
/// As [`multiply`], and the CPU runs `isa`.
unsafe fn multiply_with(isa: KernelIsa, args: Args) {
    match isa {
        // SAFETY: the CPU has the features (the caller's); the caller upholds the rest.
        #[cfg(target_arch = "x86_64")]
        KernelIsa::Avx512 => unsafe { multiply_avx512(args) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        KernelIsa::Avx2 => unsafe { multiply_avx2(args) },
        // SAFETY: the caller's guarantees are `multiply_portable`'s.
        _ => unsafe { multiply_portable(args) },
    }
}

/// [`multiply`] through `gemm`, without vector instructions of our own.
///
/// # Safety
/// As [`multiply`].
unsafe fn multiply_portable(((m, n, k), a, w, dst, accumulate): Args) {
    ran(KernelIsa::Portable);
    // SAFETY: the views are the caller's, read with their strides: `w` as the `k × n` matrix
    // whose element `(i, j)` is `w[j * w.1 + i]`.
    unsafe {
        matmul(
            (m, n, k),
            MatMut(dst.0, dst.1 as isize, 1),
            Mat(a.0, a.1 as isize, 1),
            Mat(w.0, 1, w.1 as isize),
            accumulate,
        )
    }
}

/// Calls `$tile::<R, C>($args)` for `R = $rows` (1 ..= 4) and `C = $cols` (1 ..= 4), known only
/// at run time.
#[cfg(target_arch = "x86_64")]
macro_rules! by_tile {
    ($tile:ident, $rows:expr, $cols:expr, $args:expr) => {
        match $rows {
            1 => by_tile!(@cols $tile, 1, $cols, $args),
            2 => by_tile!(@cols $tile, 2, $cols, $args),
            3 => by_tile!(@cols $tile, 3, $cols, $args),
            _ => by_tile!(@cols $tile, 4, $cols, $args),
        }
    };
    (@cols $tile:ident, $rows:literal, $cols:expr, $args:expr) => {
        match $cols {
            1 => $tile::<$rows, 1>($args),
            2 => $tile::<$rows, 2>($args),
            3 => $tile::<$rows, 3>($args),
            _ => $tile::<$rows, 4>($args),
        }
    };
}

/// One tile: `k`, then `a`, `w` and `dst` at the tile's first row and column, and whether to
/// add to `dst`.
#[cfg(target_arch = "x86_64")]
type Tile = (
    usize,
    (*const f32, usize),
    (*const f32, usize),
    (*mut f32, usize),
    bool,
);

/// Runs `tile(rows, columns, ..)` on every tile of at most `max` rows × columns: the columns
/// outside, so that a tile's weights stay in the L1 cache while every row passes over them.
///
/// # Safety
/// As [`multiply`]; `tile` is called only with tiles inside `a`, `w` and `dst`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn for_each_tile(
    ((m, n, k), a, w, dst, accumulate): Args,
    (max_rows, max_cols): (usize, usize),
    tile: impl Fn(usize, usize, Tile),
) {
    debug_assert!(
        max_rows <= 4 && max_cols <= 4,
        "`by_tile` has tiles up to 4 × 4"
    );
    for j in (0..n).step_by(max_cols) {
        // Wrapping: with `k == 0` the views of `a` and `w` may be empty, whatever their strides
        // (nothing is read from them then).
        let w = (w.0.wrapping_add(j * w.1), w.1);
        // SAFETY: column `j` (below `n`) of `dst`: inside the caller's view.
        let dst = (unsafe { dst.0.add(j) }, dst.1);
        for r in (0..m).step_by(max_rows) {
            let a = (a.0.wrapping_add(r * a.1), a.1);
            // SAFETY: row `r` (below `m`) of `dst`: inside the caller's view.
            let dst = (unsafe { dst.0.add(r * dst.1) }, dst.1);
            tile(
                max_rows.min(m - r),
                max_cols.min(n - j),
                (k, a, w, dst, accumulate),
            );
        }
    }
}

/// Adds `sum` to `*out`, or stores it.
///
/// # Safety
/// `out` is valid for reads and writes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn put(out: *mut f32, sum: f32, accumulate: bool) {
    // SAFETY: the caller's.
    unsafe { *out = if accumulate { *out + sum } else { sum } };
}

/// [`multiply`] with AVX-512.
///
/// # Safety
/// As [`multiply`], and the CPU has AVX-512F (with AVX2 and FMA: [`KernelIsa::Avx512`] is
/// chosen only then).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn multiply_avx512(args: Args) {
    ran(KernelIsa::Avx512);
    // SAFETY: `for_each_tile` hands `tile_avx512` tiles inside the caller's views; the CPU has
    // the features (the caller's).
    unsafe {
        for_each_tile(args, AVX512_TILE, |rows, cols, tile| {
            by_tile!(tile_avx512, rows, cols, tile)
        })
    }
}

/// `R` rows × `C` columns of the product in 16-lane vectors along `k`, loaded under a mask
/// (all lanes but in the last `k % 16`).
///
/// # Safety
/// The CPU has AVX-512F; `a` covers `R` rows and `w` `C` rows of `k` values, `dst` `R` rows of
/// `C` values, `dst` overlapping neither.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn tile_avx512<const R: usize, const C: usize>((k, a, w, dst, accumulate): Tile) {
    use std::arch::x86_64::{
        __m512, _mm_storeu_ps, _mm512_fmadd_ps, _mm512_maskz_loadu_ps, _mm512_setzero_ps,
    };
    let mut acc: [[__m512; C]; R] = [[_mm512_setzero_ps(); C]; R];
    let whole = k - k % 16;
    let mut i = 0;
    while i < k {
        // All lanes, or the last `k % 16`.
        let mask = if i < whole {
            u16::MAX
        } else {
            (1u16 << (k % 16)) - 1
        };
        let mut wv = [_mm512_setzero_ps(); C];
        for (c, wv) in wv.iter_mut().enumerate() {
            // SAFETY: the lanes `mask` keeps are values `i..` of row `c` (below `C`) of `w`,
            // below `k` (the caller's); the others are not read.
            *wv = unsafe { _mm512_maskz_loadu_ps(mask, w.0.add(c * w.1 + i)) };
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            // SAFETY: as above, in row `r` (below `R`) of `a`.
            let av = unsafe { _mm512_maskz_loadu_ps(mask, a.0.add(r * a.1 + i)) };
            for (acc, &wv) in acc.iter_mut().zip(&wv) {
                *acc = _mm512_fmadd_ps(av, wv, *acc);
            }
        }
        i += 16;
    }
    for (r, acc) in acc.iter().enumerate() {
        // Missing columns of an edge tile are zeros, so that every output is summed by the
        // same tree.
        let mut four = [_mm512_setzero_ps(); 4];
        four[..C].copy_from_slice(acc);
        let mut sums = [0.0f32; 4];
        // SAFETY: `sums` holds 4 values.
        unsafe { _mm_storeu_ps(sums.as_mut_ptr(), sum4(four)) };
        for (c, &sum) in sums[..C].iter().enumerate() {
            // SAFETY: element `(r, c)` of the `R × C` tile of `dst` (the caller's).
            unsafe { put(dst.0.add(r * dst.1 + c), sum, accumulate) };
        }
    }
}

/// The sums of the lanes of four vectors, as one 4-lane vector: a tree of 9 instructions where
/// four separate reductions take about 40.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn sum4([a, b, c, d]: [std::arch::x86_64::__m512; 4]) -> std::arch::x86_64::__m128 {
    use std::arch::x86_64::{
        _mm512_add_ps, _mm512_castps512_ps128, _mm512_shuffle_f32x4, _mm512_shuffle_ps,
        _mm512_unpackhi_ps, _mm512_unpacklo_ps,
    };
    // In each 128-bit lane: [a0 + a2, b0 + b2, a1 + a3, b1 + b3], and the same of c and d.
    let ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
    let cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
    // In each 128-bit lane: [a, b, c, d], that lane's sums.
    let lanes = _mm512_add_ps(
        _mm512_shuffle_ps::<0b01_00_01_00>(ab, cd),
        _mm512_shuffle_ps::<0b11_10_11_10>(ab, cd),
    );
    // The four 128-bit lanes added: the halves swapped, then neighbouring lanes.
    let halves = _mm512_add_ps(lanes, _mm512_shuffle_f32x4::<0b01_00_11_10>(lanes, lanes));
    let all = _mm512_add_ps(
        halves,
        _mm512_shuffle_f32x4::<0b10_11_00_01>(halves, halves),
    );
    _mm512_castps512_ps128(all)
}

/// [`multiply`] with AVX2 and FMA.
///
/// # Safety
/// As [`multiply`], and the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn multiply_avx2(args: Args) {
    ran(KernelIsa::Avx2);
    // SAFETY: `for_each_tile` hands `tile_avx2` tiles inside the caller's views (of at most
    // `AVX2_TILE`'s two rows); the CPU has the features (the caller's).
    unsafe {
        for_each_tile(args, AVX2_TILE, |rows, cols, tile| {
            by_tile!(tile_avx2, rows, cols, tile)
        })
    }
}

/// `R` rows × `C` columns of the product in 8-lane vectors along `k`, the last `k % 8` added
/// in scalars to each reduced sum.
///
/// # Safety
/// The CPU has AVX2 and FMA; `a` covers `R` rows and `w` `C` rows of `k` values, `dst` `R`
/// rows of `C` values, `dst` overlapping neither.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2<const R: usize, const C: usize>((k, a, w, dst, accumulate): Tile) {
    use std::arch::x86_64::{
        __m256, _mm_storeu_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_setzero_ps,
    };
    let mut acc: [[__m256; C]; R] = [[_mm256_setzero_ps(); C]; R];
    let whole = k - k % 8;
    for i in (0..whole).step_by(8) {
        let mut wv = [_mm256_setzero_ps(); C];
        for (c, wv) in wv.iter_mut().enumerate() {
            // SAFETY: values `i..i + 8` (below `k`) of row `c` (below `C`) of `w`.
            *wv = unsafe { _mm256_loadu_ps(w.0.add(c * w.1 + i)) };
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            // SAFETY: as above, in row `r` (below `R`) of `a`.
            let av = unsafe { _mm256_loadu_ps(a.0.add(r * a.1 + i)) };
            for (acc, &wv) in acc.iter_mut().zip(&wv) {
                *acc = _mm256_fmadd_ps(av, wv, *acc);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        // As in `tile_avx512`: one tree for every output, missing columns zeros.
        let mut four = [_mm256_setzero_ps(); 4];
        four[..C].copy_from_slice(acc);
        let mut sums = [0.0f32; 4];
        // SAFETY: `sums` holds 4 values.
        unsafe { _mm_storeu_ps(sums.as_mut_ptr(), sum4_avx2(four)) };
        for (c, &sum) in sums[..C].iter().enumerate() {
            let mut sum = sum;
            for i in whole..k {
                // SAFETY: value `i` (below `k`) of row `r` of `a` and of row `c` of `w`.
                sum += unsafe { *a.0.add(r * a.1 + i) * *w.0.add(c * w.1 + i) };
            }
            // SAFETY: element `(r, c)` of the `R × C` tile of `dst` (the caller's).
            unsafe { put(dst.0.add(r * dst.1 + c), sum, accumulate) };
        }
    }
}

/// The sums of the lanes of four 8-lane vectors, as one 4-lane vector ([`sum4`]'s tree).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sum4_avx2([a, b, c, d]: [std::arch::x86_64::__m256; 4]) -> std::arch::x86_64::__m128 {
    use std::arch::x86_64::{
        _mm_add_ps, _mm256_castps256_ps128, _mm256_extractf128_ps, _mm256_hadd_ps,
    };
    // In each 128-bit half: [a, b, c, d], that half's sums.
    let halves = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    _mm_add_ps(
        _mm256_castps256_ps128(halves),
        _mm256_extractf128_ps::<1>(halves),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fused::isa::{runnable, tests::LAST_RAN};

    /// Every code path against a sum in `f64`, at sizes around the tiles' and the vectors'
    /// edges, with row strides wider than the rows, storing and adding.
    #[test]
    fn every_path_matches_a_plain_sum() {
        for isa in runnable() {
            for (m, n, k) in [
                (1, 1, 1),
                (1, 5, 7),
                (2, 4, 16),
                (3, 9, 17),
                (4, 8, 33),
                (5, 3, 8),
                (6, 13, 100),
                (9, 6, 0),
                (32, 1024, 384),
            ] {
                let (lda, ldw, ldd) = (k + 3, k + 1, n + 2);
                let value = |i: usize, s: usize| ((i * s % 97) as f32 - 48.0) / 32.0;
                let a: Vec<f32> = (0..m * lda).map(|i| value(i, 7)).collect();
                let w: Vec<f32> = (0..n * ldw).map(|i| value(i, 13)).collect();
                for accumulate in [false, true] {
                    let mut dst: Vec<f32> = (0..m * ldd).map(|i| value(i, 5)).collect();
                    let before = dst.clone();
                    LAST_RAN.set(None);
                    // SAFETY: the buffers hold the rows at these strides; the CPU runs `isa`
                    // (`runnable`).
                    unsafe {
                        multiply_with(
                            isa,
                            (
                                (m, n, k),
                                (a.as_ptr(), lda),
                                (w.as_ptr(), ldw),
                                (dst.as_mut_ptr(), ldd),
                                accumulate,
                            ),
                        )
                    };
                    if m * n > 0 {
                        assert_eq!(LAST_RAN.get(), Some(isa), "{isa:?} ran");
                    }
                    for r in 0..m {
                        for c in 0..ldd {
                            let got = dst[r * ldd + c];
                            if c >= n {
                                assert_eq!(got, before[r * ldd + c], "outside the product");
                                continue;
                            }
                            let dot: f64 = (0..k)
                                .map(|i| a[r * lda + i] as f64 * w[c * ldw + i] as f64)
                                .sum();
                            let want = dot
                                + if accumulate {
                                    before[r * ldd + c] as f64
                                } else {
                                    0.0
                                };
                            assert!(
                                (got as f64 - want).abs() <= 1e-5 * (1.0 + want.abs()),
                                "{isa:?} {m}×{n}×{k} accumulate {accumulate}: ({r}, {c}) {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// An output's value does not depend on how many rows are multiplied with it or on the
    /// columns around it (one accumulator per output, summed in one order), on our own code
    /// paths (the portable one is `gemm`'s).
    #[test]
    fn an_output_does_not_depend_on_the_tile() {
        let (k, n) = (37, 7);
        let a: Vec<f32> = (0..6 * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let w: Vec<f32> = (0..n * k).map(|i| (i as f32 * 0.11).cos()).collect();
        for isa in runnable()
            .into_iter()
            .filter(|&isa| isa > KernelIsa::Portable)
        {
            let product = |m: usize, first: usize, cols: usize| {
                let mut dst = vec![0.0f32; m * cols];
                // SAFETY: the buffers hold the rows; the CPU runs `isa`.
                unsafe {
                    multiply_with(
                        isa,
                        (
                            (m, cols, k),
                            (a.as_ptr(), k),
                            (w[first * k..].as_ptr(), k),
                            (dst.as_mut_ptr(), cols),
                            false,
                        ),
                    )
                };
                dst
            };
            let all = product(6, 0, n);
            for m in 1..=6 {
                for first in 0..n {
                    let part = product(m, first, n - first);
                    for r in 0..m {
                        assert_eq!(
                            part[r * (n - first)..(r + 1) * (n - first)],
                            all[r * n + first..(r + 1) * n],
                            "{isa:?}: {m} rows from column {first}"
                        );
                    }
                }
            }
        }
    }
}

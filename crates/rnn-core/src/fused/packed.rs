//! A weight block packed once per sequence for the per-step matmuls of the fused kernels.
//!
//! Every step multiplies the state `[batch, K]` by the same block of `W_hh` (forward) or
//! `W_hhᵀ` (backward), and every chunk of steps its input by the same block of `W_ih`. A
//! general `gemm` call repacks that block, the larger operand (512 KiB per thread at the
//! benchmark shape), at every call; [`Packed`] holds it in the layout its
//! multiply loop reads: groups of panels of [`PANEL`] output columns, each input's weights for
//! the group's columns contiguous, so that a pass over `K` reads one contiguous stream per
//! group while a tile of state rows accumulates in registers: three panels per group for the
//! AVX-512 tile, one for the others ([`group_for`]).

use super::isa::{KernelIsa, kernel_isa, ran};
use super::pool;

/// Output columns per panel (two 8-lane vectors, or one 16-lane vector).
const PANEL: usize = 16;
/// Most state rows per pass over a panel in the portable and AVX2 tiles (twelve 8-lane
/// accumulators).
const ROWS: usize = 6;
/// Most state rows and panels of an AVX-512 tile: twenty-four 16-lane accumulators of the 32
/// registers, three for the panels' weights and one for the broadcast state value. Eight rows
/// by three panels rather than six by four: a thread's share of a batch of 32 (16 rows) is two
/// full tiles instead of three partial ones, and a group's weights are read from the
/// second-level cache twice per pass instead of three times (BENCHMARKS.md, 2026-12-06).
const AVX512_TILE: (usize, usize) = (8, 3);
/// Most partial sums per accumulator ([`splits`]).
const MAX_SPLITS: usize = 4;

/// How many partial sums of each of its `accumulators` vector accumulators a tile keeps, over
/// interleaved inputs (`i`, `i + 1`, ... each into sums of their own, added at the end):
/// enough for eight independent chains of multiply-adds, what keeps two vector units busy at
/// four cycles of latency. A tile of one or two rows has too few accumulators, and each
/// multiply-add would wait for the one before it. The AVX-512 tile, three panels wide, was
/// slower with partial sums at batch 1 (BENCHMARKS.md, 2026-12-07).
const fn splits(accumulators: usize) -> usize {
    let splits = 8usize.div_ceil(accumulators);
    if splits < MAX_SPLITS {
        splits
    } else {
        MAX_SPLITS
    }
}

/// Runs `multiply_add(i, sums)` for every input `i < k` in turn, with the partial sums of
/// `partial` ([`splits`]) that input `i` goes to: `i % splits`, the inputs after the last
/// whole round of `splits` into the first.
#[inline(always)]
fn over_inputs<S>(
    k: usize,
    splits: usize,
    partial: &mut [S; MAX_SPLITS],
    multiply_add: impl Fn(usize, &mut S),
) {
    for chunk in 0..k / splits {
        for (s, sums) in partial[..splits].iter_mut().enumerate() {
            multiply_add(chunk * splits + s, sums);
        }
    }
    for i in k - k % splits..k {
        multiply_add(i, &mut partial[0]);
    }
}

/// The first `splits` partial sums of each accumulator of a tile ([`splits`]), added.
#[inline(always)]
fn add_splits<V: Copy, const R: usize, const L: usize>(
    partial: &[[[V; L]; R]; MAX_SPLITS],
    splits: usize,
    add: impl Fn(V, V) -> V,
) -> [[V; L]; R] {
    let mut total = partial[0];
    for sums in &partial[1..splits] {
        for (total, sums) in total.iter_mut().zip(sums) {
            for (total, &sum) in total.iter_mut().zip(sums) {
                *total = add(*total, sum);
            }
        }
    }
    total
}

/// Calls `$this.$tile::<R>($args)` for the row count `R = $rows` (1 ..= [`ROWS`]), known only
/// at run time.
macro_rules! by_rows {
    ($this:ident . $tile:ident, $rows:expr, $args:expr) => {
        match $rows {
            1 => $this.$tile::<1>($args),
            2 => $this.$tile::<2>($args),
            3 => $this.$tile::<3>($args),
            4 => $this.$tile::<4>($args),
            5 => $this.$tile::<5>($args),
            _ => $this.$tile::<ROWS>($args),
        }
    };
}

/// Calls `$this.$tile::<R, P>($args)` for `R = $rows` (1 ..= 8) rows and `P = $panels`
/// (1 ..= 3) panels ([`AVX512_TILE`]), known only at run time.
#[cfg(target_arch = "x86_64")]
macro_rules! by_rows_and_panels {
    ($this:ident . $tile:ident, $rows:expr, $panels:expr, $args:expr) => {
        match $rows {
            1 => by_rows_and_panels!(@panels $this.$tile, 1, $panels, $args),
            2 => by_rows_and_panels!(@panels $this.$tile, 2, $panels, $args),
            3 => by_rows_and_panels!(@panels $this.$tile, 3, $panels, $args),
            4 => by_rows_and_panels!(@panels $this.$tile, 4, $panels, $args),
            5 => by_rows_and_panels!(@panels $this.$tile, 5, $panels, $args),
            6 => by_rows_and_panels!(@panels $this.$tile, 6, $panels, $args),
            7 => by_rows_and_panels!(@panels $this.$tile, 7, $panels, $args),
            _ => by_rows_and_panels!(@panels $this.$tile, 8, $panels, $args),
        }
    };
    (@panels $this:ident . $tile:ident, $rows:literal, $panels:expr, $args:expr) => {
        match $panels {
            1 => $this.$tile::<$rows, 1>($args),
            2 => $this.$tile::<$rows, 2>($args),
            _ => $this.$tile::<$rows, 3>($args),
        }
    };
}

/// A `columns × k` weight matrix in groups of panels: `[groups, k, panels, PANEL]`, where each
/// group has `group` panels (the last may have fewer) and the columns past the last are zero.
/// Every code path multiplies either layout; each reads its own fastest.
pub(super) struct Packed {
    panels: Vec<f32>,
    columns: usize,
    k: usize,
    group: usize,
}

/// Panels per group for `isa`'s tiles: the AVX-512 tile's ([`AVX512_TILE`]), whose weights for
/// an input are then one contiguous read; one for the tiles of a single panel, which read a
/// panel's weights contiguously that way (from groups of three, the AVX2 forward pass of an
/// LSTM took 1.15× as long, at batch 1 1.23×).
fn group_for(isa: KernelIsa) -> usize {
    match isa {
        KernelIsa::Avx512 => AVX512_TILE.1,
        _ => 1,
    }
}

/// The groups of a matrix of `columns` columns in groups of `group` panels: each group's first
/// column and its panels.
fn groups(columns: usize, group: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..columns)
        .step_by(group * PANEL)
        .map(move |first| (first, (columns - first).min(group * PANEL).div_ceil(PANEL)))
}

impl Drop for Packed {
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.panels));
    }
}

impl Packed {
    /// `(columns, k)`: the outputs and the inputs of the packed matrix.
    pub(super) fn dims(&self) -> (usize, usize) {
        (self.columns, self.k)
    }

    /// Packs the matrix whose element `(j, i)` is `weight(j, i)`: the weight of input `i` for
    /// output column `j`.
    pub fn new(columns: usize, k: usize, weight: impl Fn(usize, usize) -> f32) -> Self {
        let mut packed = Self::unfilled(columns, k);
        packed.fill(weight);
        packed
    }

    /// Writes `weight(j, i)` as the weight of input `i` for output column `j`.
    fn fill(&mut self, weight: impl Fn(usize, usize) -> f32) {
        let columns = self.columns;
        for (first, panels, group) in self.groups_mut() {
            for (i, weights) in group.chunks_exact_mut(panels * PANEL).enumerate() {
                for (l, w) in weights.iter_mut().enumerate() {
                    let j = first + l;
                    *w = if j < columns { weight(j, i) } else { 0.0 };
                }
            }
        }
    }

    /// Packs the matrix whose column `j` has the weights `row(j)` (`k` of them, contiguous):
    /// what [`Packed::new`] does for `weight(j, i) = row(j)[i]`, reading each row once in
    /// order instead of a group's rows at a time.
    pub fn from_rows<'w>(columns: usize, k: usize, row: impl Fn(usize) -> &'w [f32]) -> Self {
        let mut packed = Self::unfilled(columns, k);
        for (first, panels, group) in packed.groups_mut() {
            let stride = panels * PANEL;
            for l in 0..stride {
                let column = group[l..].iter_mut().step_by(stride);
                match first + l {
                    j if j < columns => column.zip(&row(j)[..k]).for_each(|(p, &w)| *p = w),
                    _ => column.for_each(|p| *p = 0.0),
                }
            }
        }
        packed
    }

    /// Packs the matrix whose element `(j, i)` is `values[i * stride + j]` (stored input by
    /// input, each input's `columns` weights contiguous): what [`Packed::new`] does for that
    /// `weight`, copying a group's columns of each input at once.
    ///
    /// # Panics
    /// If `values` holds fewer than `k` inputs of `columns` weights `stride` apart.
    pub fn from_inputs(columns: usize, k: usize, values: &[f32], stride: usize) -> Self {
        assert!(
            k == 0 || values.len() >= (k - 1) * stride + columns,
            "the values hold every input"
        );
        let mut packed = Self::unfilled(columns, k);
        for (first, panels, group) in packed.groups_mut() {
            let width = (panels * PANEL).min(columns - first);
            for (i, weights) in group.chunks_exact_mut(panels * PANEL).enumerate() {
                let start = i * stride + first;
                weights[..width].copy_from_slice(&values[start..start + width]);
                weights[width..].fill(0.0);
            }
        }
        packed
    }

    /// A packed matrix of the size, in the layout of [`kernel_isa`]'s tiles, whose values are
    /// yet to be written ([`pool::take`]).
    fn unfilled(columns: usize, k: usize) -> Self {
        let panels = pool::take(columns.div_ceil(PANEL) * k * PANEL);
        let group = group_for(kernel_isa());
        Self {
            panels,
            columns,
            k,
            group,
        }
    }

    /// Each group's first column, its panels, and its `[k, panels, PANEL]` values (none
    /// without inputs: there are no values).
    fn groups_mut(&mut self) -> impl Iterator<Item = (usize, usize, &mut [f32])> {
        let k = self.k;
        let mut rest = self.panels.as_mut_slice();
        let columns = if k == 0 { 0 } else { self.columns };
        groups(columns, self.group).map(move |(first, panels)| {
            let (group, tail) = std::mem::take(&mut rest).split_at_mut(panels * PANEL * k);
            rest = tail;
            (first, panels, group)
        })
    }

    /// `dst[b][j] (+)= Σ_i a[b][i] · W(j, i)` for `b < rows`: `a` is `[rows, k]` with rows
    /// `a_stride` apart, `dst` is `[rows, columns]` with rows `dst_stride` apart; `dst` is
    /// overwritten unless `accumulate`. With [`kernel_isa`]'s instructions.
    ///
    /// # Safety
    /// `a` and `dst` cover those rows, and `dst` overlaps neither `a` nor the panels.
    pub unsafe fn multiply(
        &self,
        rows: usize,
        (a, a_stride): (*const f32, usize),
        (dst, dst_stride): (*mut f32, usize),
        accumulate: bool,
    ) {
        let args = (rows, (a, a_stride), (dst, dst_stride), accumulate);
        // SAFETY: the CPU runs `kernel_isa()` (at most `KernelIsa::detected()`); the caller
        // upholds the rest.
        unsafe { self.multiply_with(kernel_isa(), args) }
    }

    /// [`Packed::multiply`] with `isa`'s instructions.
    ///
    /// # Safety
    /// As [`Packed::multiply`], and the CPU runs `isa`.
    unsafe fn multiply_with(&self, isa: KernelIsa, args: Args) {
        match isa {
            // SAFETY: the CPU has the features (the caller's); the caller upholds the rest.
            #[cfg(target_arch = "x86_64")]
            KernelIsa::Avx512 => unsafe { self.multiply_avx512(args) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            KernelIsa::Avx2 => unsafe { self.multiply_avx2(args) },
            // SAFETY: the caller's guarantees are `multiply_portable`'s.
            _ => unsafe { self.multiply_portable(args) },
        }
    }

    /// [`Packed::multiply`] without vector instructions of its own.
    ///
    /// # Safety
    /// As [`Packed::multiply`]: `args`' views cover its rows, `dst` overlaps neither `a` nor
    /// the panels.
    unsafe fn multiply_portable(&self, args: Args) {
        ran(KernelIsa::Portable);
        // SAFETY: the caller's guarantees are `for_each_tile`'s, and `for_each_tile` hands
        // the closure only tiles inside them, whose panels are below `panels`.
        unsafe {
            self.for_each_tile(args, ROWS, |rows, panels, tile| {
                for p in 0..panels {
                    by_rows!(self.tile, rows, tile.panel(p))
                }
            })
        }
    }

    /// [`Packed::multiply`] with AVX2 and FMA.
    ///
    /// # Safety
    /// As [`multiply_portable`](Self::multiply_portable), and the CPU has AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn multiply_avx2(&self, args: Args) {
        ran(KernelIsa::Avx2);
        // SAFETY: as in `multiply_portable`; the CPU has the features (the caller's).
        unsafe {
            self.for_each_tile(args, ROWS, |rows, panels, tile| {
                for p in 0..panels {
                    by_rows!(self.tile_avx2, rows, tile.panel(p))
                }
            })
        }
    }

    /// [`Packed::multiply`] with AVX-512.
    ///
    /// # Safety
    /// As [`multiply_portable`](Self::multiply_portable), and the CPU has AVX-512F (with AVX2
    /// and FMA: [`KernelIsa::Avx512`] is chosen only then).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn multiply_avx512(&self, args: Args) {
        ran(KernelIsa::Avx512);
        // SAFETY: as in `multiply_portable`; the CPU has the features (the caller's).
        unsafe {
            self.for_each_tile(args, AVX512_TILE.0, |rows, panels, tile| {
                by_rows_and_panels!(self.tile_avx512, rows, panels, tile)
            })
        }
    }

    /// Runs `tile(r, p, ..)` on every tile of `r` rows and a group's `p` panels, group by
    /// group. The rows are split into as few tiles as `max_rows` allows, of sizes that differ
    /// by at most one (20 rows by 8: 7, 7, 6): a tile of one or two rows has too few
    /// accumulators to hide the latency of its fused multiply-adds, and would take almost as
    /// long as a full one.
    ///
    /// # Safety
    /// As [`Packed::multiply`]; `tile` is called only with tiles inside `a` and `dst`.
    #[inline(always)]
    unsafe fn for_each_tile(
        &self,
        (rows, a, dst, accumulate): Args,
        max_rows: usize,
        tile: impl Fn(usize, usize, Tile<'_>),
    ) {
        let tiles = rows.div_ceil(max_rows);
        for (first, panels) in groups(self.columns, self.group) {
            let weights = &self.panels[first * self.k..(first + panels * PANEL) * self.k];
            let mut b = 0;
            for t in 0..tiles {
                let r = rows / tiles + usize::from(t < rows % tiles);
                // SAFETY: row `b` (below `rows`) of `a` and of `dst`, and column `first` (below
                // `columns`) of `dst`'s row: inside the memory the caller guarantees.
                let (rows_a, rows_dst) =
                    unsafe { (a.0.add(b * a.1), dst.0.add(b * dst.1 + first)) };
                let at = Tile {
                    weights,
                    stride: panels * PANEL,
                    a: (rows_a, a.1),
                    dst: (rows_dst, dst.1),
                    width: (panels * PANEL).min(self.columns - first),
                    accumulate,
                };
                tile(r, panels, at);
                b += r;
            }
        }
    }

    /// `R` rows of the product with one panel (the tile's first), in portable code.
    ///
    /// # Safety
    /// `a` covers `R` rows of `k` values and `dst` `R` rows of `width` values, which overlap
    /// neither `a` nor the panels.
    #[inline(always)]
    unsafe fn tile<const R: usize>(&self, tile: Tile<'_>) {
        // The compiler vectorises the rows' sums, at least four lanes wide (SSE2, NEON): `R *
        // PANEL / 4` accumulators.
        let splits = const { splits(R * PANEL / 4) };
        let mut partial = [[[0.0f32; PANEL]; R]; MAX_SPLITS];
        over_inputs(self.k, splits, &mut partial, |i, acc| {
            let w = &tile.weights[i * tile.stride..][..PANEL];
            for (r, acc) in acc.iter_mut().enumerate() {
                // SAFETY: `multiply`'s caller guarantees `a` covers these rows.
                let x = unsafe { *tile.a.0.add(r * tile.a.1 + i) };
                for (acc, &w) in acc.iter_mut().zip(w) {
                    *acc += x * w;
                }
            }
        });
        let acc = add_splits(&partial, splits, |a, b| a + b);
        // SAFETY: `multiply`'s caller guarantees `dst` covers the tile's `R` rows of `width`
        // values (the panel's valid columns, at most `PANEL`).
        unsafe { store(&acc, tile.dst, tile.width.min(PANEL), tile.accumulate) }
    }

    /// `R` rows of the product with one panel (the tile's first): two 8-lane accumulators per
    /// row, each in [`splits`] partial sums, one fused multiply-add per accumulator and
    /// input.
    ///
    /// # Safety
    /// As [`Packed::tile`], with `weights` holding 16 values from `i * stride` for every input
    /// `i < k` (what [`Packed::for_each_tile`] and [`Tile::panel`] give a panel of the group),
    /// on a CPU with AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tile_avx2<const R: usize>(&self, tile: Tile<'_>) {
        use std::arch::x86_64::{
            _mm256_add_ps, _mm256_broadcast_ss, _mm256_fmadd_ps, _mm256_loadu_ps,
            _mm256_setzero_ps, _mm256_storeu_ps,
        };
        debug_assert!(self.k == 0 || tile.weights.len() >= (self.k - 1) * tile.stride + PANEL);
        let w = tile.weights.as_ptr();
        let splits = const { splits(2 * R) };
        let mut partial = [[[_mm256_setzero_ps(); 2]; R]; MAX_SPLITS];
        over_inputs(self.k, splits, &mut partial, |i, acc| {
            // SAFETY: input `i` (below `k`) of the panel: 16 values inside `weights`, which
            // holds `k` inputs `stride` apart.
            let (w0, w1) = unsafe {
                let w = w.add(i * tile.stride);
                (_mm256_loadu_ps(w), _mm256_loadu_ps(w.add(8)))
            };
            for (r, acc) in acc.iter_mut().enumerate() {
                // SAFETY: `multiply`'s caller guarantees `a` covers row `r` (below `R`) of `k`
                // values, and `i` is below `k`.
                let x = _mm256_broadcast_ss(unsafe { &*tile.a.0.add(r * tile.a.1 + i) });
                acc[0] = _mm256_fmadd_ps(x, w0, acc[0]);
                acc[1] = _mm256_fmadd_ps(x, w1, acc[1]);
            }
        });
        let acc = add_splits(&partial, splits, |a, b| _mm256_add_ps(a, b));
        if tile.width >= PANEL {
            // A full panel: straight from the registers (a copy through `store` would be a
            // `memcpy` call per row).
            for (r, acc) in acc.iter().enumerate() {
                // SAFETY: `multiply`'s caller guarantees `dst` covers the tile's rows.
                unsafe {
                    let out = tile.dst.0.add(r * tile.dst.1);
                    for (half, &v) in acc.iter().enumerate() {
                        let out = out.add(8 * half);
                        let v = if tile.accumulate {
                            _mm256_add_ps(_mm256_loadu_ps(out), v)
                        } else {
                            v
                        };
                        _mm256_storeu_ps(out, v);
                    }
                }
            }
            return;
        }
        let mut rows = [[0.0f32; PANEL]; R];
        for (row, acc) in rows.iter_mut().zip(&acc) {
            // SAFETY: each row holds 16 values.
            unsafe {
                _mm256_storeu_ps(row.as_mut_ptr(), acc[0]);
                _mm256_storeu_ps(row[8..].as_mut_ptr(), acc[1]);
            }
        }
        // SAFETY: as in `tile` (`width` is below `PANEL` here).
        unsafe { store(&rows, tile.dst, tile.width, tile.accumulate) }
    }

    /// `R` rows of the product with `P` panels side by side: one 16-lane accumulator per row
    /// and panel, one fused multiply-add per accumulator and input; the partial last panel
    /// is written through a lane mask.
    ///
    /// # Safety
    /// As [`Packed::tile`] (with `weights` a group of `P` panels, `[k, P * PANEL]`, and
    /// `width` more than `(P - 1) * PANEL` of their columns valid), on a CPU with AVX-512F.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn tile_avx512<const R: usize, const P: usize>(&self, tile: Tile<'_>) {
        use std::arch::x86_64::{
            __m512, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mask_storeu_ps,
            _mm512_maskz_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps,
        };
        let k = self.k;
        debug_assert!(tile.stride == P * PANEL && tile.weights.len() >= k * tile.stride);
        debug_assert!(tile.width > (P - 1) * PANEL);
        let w = tile.weights.as_ptr();
        let mut acc: [[__m512; P]; R] = [[_mm512_setzero_ps(); P]; R];
        for i in 0..k {
            let row: [__m512; P] = std::array::from_fn(|p| {
                // SAFETY: input `i` (below `k`) of panel `p` (below `P`): 16 values inside
                // `weights`, which holds `k` inputs of `P` panels.
                unsafe { _mm512_loadu_ps(w.add(i * tile.stride + p * PANEL)) }
            });
            for (r, acc) in acc.iter_mut().enumerate() {
                // SAFETY: `multiply`'s caller guarantees `a` covers row `r` (below `R`) of `k`
                // values.
                let x = _mm512_set1_ps(unsafe { *tile.a.0.add(r * tile.a.1 + i) });
                for (acc, &w) in acc.iter_mut().zip(&row) {
                    *acc = _mm512_fmadd_ps(x, w, *acc);
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            for (p, &v) in acc.iter().enumerate() {
                // The panel's valid columns, 1 ..= 16 of them.
                let valid = (tile.width - p * PANEL).min(PANEL);
                let mask = (u32::MAX >> (32 - valid)) as u16;
                // SAFETY: `multiply`'s caller guarantees `dst` covers the tile's `R` rows of
                // `width` values; the mask keeps the load and the store to the panel's valid
                // columns, which start inside that row.
                unsafe {
                    let out = tile.dst.0.add(r * tile.dst.1 + p * PANEL);
                    let v = if tile.accumulate {
                        _mm512_add_ps(_mm512_maskz_loadu_ps(mask, out), v)
                    } else {
                        v
                    };
                    _mm512_mask_storeu_ps(out, mask, v);
                }
            }
        }
    }
}

/// Writes (or adds) the first `width` values of each accumulated row to `dst`'s rows.
///
/// # Safety
/// `dst` covers `R` rows of `width` values.
#[inline(always)]
unsafe fn store<const R: usize>(
    rows: &[[f32; PANEL]; R],
    (dst, stride): (*mut f32, usize),
    width: usize,
    accumulate: bool,
) {
    for (r, row) in rows.iter().enumerate() {
        // SAFETY: row `r` of the `R` rows of `width` values the caller guarantees, which no
        // other reference covers (`multiply`'s `dst` overlaps neither `a` nor the panels).
        let out = unsafe { std::slice::from_raw_parts_mut(dst.add(r * stride), width) };
        for (out, &v) in out.iter_mut().zip(row) {
            *out = if accumulate { *out + v } else { v };
        }
    }
}

/// [`Packed::multiply`]'s arguments: rows, `a` and its row stride, `dst` and its row
/// stride, whether to accumulate.
type Args = (usize, (*const f32, usize), (*mut f32, usize), bool);
/// A tile of rows of the product with some of a group's panels.
#[derive(Clone, Copy)]
struct Tile<'a> {
    /// The group's weights from the tile's first column: input `i`'s from `i * stride`.
    weights: &'a [f32],
    /// Values between one input's weights and the next's: the group's columns.
    stride: usize,
    /// `a` from the tile's first row, and its row stride.
    a: (*const f32, usize),
    /// `dst` from the tile's first row and column, and its row stride.
    dst: (*mut f32, usize),
    /// The valid columns from the first (more than a panel when several are valid).
    width: usize,
    accumulate: bool,
}

impl Tile<'_> {
    /// The tile's part in panel `p` of its group (whose columns start below `width`).
    ///
    /// # Safety
    /// `p * PANEL < width`: the panel's first column is inside `dst`'s rows.
    unsafe fn panel(self, p: usize) -> Self {
        Self {
            weights: &self.weights[p * PANEL..],
            // SAFETY: the caller guarantees the column is inside `dst`'s rows.
            dst: (unsafe { self.dst.0.add(p * PANEL) }, self.dst.1),
            width: self.width - p * PANEL,
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fused::isa::runnable;
    use crate::fused::isa::tests::{LAST_RAN, expected_default};

    /// Every code path this CPU runs against a plain triple loop, on row counts of one tile
    /// and of several, with partial panels and partial groups of panels, `k` odd, and no
    /// inputs at all (a product of zeros).
    #[test]
    fn multiplies_like_the_definition() {
        let value = |s: usize| ((s * 7919) % 23) as f32 / 11.0 - 1.0;
        // Groups of panels: one partial panel; one group; two, the last partial; three with
        // a last group of two panels, of one.
        for (columns, k) in [
            (1, 1),
            (16, 19),
            (37, 19),
            (87, 8),
            (70, 5),
            (100, 7),
            (130, 33),
            (5, 0),
        ] {
            let weight = |j: usize, i: usize| value(j * k + i + 5);
            let columns_weights: Vec<Vec<f32>> = (0..columns)
                .map(|j| (0..k).map(|i| weight(j, i)).collect())
                .collect();
            let by_rows = Packed::from_rows(columns, k, |j| &columns_weights[j]);
            let packed = Packed::new(columns, k, weight);
            assert_eq!(by_rows.panels, packed.panels);
            // Stored input by input, three values between (NaN: never read).
            let by_inputs: Vec<f32> = (0..k * (columns + 3))
                .map(|s| match (s / (columns + 3), s % (columns + 3)) {
                    (i, j) if j < columns => weight(j, i),
                    _ => f32::NAN,
                })
                .collect();
            let by_inputs = Packed::from_inputs(columns, k, &by_inputs, columns + 3);
            assert_eq!(by_inputs.panels, packed.panels);
            for rows in 1..=2 * ROWS.max(AVX512_TILE.0) + 1 {
                let a: Vec<f32> = (0..rows * (k + 3)).map(value).collect();
                let start: Vec<f32> = (0..rows * (columns + 2)).map(|s| value(s + 1)).collect();
                for accumulate in [false, true] {
                    let mut expected = start.clone();
                    for b in 0..rows {
                        for j in 0..columns {
                            let dot: f32 = (0..k).map(|i| a[b * (k + 3) + i] * weight(j, i)).sum();
                            let out = &mut expected[b * (columns + 2) + j];
                            *out = if accumulate { *out + dot } else { dot };
                        }
                    }
                    // Every path on either layout, its own and the other paths'.
                    for (isa, group) in runnable().into_iter().flat_map(|isa| {
                        [KernelIsa::Portable, KernelIsa::Avx512].map(|l| (isa, group_for(l)))
                    }) {
                        let mut packed = Packed::unfilled(columns, k);
                        packed.group = group;
                        packed.fill(weight);
                        let mut dst = start.clone();
                        let args = (
                            rows,
                            (a.as_ptr(), k + 3),
                            (dst.as_mut_ptr(), columns + 2),
                            accumulate,
                        );
                        // SAFETY: `a` and `dst` are `[rows, k + 3]` and `[rows, columns + 2]`
                        // buffers that do not overlap; the CPU runs `isa`.
                        unsafe { packed.multiply_with(isa, args) };
                        assert_eq!(LAST_RAN.get(), Some(isa));
                        for (got, want) in dst.iter().zip(&expected) {
                            assert!(
                                (got - want).abs() < 1e-4,
                                "{isa:?}, groups of {group}, {rows} × {k} × {columns}: \
                                 {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// The default entry point takes the best path the CPU has.
    #[test]
    fn multiplies_with_the_best_path_the_cpu_has() {
        let packed = Packed::new(20, 3, |j, i| (j + i) as f32);
        let (a, mut dst) = ([1.0f32; 6], [0.0f32; 40]);
        // SAFETY: `a` is `[2, 3]` and `dst` `[2, 20]`, not overlapping.
        unsafe { packed.multiply(2, (a.as_ptr(), 3), (dst.as_mut_ptr(), 20), false) };
        assert_eq!(LAST_RAN.get(), Some(expected_default()));
        assert_eq!(dst[19], (19 + 20 + 21) as f32);
    }
}

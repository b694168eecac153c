//! Branch-free `exp`, `sigmoid`, `tanh` and `log σ` on `f32` that the compiler vectorises.
//!
//! `f32::exp` is a libm call per element; the gate loops call these instead. They are accurate
//! to a few ulp of `exp` and `ln` (Cephes' polynomials after reducing by powers of two); `tanh`
//! near 0 is accurate to ~1e-7 absolute.
//!
//! `FMA` says whether the caller is compiled for a CPU with fused multiply-add: the polynomial's
//! steps are then one instruction each (a quarter less gate-math time, measured on the LSTM
//! forward), while elsewhere `f32::mul_add` would be a library call per element.

/// `a * b + c`, rounded once where `FMA`.
#[inline(always)]
pub(crate) fn mul_add<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// `e^x`, with `x` clamped to `[-87, 88]` (the range where `e^x` is a normal `f32`).
#[inline(always)]
pub(crate) fn exp<const FMA: bool>(x: f32) -> f32 {
    let fma = mul_add::<FMA>;
    let x = x.clamp(-87.0, 88.0);
    // x = n ln2 + r, |r| <= ln2 / 2; ln2 in two parts so n * C1 is exact. `n` is rounded by
    // adding `ROUNDER`, in vector code on every target: `floor` is a libm call per element on
    // x86-64's baseline (SSE2), which kept the portable gate loops scalar there.
    let shifted = fma(x, std::f32::consts::LOG2_E, ROUNDER);
    let n = shifted - ROUNDER;
    let r = fma(n, 2.121_944_4e-4, fma(n, -0.693_359_4, x));
    let mut p = 1.987_569_1e-4_f32;
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        0.5,
    ] {
        p = fma(p, r, c);
    }
    let e = fma(p * r, r, r + 1.0);
    e * pow2(shifted)
}

/// 1.5 · 2^23: added to an `f32` of magnitude below 2^22, it rounds it to the nearest integer
/// `n` (ties to even) and holds `n` in the low mantissa bits of the sum, whose bits are then
/// `0x4B40_0000 + n`.
const ROUNDER: f32 = 12_582_912.0;

/// `2^n` for the integer `n` in `[-126, 127]` that `shifted` holds as `n + ROUNDER`
/// ([`ROUNDER`]), built from its exponent bits. The bits avoid a float-to-int cast: Rust's
/// saturating `as` compiles to scalar code with NaN and range checks that keeps the gate loops
/// from being vectorised.
#[inline(always)]
fn pow2(shifted: f32) -> f32 {
    let biased = shifted.to_bits().wrapping_sub(0x4B40_0000 - 127);
    f32::from_bits(biased << 23)
}

/// `ln x` for a positive normal `x` (NaN for NaN).
///
/// `x = m 2^e` with `m` in `[√½, √2)`, read off the bits (the exponent as an `i32`, which
/// converts to `f32` in a vector instruction, unlike the other way round: see [`pow2`]); then
/// Cephes' polynomial for `ln m`, and `e ln 2` with `ln 2` in two parts as in [`exp`].
#[inline(always)]
pub(crate) fn ln<const FMA: bool>(x: f32) -> f32 {
    let fma = mul_add::<FMA>;
    let bits = x.to_bits();
    let m = f32::from_bits((bits & 0x007F_FFFF) | 0x3F80_0000);
    let e = ((bits >> 23) as i32 - 127) as f32;
    let (m, e) = if m > std::f32::consts::SQRT_2 {
        (m * 0.5, e + 1.0)
    } else {
        (m, e)
    };
    let f = m - 1.0;
    let z = f * f;
    let mut p = 7.037_683_6e-2_f32;
    for c in [
        -1.151_461e-1,
        1.167_699_9e-1,
        -1.242_014_1e-1,
        1.424_932_3e-1,
        -1.666_805_8e-1,
        2.000_071_5e-1,
        -2.499_999_4e-1,
        3.333_333e-1,
    ] {
        p = fma(p, f, c);
    }
    let y = fma(p * f, z, fma(e, -2.121_944_4e-4, -0.5 * z));
    let ln = fma(e, 0.693_359_4, f + y);
    // The bits of a NaN read as a finite `m 2^e`.
    if x.is_nan() { x } else { ln }
}

/// `ln σ(x) = min(x, 0) - ln(1 + e^-|x|)`, as PyTorch computes it: no overflow for any `x`,
/// and `ln(1 + t)` as a `log1p`, accurate relative to its small value for large `|x|` (where
/// `1 + t` rounds away most of `t`: a relative error of 4e-4 at `x = 10` otherwise, and 0
/// from `x = 16.6` on, where the value is `-e^-x`).
#[inline(always)]
pub(crate) fn log_sigmoid<const FMA: bool>(x: f32) -> f32 {
    let a = x.abs();
    // Beyond [`exp`]'s clamp (`e^-a` below about 1.6e-38) `t` is 0, so that `ln σ` of a large
    // `x` is 0 (`-e^-x` is then at most a subnormal) rather than the clamp's `-e^-87`.
    let t = if a > 87.0 { 0.0 } else { exp::<FMA>(-a) };
    let u = 1.0 + t;
    // Goldberg's `log1p`: `ln(u) · t / (u - 1)` corrects `ln u` for the rounding of `1 + t`;
    // `t` itself where `u` rounds to 1. A NaN `x` gives a NaN `t`, which both keep (`min`
    // would drop it).
    let log1p = if u == 1.0 {
        t
    } else {
        ln::<FMA>(u) * (t / (u - 1.0))
    };
    x.min(0.0) - log1p
}

/// `1 / (1 + e^-x)`.
#[inline(always)]
pub(crate) fn sigmoid<const FMA: bool>(x: f32) -> f32 {
    1.0 / (1.0 + exp::<FMA>(-x))
}

/// `tanh(x)`: `(1 - e^-2|x|) / (1 + e^-2|x|)` with the sign of `x`, and below `|x| = 0.625`,
/// where `1 - e^-2|x|` would cancel (relative errors of the order of 1e-3 at `x = 1e-5`),
/// Cephes' odd polynomial `x + x³ P(x²)`, accurate to a few ulp there.
#[inline(always)]
pub(crate) fn tanh<const FMA: bool>(x: f32) -> f32 {
    let fma = mul_add::<FMA>;
    let a = x.abs();
    let e = exp::<FMA>(-2.0 * a);
    let large = (1.0 - e) / (1.0 + e);
    let z = a * a;
    let mut p = -5.704_988_7e-3_f32;
    for c in [2.063_909e-2, -5.373_971_6e-2, 1.333_144_2e-1, -3.333_328e-1] {
        p = fma(p, z, c);
    }
    let small = fma(p * z, a, a);
    // A NaN `a` takes the `large` side, which keeps it.
    (if a < 0.625 { small } else { large }).copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches_libm<const FMA: bool>() {
        let (exp, sigmoid, tanh) = (exp::<FMA>, sigmoid::<FMA>, tanh::<FMA>);
        let rel = |a: f32, b: f32| ((a - b) / b.abs().max(1e-30)).abs() as f64;
        let mut worst = [0.0f64; 4];
        for i in -20_000..=20_000 {
            let x = i as f32 * 0.004_3;
            worst[0] = worst[0].max(rel(exp(x), x.exp()));
            worst[1] = worst[1].max((sigmoid(x) - 1.0 / (1.0 + (-x).exp())).abs() as f64);
            worst[2] = worst[2].max((tanh(x) - x.tanh()).abs() as f64);
            worst[3] = worst[3].max(rel(tanh(x), x.tanh()));
        }
        // Relative accuracy near 0 too, down to the smallest normal values.
        for x in (1..=126).flat_map(|e| [1.0f32, 1.7, 5.3].map(|m| m * (-e as f32).exp2())) {
            worst[3] = worst[3]
                .max(rel(tanh(x), x.tanh()))
                .max(rel(tanh(-x), (-x).tanh()));
        }
        assert!(worst[0] < 1e-6, "exp relative error {}", worst[0]);
        assert!(worst[1] < 2e-7, "sigmoid absolute error {}", worst[1]);
        assert!(worst[2] < 2e-7, "tanh absolute error {}", worst[2]);
        assert!(worst[3] < 1e-6, "tanh relative error {}", worst[3]);
        assert!(exp(-1000.0) > 0.0);
        assert!(sigmoid(-1000.0) >= 0.0 && sigmoid(1000.0) == 1.0);
        assert!(tanh(1000.0) == 1.0 && tanh(-1000.0) == -1.0);
        assert!(exp(f32::NAN).is_nan() && sigmoid(f32::NAN).is_nan() && tanh(f32::NAN).is_nan());
    }

    #[test]
    fn matches_libm_unfused() {
        matches_libm::<false>();
    }

    /// With fused multiply-adds (in software where the test binary is not compiled for them:
    /// the same values, only slower).
    #[test]
    fn matches_libm_fused() {
        matches_libm::<true>();
    }

    fn log_sigmoid_matches_libm<const FMA: bool>() {
        let log_sigmoid = log_sigmoid::<FMA>;
        let mut worst = 0.0f64;
        // Relative error, also where the value is tiny (`-e^-x` for large `x`).
        for i in -20_000..=20_000 {
            let x = i as f32 * 0.004_3;
            let expected = -(-x as f64).exp().ln_1p();
            let err = (log_sigmoid(x) as f64 - expected).abs() / expected.abs();
            worst = worst.max(err);
        }
        assert!(worst < 1e-6, "log_sigmoid relative error {worst}");
        assert_eq!(log_sigmoid(1000.0), 0.0);
        assert_eq!(log_sigmoid(-1000.0), -1000.0);
        assert!(log_sigmoid(f32::NAN).is_nan());
        for x in [1.0f32, 2.0, 0.5, 1e-30, 3e38, std::f32::consts::SQRT_2] {
            let err =
                ((ln::<FMA>(x) as f64 - (x as f64).ln()) / (x as f64).ln().abs().max(1.0)).abs();
            assert!(err < 2e-7, "ln({x}) error {err}");
        }
    }

    #[test]
    fn log_sigmoid_matches_libm_unfused() {
        log_sigmoid_matches_libm::<false>();
    }

    #[test]
    fn log_sigmoid_matches_libm_fused() {
        log_sigmoid_matches_libm::<true>();
    }

    #[test]
    fn pow2_is_exact() {
        for n in -126..=127 {
            assert_eq!(pow2(n as f32 + ROUNDER), 2f32.powi(n), "2^{n}");
        }
    }
}

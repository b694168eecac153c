//! Which instruction set the fused CPU kernels run with: their packed multiply and gate math
//! are compiled three times (portable, AVX2 + FMA, AVX-512), and each call takes the best one
//! the CPU has, unless the `RNN_KERNEL_ISA` environment variable caps it.

use std::sync::OnceLock;

/// Environment variable that caps the instruction set of the kernels (read once, at the first
/// run): `portable`, `avx2` or `avx512`.
const ISA_VAR: &str = "RNN_KERNEL_ISA";

/// An instruction set the fused CPU kernels have a code path for, from the least to the most
/// capable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KernelIsa {
    /// No vector instructions of the kernels' own (what the compiler makes of plain Rust for
    /// the build's target).
    Portable,
    /// 8-lane `f32` vectors with fused multiply-add (x86-64 with AVX2 and FMA).
    Avx2,
    /// 16-lane `f32` vectors (x86-64 with AVX-512F, besides AVX2 and FMA).
    Avx512,
}

impl KernelIsa {
    /// The name `RNN_KERNEL_ISA` takes for it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Portable => "portable",
            Self::Avx2 => "avx2",
            Self::Avx512 => "avx512",
        }
    }

    /// The most capable instruction set this CPU runs.
    pub fn detected() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 =
                std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
            if avx2 && std::is_x86_feature_detected!("avx512f") {
                return Self::Avx512;
            }
            if avx2 {
                return Self::Avx2;
            }
        }
        Self::Portable
    }
}

/// The instruction set the fused CPU kernels run with: the most capable one the CPU has
/// ([`KernelIsa::detected`]), at most the one the `RNN_KERNEL_ISA` environment variable names
/// (`portable`, `avx2` or `avx512`; read once, at the first call) if it is set.
///
/// Results can differ in the last bits between instruction sets.
///
/// # Panics
/// If `RNN_KERNEL_ISA` is set to anything else.
pub fn kernel_isa() -> KernelIsa {
    static ISA: OnceLock<KernelIsa> = OnceLock::new();
    *ISA.get_or_init(|| {
        let cap = isa_cap(std::env::var(ISA_VAR).ok().as_deref()).unwrap_or_else(|e| panic!("{e}"));
        KernelIsa::detected().min(cap)
    })
}

/// Work whose loops are compiled for the instruction set it runs with: implementations mark
/// [`Vectorised::run`] `#[inline(always)]`, so that [`run_with`] compiles it inside a function
/// built for those instructions (`FMA`: fused multiply-add, see [`super::math`]), where the
/// compiler vectorises it.
pub(super) trait Vectorised {
    /// What the work returns.
    type Output;
    /// Does the work.
    fn run<const FMA: bool>(self) -> Self::Output;
}

/// Runs `work` compiled for [`kernel_isa`]'s instructions.
pub(super) fn run<W: Vectorised>(work: W) -> W::Output {
    // SAFETY: the CPU runs `kernel_isa()` (at most `KernelIsa::detected()`).
    unsafe { run_with(kernel_isa(), work) }
}

/// Runs `work` compiled for `isa`'s instructions.
///
/// # Safety
/// The CPU runs `isa` (it is at most [`KernelIsa::detected`]).
pub(super) unsafe fn run_with<W: Vectorised>(isa: KernelIsa, work: W) -> W::Output {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx2,fma")]
        fn avx512<W: Vectorised>(work: W) -> W::Output {
            ran(KernelIsa::Avx512);
            work.run::<true>()
        }
        #[target_feature(enable = "avx2,fma")]
        fn avx2<W: Vectorised>(work: W) -> W::Output {
            ran(KernelIsa::Avx2);
            work.run::<true>()
        }
        match isa {
            // SAFETY: the CPU has the features `avx512` is compiled for (the caller's
            // guarantee); it has no other requirement.
            KernelIsa::Avx512 => return unsafe { avx512(work) },
            // SAFETY: as above.
            KernelIsa::Avx2 => return unsafe { avx2(work) },
            KernelIsa::Portable => {}
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = isa;
    ran(KernelIsa::Portable);
    work.run::<false>()
}

/// The cap the environment variable's value `var` asks for (none when unset or empty).
fn isa_cap(var: Option<&str>) -> Result<KernelIsa, crate::RnnError> {
    let all = [KernelIsa::Portable, KernelIsa::Avx2, KernelIsa::Avx512];
    match var.map(str::trim) {
        None | Some("") => Ok(KernelIsa::Avx512),
        Some(value) => all
            .into_iter()
            .find(|isa| isa.name() == value)
            .ok_or_else(|| {
                crate::RnnError::new(ISA_VAR, "portable, avx2 or avx512", format!("{value:?}"))
            }),
    }
}

/// Notes that a code path of the kernels ran (on this thread), for the tests that check the
/// path taken; nothing outside the unit tests.
#[inline(always)]
pub(super) fn ran(isa: KernelIsa) {
    #[cfg(test)]
    tests::LAST_RAN.set(Some(isa));
    #[cfg(not(test))]
    let _ = isa;
}

/// Every instruction set this CPU runs, to test each code path as itself.
#[cfg(test)]
pub(super) fn runnable() -> Vec<KernelIsa> {
    [KernelIsa::Portable, KernelIsa::Avx2, KernelIsa::Avx512]
        .into_iter()
        .filter(|&isa| isa <= KernelIsa::detected())
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    use std::cell::Cell;

    use super::*;

    thread_local! {
        /// The code path that ran last on this thread ([`ran`]).
        pub(in crate::fused) static LAST_RAN: Cell<Option<KernelIsa>> = const { Cell::new(None) };
    }

    /// The path the kernels must take by default: the best one the CPU's flags in
    /// `/proc/cpuinfo` allow (read independently of the run-time detection), unless
    /// `RNN_KERNEL_ISA` caps it. Prints a note where the CPU has no AVX-512F (the AVX-512 path
    /// is then tested nowhere on this machine).
    pub(in crate::fused) fn expected_default() -> KernelIsa {
        let flags = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                let line = info.lines().find(|l| l.starts_with("flags"))?.to_string();
                Some(
                    line.split_whitespace()
                        .map(String::from)
                        .collect::<Vec<_>>(),
                )
            });
        let best = match flags {
            Some(flags) => {
                let has = |f: &str| flags.iter().any(|g| g == f);
                match (has("avx2") && has("fma"), has("avx512f")) {
                    (true, true) => KernelIsa::Avx512,
                    (true, false) => KernelIsa::Avx2,
                    _ => KernelIsa::Portable,
                }
            }
            None => {
                println!("note: no /proc/cpuinfo; trusting the run-time detection");
                KernelIsa::detected()
            }
        };
        if best < KernelIsa::Avx512 {
            println!("note: this CPU has no AVX-512F: the AVX-512 path is not tested here");
        }
        match std::env::var(ISA_VAR) {
            Ok(cap) if !cap.trim().is_empty() => {
                println!("note: {ISA_VAR}={cap} caps the kernels here");
                best.min(isa_cap(Some(&cap)).unwrap())
            }
            _ => best,
        }
    }

    #[test]
    fn the_kernels_default_to_the_best_path_the_cpu_has() {
        assert_eq!(kernel_isa(), expected_default());
    }
    #[test]
    fn the_environment_variable_caps_the_instruction_set() {
        assert_eq!(isa_cap(None), Ok(KernelIsa::Avx512));
        assert_eq!(isa_cap(Some("")), Ok(KernelIsa::Avx512));
        assert_eq!(isa_cap(Some(" avx2 ")), Ok(KernelIsa::Avx2));
        assert_eq!(isa_cap(Some("portable")), Ok(KernelIsa::Portable));
        assert_eq!(isa_cap(Some("avx512")), Ok(KernelIsa::Avx512));
        for bad in ["AVX2", "sse", "avx-512"] {
            let e = isa_cap(Some(bad)).unwrap_err().to_string();
            assert_eq!(
                e,
                format!("RNN_KERNEL_ISA: expected portable, avx2 or avx512, got {bad:?}")
            );
        }
    }
}

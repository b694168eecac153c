//! A single-threaded matrix multiply on strided host views (`gemm`): the backward pass's
//! weight and input gradients, each thread computing its block.

use gemm::Parallelism;

/// A matrix view: pointer, row stride, column stride.
pub(super) struct Mat(pub *const f32, pub isize, pub isize);

/// A mutable matrix view: pointer, row stride, column stride.
pub(super) struct MatMut(pub *mut f32, pub isize, pub isize);

/// `dst (+)= lhs · rhs` with `(m, n, k)` sizes, on the calling thread.
///
/// # Safety
/// The views cover valid, non-overlapping memory for those sizes.
pub(super) unsafe fn matmul(
    (m, n, k): (usize, usize, usize),
    dst: MatMut,
    lhs: Mat,
    rhs: Mat,
    accumulate: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                for c in 0..n {
                    // SAFETY: element `(r, c)` of the `m × n` destination the caller guarantees.
                    unsafe { *dst.0.offset(r as isize * dst.1 + c as isize * dst.2) = 0.0 };
                }
            }
        }
        return;
    }
    // SAFETY: the caller guarantees the views cover valid, non-overlapping memory for these
    // sizes, which is what `gemm` reads and writes (with the strides given).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.0,
            dst.2,
            dst.1,
            accumulate,
            lhs.0,
            lhs.2,
            lhs.1,
            rhs.0,
            rhs.2,
            rhs.1,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            Parallelism::None,
        )
    }
}

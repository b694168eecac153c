//! Gradients against central finite differences, for tests of both crates (rnn-tasks'
//! include this file).

/// Finite-difference step.
const EPS: f32 = 1e-2;

/// Asserts the `analytic` gradient of a loss with respect to each of its `leaves` (host data,
/// the autodiff gradients in the same order) matches central finite differences of `loss`,
/// evaluated (on a plain device) at the leaves with one entry moved by ±`EPS`: within
/// `2e-3 + 1e-2·|numeric|`.
pub fn assert_gradients_match(
    mut leaves: Vec<Vec<f32>>,
    analytic: &[Vec<f32>],
    loss: impl Fn(&[Vec<f32>]) -> f32,
) {
    for (li, grad) in analytic.iter().enumerate() {
        for j in 0..grad.len() {
            let original = leaves[li][j];
            let mut at = |v: f32| {
                leaves[li][j] = v;
                let l = loss(&leaves);
                leaves[li][j] = original;
                l
            };
            let numeric: f32 = (at(original + EPS) - at(original - EPS)) / (2.0 * EPS);
            assert!(
                (numeric - grad[j]).abs() <= 2e-3 + 1e-2 * numeric.abs(),
                "leaf {li} entry {j}: autodiff {} vs finite difference {numeric}",
                grad[j]
            );
        }
    }
}

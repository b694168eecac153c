//! `clip_grad_norm`: one factor for all gradients, from their global norm.

use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};
use rnn_tasks::clip_grad_norm;
use rstest::rstest;

use crate::backend::autodiff_device;

/// Three parameters; the loss `Σ a ⊙ A + Σ b ⊙ B` gives `a` the gradient `A` and `b` the
/// gradient `B`, and `unused` none.
#[derive(Module, Debug)]
struct Pair {
    a: Param<Tensor<2>>,
    b: Param<Tensor<1>>,
    unused: Param<Tensor<1>>,
}

const A: [f32; 4] = [3.0, 0.0, 0.0, -1.0];
const B: [f32; 3] = [0.0, 2.0, -1.0];
/// √(9 + 1 + 4 + 1) of the gradients as one vector.
const NORM: f64 = 3.872_983_346_207_417;

/// The pair's gradients after a backward pass.
fn gradients() -> (Pair, GradientsParams) {
    let device = autodiff_device();
    let pair = Pair {
        a: Param::from_tensor(Tensor::full([2, 2], 0.5, &device).require_grad()),
        b: Param::from_tensor(Tensor::full([3], 0.5, &device).require_grad()),
        unused: Param::from_tensor(Tensor::full([2], 0.5, &device).require_grad()),
    };
    let a = Tensor::<2>::from_data(TensorData::new(A.to_vec(), [2, 2]), &device);
    let b = Tensor::<1>::from_data(TensorData::new(B.to_vec(), [3]), &device);
    let loss = (pair.a.val() * a).sum() + (pair.b.val() * b).sum();
    let grads = GradientsParams::from_grads(loss.backward(), &pair);
    (pair, grads)
}

fn values<const D: usize>(pair: &Pair, grads: &GradientsParams, which: usize) -> Vec<f32> {
    let id = [pair.a.id, pair.b.id][which];
    grads
        .get::<D>(id)
        .expect("a gradient")
        .into_data()
        .iter::<f32>()
        .collect()
}

#[rstest]
#[case::scaled_down(1.0)]
#[case::scaled_down_a_little(3.5)]
#[case::left_alone(4.0)]
#[case::left_alone_far_below(100.0)]
fn all_gradients_share_one_factor_from_the_global_norm(#[case] max_norm: f64) {
    let (pair, mut grads) = gradients();
    let norm: f32 = clip_grad_norm(&pair, &mut grads, max_norm)
        .expect("gradients")
        .into_scalar();
    assert!((norm as f64 - NORM).abs() < 1e-5, "norm {norm} vs {NORM}");
    let factor = (max_norm / (NORM + 1e-6)).min(1.0);
    let expected = |grad: &[f32]| -> Vec<f64> { grad.iter().map(|&g| g as f64 * factor).collect() };
    for (got, want) in [
        (values::<2>(&pair, &grads, 0), expected(&A)),
        (values::<1>(&pair, &grads, 1), expected(&B)),
    ] {
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (*g as f64 - w).abs() < 1e-6,
                "max_norm {max_norm}: {got:?} vs {want:?}"
            );
        }
    }
    assert!(grads.get::<1>(pair.unused.id).is_none());
    // Clipped once, the global norm is at most max_norm.
    let after: f32 = clip_grad_norm(&pair, &mut grads, max_norm)
        .expect("gradients")
        .into_scalar();
    assert!(
        (after as f64 - NORM.min(max_norm)).abs() < 1e-5,
        "after: {after}"
    );
}

#[test]
fn no_gradients_gives_no_norm() {
    let (pair, _) = gradients();
    assert!(clip_grad_norm(&pair, &mut GradientsParams::new(), 1.0).is_none());
}

#[rstest]
#[case(0.0)]
#[case(-1.0)]
#[case(f64::NAN)]
#[case(f64::INFINITY)]
#[should_panic(expected = "max_norm: expected a positive finite number, got")]
fn max_norm_must_be_positive_and_finite(#[case] max_norm: f64) {
    let (pair, mut grads) = gradients();
    clip_grad_norm(&pair, &mut grads, max_norm);
}

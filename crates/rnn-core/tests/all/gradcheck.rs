//! Gradients against central finite differences, for each cell (autodiff vs numerics).

use burn::module::Param;
use burn::tensor::{Device, Gradients, Tensor, TensorData};
use rnn_core::{ElmanCell, GruCell, LstmCell, Nonlinearity, Rnn, RnnConfig, RnnState};
use rstest::rstest;

use crate::backend::{autodiff_device, device};
use crate::util::{Builtin, Rng, has_cell_state, values};

const BATCH: usize = 2;
const SEQ: usize = 4;
const INPUT: usize = 3;
const HIDDEN: usize = 3;
/// `proj_size` of the projecting LSTM.
const PROJ: usize = 2;
/// Finite-difference step. ReLU gets a smaller one so that fewer steps straddle its kink.
fn eps(nonlinearity: Nonlinearity) -> f32 {
    match nonlinearity {
        Nonlinearity::Tanh => 1e-2,
        Nonlinearity::Relu => 1e-3,
    }
}

/// Every differentiable leaf as host data: input, h0, (c0), then each cell's parameters
/// (`weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`, then `weight_hr` when projecting).
struct Leaves {
    shapes: Vec<Vec<usize>>,
    data: Vec<Vec<f32>>,
}

fn leaf<const D: usize>(data: &[f32], shape: &[usize], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(data.to_vec(), shape.to_vec()), device)
}

/// Loss of the network built from `leaves`, and the tensors it was built from.
fn forward<C: Builtin>(
    template: &Rnn<C>,
    leaves: &Leaves,
    lengths: Option<&[usize]>,
    device: &Device,
) -> (Tensor<1>, Vec<GradOf>) {
    let mut rnn: Rnn<C> = template.clone();
    let tensor_at = |i: usize| -> Tensor<3> {
        let t = leaf(&leaves.data[i], &leaves.shapes[i], device);
        if device.is_autodiff() {
            t.require_grad()
        } else {
            t
        }
    };
    let x = tensor_at(0);
    let h0 = tensor_at(1);
    let c0 = has_cell_state::<C>().then(|| tensor_at(2));
    let mut refs = vec![grad_of(x.clone()), grad_of(h0.clone())];
    refs.extend(c0.clone().map(grad_of));
    let mut i = refs.len();
    for cell in rnn.cells_mut() {
        let w = cell.weights_mut();
        for slot in [&mut w.weight_ih, &mut w.weight_hh] {
            *slot = Param::from_tensor(leaf(&leaves.data[i], &leaves.shapes[i], device));
            refs.push(grad_of(slot.val()));
            i += 1;
        }
        for slot in [&mut w.bias_ih, &mut w.bias_hh] {
            let p = Param::from_tensor(leaf(&leaves.data[i], &leaves.shapes[i], device));
            refs.push(grad_of(p.val()));
            *slot = Some(p);
            i += 1;
        }
        if let Some(slot) = cell.projection_mut() {
            *slot = Param::from_tensor(leaf(&leaves.data[i], &leaves.shapes[i], device));
            refs.push(grad_of(slot.val()));
            i += 1;
        }
    }
    let out = rnn.forward(x, Some(RnnState::with_cell(h0, c0)), lengths);
    // A loss that weighs every output and final-state entry differently.
    let weigh = |t: Tensor<3>| {
        let n: usize = t.dims().iter().product();
        let w: Vec<f32> = (0..n).map(|k| ((k * 7 % 11) as f32 - 5.0) / 5.0).collect();
        (t.clone() * leaf::<3>(&w, &t.dims(), device)).sum()
    };
    let mut loss = weigh(out.output) + weigh(out.state.hidden);
    if let Some(c) = out.state.cell {
        loss = loss + weigh(c);
    }
    (loss, refs)
}

/// Reads one leaf's gradient, flattened.
type GradOf = Box<dyn Fn(&Gradients) -> Vec<f32>>;

fn grad_of<const D: usize>(t: Tensor<D>) -> GradOf {
    Box::new(move |grads| values(&t.grad(grads).expect("every leaf gets a gradient")))
}

/// `proj`: the LSTM's `proj_size` (0: none).
fn check_cell<C: Builtin>(
    bidirectional: bool,
    lengths: Option<&[usize]>,
    nonlinearity: Nonlinearity,
    proj: usize,
) {
    let template: Rnn<C> = RnnConfig::new(INPUT, HIDDEN)
        .with_proj_size(proj)
        .with_bidirectional(bidirectional)
        .with_nonlinearity(nonlinearity)
        .init(&device());
    let directions = template.num_directions();
    let state_size = if proj > 0 { proj } else { HIDDEN };
    let mut shapes = vec![vec![BATCH, SEQ, INPUT], vec![directions, BATCH, state_size]];
    if has_cell_state::<C>() {
        shapes.push(vec![directions, BATCH, HIDDEN]);
    }
    for _ in 0..directions {
        let width = C::GATES * HIDDEN;
        shapes.extend([
            vec![width, INPUT],
            vec![width, state_size],
            vec![width],
            vec![width],
        ]);
        if proj > 0 {
            shapes.push(vec![proj, HIDDEN]);
        }
    }
    let mut rng = Rng::new(7 + C::GATES as u64);
    let data = shapes
        .iter()
        .map(|s| {
            (0..s.iter().product::<usize>())
                .map(|_| rng.float() * 0.8)
                .collect()
        })
        .collect();
    let mut leaves = Leaves { shapes, data };

    let (loss, refs) = forward(&template, &leaves, lengths, &autodiff_device());
    let grads = loss.backward();
    let analytic: Vec<Vec<f32>> = refs.iter().map(|grad| grad(&grads)).collect();

    let plain = device();
    let loss_at =
        |leaves: &Leaves| -> f32 { forward(&template, leaves, lengths, &plain).0.into_scalar() };
    let eps = eps(nonlinearity);
    let mut checked = 0;
    for (li, grad) in analytic.iter().enumerate() {
        // A few entries of every leaf, spread over it.
        let n = grad.len();
        for j in (0..n).step_by((n / 4).max(1)) {
            let original = leaves.data[li][j];
            leaves.data[li][j] = original + eps;
            let up = loss_at(&leaves);
            leaves.data[li][j] = original - eps;
            let down = loss_at(&leaves);
            leaves.data[li][j] = original;
            let numeric = (up - down) / (2.0 * eps);
            let close = |n: f32| (n - grad[j]).abs() <= 2e-3 + 1e-2 * n.abs();
            // A ReLU kink may lie within eps of the point: then the autodiff gradient is one of
            // the one-sided differences.
            let one_sided = nonlinearity == Nonlinearity::Relu && {
                let at = loss_at(&leaves);
                close((up - at) / eps) || close((at - down) / eps)
            };
            assert!(
                close(numeric) || one_sided,
                "{} leaf {li} entry {j}: autodiff {} vs finite difference {numeric}",
                C::NAME,
                grad[j]
            );
            checked += 1;
        }
    }
    assert!(checked >= 4 * analytic.len());
}

#[rstest]
fn gradients_match_finite_differences(
    #[values("elman_tanh", "elman_relu", "lstm", "lstm_proj", "gru")] cell: &str,
    #[values(false, true)] bidirectional: bool,
    #[values(false, true)] padded: bool,
) {
    let lengths = padded.then_some(&[SEQ - 1, 2][..]);
    match cell {
        "elman_tanh" => check_cell::<ElmanCell>(bidirectional, lengths, Nonlinearity::Tanh, 0),
        "elman_relu" => check_cell::<ElmanCell>(bidirectional, lengths, Nonlinearity::Relu, 0),
        "lstm" => check_cell::<LstmCell>(bidirectional, lengths, Nonlinearity::Tanh, 0),
        "lstm_proj" => check_cell::<LstmCell>(bidirectional, lengths, Nonlinearity::Tanh, PROJ),
        "gru" => check_cell::<GruCell>(bidirectional, lengths, Nonlinearity::Tanh, 0),
        _ => unreachable!(),
    }
}

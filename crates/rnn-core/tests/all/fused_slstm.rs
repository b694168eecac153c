//! The sLSTM's fused kernel against its step-by-step driver ([`Stepwise`], Burn's tensor
//! operations): the outputs, the four final state parts, and the gradients of a weighted sum
//! of them (`m` included) with respect to the input, the four initial state parts and every
//! weight, with and without autodiff. At `fused.rs`'s sizes (the work split by examples and by
//! hidden units; a layer's input is batch-first), padded and not, with one and two heads
//! (then one unit more, so that they divide it), both forget gates, from a zero state (the
//! first-step rule for `m`), a given one (`n > 0`), and one that is zero for half the batch.
//!
//! On ndarray and flex the layer runs the kernel, which each case checks it did (the kernel
//! counter moves for the fused runs and not for the step driver's). Other backends run no
//! sLSTM kernel (`slstm_runs_no_kernel_off_the_cpu` checks that): there both sides would run
//! the same step driver, so the cases return at once.

use burn::module::Param;
use burn::tensor::{Device, Gradients, Tensor, TensorData};
use rnn_core::cell::SlstmWeights;
use rnn_core::{
    Cell, CellConfig, CellState, ForgetGate, Lengths, Recurrent, SlstmCell, SlstmState,
};
use rstest::rstest;

use crate::backend::{self, autodiff_device, device};
use crate::fused::{FIVE, FORTY, ONE, Sizes, TWO, WIDE, assert_close, expect_kernel, weigh};
use crate::util::{Rng, values};
use rnn_core::cell::Stepwise;

const INPUT: usize = 7;

/// The state a case starts from.
#[derive(Debug, Clone, Copy)]
enum Start {
    /// All zero: the first step takes `m' = ĩ`.
    Zero,
    /// Random `h`, `c`, `m`, and `n > 0`.
    Given,
    /// [`Start::Given`], but zero for the even examples.
    Mixed,
}

/// A cell the layer runs: the sLSTM, with its kernel or without.
trait SlstmLike: Cell<State<2> = SlstmState<2>, Weights = SlstmWeights> {}

impl<C: Cell<State<2> = SlstmState<2>, Weights = SlstmWeights>> SlstmLike for C {}

/// Outputs, final state parts, and the gradients of the loss (when run with autodiff), flat.
struct Run {
    output: Vec<f32>,
    state: Vec<Vec<f32>>,
    grads: Vec<(&'static str, Vec<f32>)>,
}

/// The parameters of a case on `device` (same values every call, fresh leaves): random, the recurrent blocks scaled by `1 / sqrt(dh)`, the
/// bias the initialisation's (forget gates spread from +5 to -7) plus noise.
fn weights(config: &CellConfig, device: &Device) -> SlstmWeights {
    let mut rng = Rng::new(17);
    let init = SlstmWeights::init(config, device);
    let dh = config.hidden_size / config.num_heads;
    let recurrent = rng.tensor(init.weight_hh.dims(), device) / (dh as f32).sqrt();
    SlstmWeights {
        weight_ih: Param::from_tensor(rng.tensor(init.weight_ih.dims(), device)),
        weight_hh: Param::from_tensor(recurrent),
        bias: init.bias.map(|b| {
            let noise = rng.tensor(b.dims(), device) * 0.5;
            Param::from_tensor((b.val() + noise).detach())
        }),
    }
}

fn leaf<const D: usize>(t: Tensor<D>) -> Tensor<D> {
    if t.device().is_autodiff() {
        t.require_grad()
    } else {
        t
    }
}

/// The input and the initial state's parts (same values every call).
fn inputs(
    sizes: Sizes,
    hidden: usize,
    start: Start,
    device: &Device,
) -> (Tensor<3>, [Tensor<2>; 4]) {
    let Sizes { seq, batch, .. } = sizes;
    let mut rng = Rng::new(11);
    let x = leaf(rng.tensor([batch, seq, INPUT], device));
    let given = |rng: &mut Rng, positive: bool| {
        let t = rng.tensor([batch, hidden], device);
        if positive { t.abs() + 0.5 } else { t }
    };
    let mut parts = [
        given(&mut rng, false),
        given(&mut rng, false),
        given(&mut rng, true),
        given(&mut rng, false),
    ];
    match start {
        Start::Zero => parts = parts.map(|p| p.zeros_like()),
        Start::Given => {}
        Start::Mixed => {
            let odd: Vec<f32> = (0..batch).map(|b| (b % 2) as f32).collect();
            let odd = Tensor::<2>::from_data(TensorData::new(odd, [batch, 1]), device);
            parts = parts.map(|p| p * odd.clone());
        }
    }
    (x, parts.map(leaf))
}

/// How a case runs the cell.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Drive {
    /// A layer over the sequence, with lengths.
    Layer,
    /// [`Cell::step`] (a sequence of one step; its output is the new `h`).
    Step,
}

/// A layer of `C` (or its `step`) with the case's weights over the case's input from its
/// initial state; with autodiff, the gradients of a weighted sum of the outputs and the final
/// state's parts.
fn run<C: SlstmLike>(
    config: &CellConfig,
    (sizes, start, lengths): (Sizes, Start, &[usize]),
    drive: Drive,
    device: &Device,
) -> Run {
    let mut cell: C = config.init(device);
    *cell.weights_mut() = weights(config, device);
    let (x, initial) = inputs(sizes, config.hidden_size, start, device);
    let state = SlstmState::from_parts(initial.to_vec());
    let (output, finals, cell) = match drive {
        Drive::Layer => {
            let layer = Recurrent::new(cell, false);
            let lengths = Lengths::new(lengths, sizes.seq, device).expect("lengths");
            let (output, state) = layer.forward(x.clone(), Some(state), Some(&lengths));
            (output, state.into_parts(), layer.cell)
        }
        Drive::Step => {
            assert_eq!(sizes.seq, 1, "a step is a sequence of one");
            let next = cell.step(x.clone().squeeze_dim(1), state);
            (
                next.hidden.clone().unsqueeze_dim(1),
                next.into_parts(),
                cell,
            )
        }
    };
    let state: Vec<Vec<f32>> = finals.iter().map(values).collect();
    let mut run = Run {
        output: values(&output),
        state,
        grads: Vec::new(),
    };
    if device.is_autodiff() {
        let loss = finals
            .into_iter()
            .fold(weigh(output, device), |l, part| l + weigh(part, device));
        let grads = loss.backward();
        run.grads = grads_of(&x, &initial, cell.weights(), &grads);
    }
    run
}

fn grads_of(
    x: &Tensor<3>,
    initial: &[Tensor<2>; 4],
    w: &SlstmWeights,
    grads: &Gradients,
) -> Vec<(&'static str, Vec<f32>)> {
    let of = |name, g: Option<Vec<f32>>| (name, g.unwrap_or_else(|| panic!("{name}: no gradient")));
    let mut out = vec![of("x", x.grad(grads).as_ref().map(values))];
    for (name, part) in ["h0", "c0", "n0", "m0"].into_iter().zip(initial) {
        out.push(of(name, part.grad(grads).as_ref().map(values)));
    }
    out.push(of(
        "weight_ih",
        w.weight_ih.val().grad(grads).as_ref().map(values),
    ));
    out.push(of(
        "weight_hh",
        w.weight_hh.val().grad(grads).as_ref().map(values),
    ));
    let bias = w.bias.as_ref().expect("a bias").val();
    out.push(of("bias", bias.grad(grads).as_ref().map(values)));
    out
}

/// Whether the layer runs the fused kernels on the backend under test.
fn runs_fused() -> bool {
    matches!(backend::name().as_str(), "ndarray" | "flex")
}

/// The configuration of a case: one unit more with two heads, so that they divide it.
fn config_of(sizes: Sizes, heads: usize, forget_gate: ForgetGate) -> CellConfig {
    CellConfig::new(INPUT, sizes.hidden + heads - 1)
        .with_num_heads(heads)
        .with_forget_gate(forget_gate)
}

fn check(
    sizes: Sizes,
    padded: bool,
    heads: usize,
    forget_gate: ForgetGate,
    start: Start,
    drive: Drive,
) {
    if !runs_fused() {
        // Both sides would run the same step driver (`modern_parity.rs` and `slstm.rs` test it).
        return;
    }
    let config = config_of(sizes, heads, forget_gate);
    let lengths: Vec<usize> = (0..sizes.batch)
        .map(|b| {
            if padded {
                1 + (b * 7 + 2) % sizes.seq
            } else {
                sizes.seq
            }
        })
        .collect();
    let case = (sizes, start, lengths.as_slice());
    let train = autodiff_device();
    let fused = expect_kernel(true, || run::<SlstmCell>(&config, case, drive, &train));
    let steps = expect_kernel(false, || {
        run::<Stepwise<SlstmCell>>(&config, case, drive, &train)
    });
    let inference = expect_kernel(true, || run::<SlstmCell>(&config, case, drive, &device()));
    for (what, run) in [("", &fused), (" without autodiff", &inference)] {
        assert_close(&format!("output{what}"), &run.output, &steps.output);
        let names = ["h_n", "c_n", "n_n", "m_n"];
        for ((name, a), e) in names.iter().zip(&run.state).zip(&steps.state) {
            assert_close(&format!("{name}{what}"), a, e);
        }
    }
    assert_eq!(fused.grads.len(), steps.grads.len());
    for ((name, a), (_, e)) in fused.grads.iter().zip(&steps.grads) {
        assert_close(&format!("gradient of {name}"), a, e);
    }
}

#[rstest]
fn slstm_matches_steps(
    #[values(WIDE, ONE, TWO, FIVE, FORTY)] sizes: Sizes,
    #[values(false, true)] padded: bool,
    #[values(1, 2)] heads: usize,
    #[values(ForgetGate::Sigmoid, ForgetGate::Exponential)] forget_gate: ForgetGate,
    #[values(Start::Zero, Start::Given, Start::Mixed)] start: Start,
) {
    check(sizes, padded, heads, forget_gate, start, Drive::Layer);
}

/// `Cell::step`, the kernel's run of one step: the weights are read in place instead of
/// packed (on one thread, or split by hidden units).
#[rstest]
fn slstm_single_steps_match(
    #[values(ONE, TWO, FORTY)] sizes: Sizes,
    #[values(1, 2)] heads: usize,
    #[values(ForgetGate::Sigmoid, ForgetGate::Exponential)] forget_gate: ForgetGate,
    #[values(Start::Zero, Start::Given)] start: Start,
) {
    check(
        Sizes { seq: 1, ..sizes },
        false,
        heads,
        forget_gate,
        start,
        Drive::Step,
    );
}

/// The backends without an sLSTM kernel (all but ndarray and flex) run it step by step, as
/// the cases above assume when they return at once there; and ndarray and flex run it.
#[test]
fn slstm_runs_no_kernel_off_the_cpu() {
    let sizes = TWO;
    let config = config_of(sizes, 2, ForgetGate::Sigmoid);
    let lengths = vec![sizes.seq; sizes.batch];
    let case = (sizes, Start::Given, lengths.as_slice());
    for device in [device(), autodiff_device()] {
        expect_kernel(runs_fused(), || {
            run::<SlstmCell>(&config, case, Drive::Layer, &device)
        });
    }
}

//! The whole-sequence driver, and the single step (`Cell::step`), against the cell's step in
//! Burn tensor operations ([`Stepwise`]), outputs and gradients.
//!
//! On ndarray and flex the driver is the fused CPU kernel; on a machine with several cores the
//! sizes here make it share the work between threads both ways: by examples for the wide
//! batches (96 and 40), by hidden units for the narrow ones (1, 2 and 5; odd hidden sizes, so
//! the parts differ), padded and not. The kernel projects the input a chunk of steps at a time
//! (24 rows, rounded up to whole steps: 1 step of a batch of 40, 5 of a batch of 5, 24 of a
//! batch of 1), and outside autodiff keeps only the current chunk's projections, so the
//! sequences of the narrow batches are longer than a chunk and not a multiple of it, and each
//! case also runs without autodiff. A single step is the kernel's run of one step, whose
//! weights are read in place instead of packed. On wgpu the driver and the single step are the
//! CubeCL kernels (except with a projection, which runs step by step there). Every test checks
//! that a kernel ran where one should (and not elsewhere); on other backends both sides use
//! Burn's tensor operations and the test checks the step-by-step driver against single steps.

use std::time::Duration;

use burn::module::{Module, Param};
use burn::tensor::{Device, Gradients, Tensor, TensorData};
use rnn_core::cell::Stepwise;
use rnn_core::{Cell, ElmanCell, GruCell, LstmCell, Nonlinearity, Rnn, RnnConfig, RnnState};
use rstest::rstest;

use crate::backend::{autodiff_device, device};
use crate::measure::{child_argument, in_child};
use crate::util::{Builtin, Rng, has_cell_state, values};

const INPUT: usize = 7;

/// Sequence length, batch and hidden sizes of a case, and whether its input is batch-first (the
/// kernel then reads it in place through its strides, or copies it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizes {
    pub seq: usize,
    pub batch: usize,
    pub hidden: usize,
    pub batch_first: bool,
}

pub(crate) const WIDE: Sizes = Sizes {
    seq: 5,
    batch: 96,
    hidden: 45,
    batch_first: true,
};
pub(crate) const ONE: Sizes = Sizes {
    seq: 30,
    batch: 1,
    hidden: 261,
    batch_first: false,
};
pub(crate) const TWO: Sizes = Sizes {
    seq: 5,
    batch: 2,
    hidden: 135,
    batch_first: false,
};
pub(crate) const FIVE: Sizes = Sizes {
    seq: 12,
    batch: 5,
    hidden: 61,
    batch_first: true,
};
pub(crate) const FORTY: Sizes = Sizes {
    seq: 5,
    batch: 40,
    hidden: 45,
    batch_first: false,
};

/// Outputs, final state, and the gradients of a weighted sum of them with respect to every
/// input and parameter, flattened.
struct Run {
    output: Vec<f32>,
    h_n: Vec<f32>,
    c_n: Option<Vec<f32>>,
    grads: Vec<(&'static str, Vec<f32>)>,
}

struct Leaves {
    x: Tensor<3>,
    h0: Tensor<2>,
    c0: Option<Tensor<2>>,
}

pub(crate) fn weigh<const D: usize>(t: Tensor<D>, device: &Device) -> Tensor<1> {
    let n: usize = t.dims().iter().product();
    let w: Vec<f32> = (0..n).map(|k| ((k * 7 % 11) as f32 - 5.0) / 5.0).collect();
    (t.clone() * Tensor::<D>::from_data(TensorData::new(w, t.dims().to_vec()), device)).sum()
}

fn grads_of<C: Builtin>(
    rnn: &Rnn<C>,
    leaves: &Leaves,
    grads: &Gradients,
) -> Vec<(&'static str, Vec<f32>)> {
    let w = rnn.cells()[0].weights();
    let of = |t: Tensor<2>| values(&t.grad(grads).expect("gradient"));
    let of1 = |t: Tensor<1>| values(&t.grad(grads).expect("gradient"));
    let mut out = vec![
        ("x", values(&leaves.x.grad(grads).expect("gradient"))),
        ("h0", of(leaves.h0.clone())),
        ("weight_ih", of(w.weight_ih.val())),
        ("weight_hh", of(w.weight_hh.val())),
        ("bias_ih", of1(w.bias_ih.as_ref().expect("bias").val())),
        ("bias_hh", of1(w.bias_hh.as_ref().expect("bias").val())),
    ];
    if let Some(w_hr) = rnn.cells()[0].projection() {
        out.push(("weight_hr", of(w_hr.val())));
    }
    if let Some(c0) = &leaves.c0 {
        out.push(("c0", of(c0.clone())));
    }
    out
}

/// Fresh leaves (same values every call), with gradients when `device` has autodiff; `h0` has
/// `proj` values per example when not 0.
fn leaves<C: Builtin>(sizes: Sizes, proj: usize, device: &Device) -> Leaves {
    let Sizes {
        seq, batch, hidden, ..
    } = sizes;
    let h = if proj > 0 { proj } else { hidden };
    fn leaf<const D: usize>(t: Tensor<D>) -> Tensor<D> {
        if t.device().is_autodiff() {
            t.require_grad()
        } else {
            t
        }
    }
    let mut rng = Rng::new(11);
    Leaves {
        x: leaf(if sizes.batch_first {
            rng.tensor([batch, seq, INPUT], device)
        } else {
            rng.tensor([seq, batch, INPUT], device)
        }),
        h0: leaf(rng.tensor([batch, h], device) * 0.5),
        c0: has_cell_state::<C>().then(|| leaf(rng.tensor([batch, hidden], device) * 0.5)),
    }
}

/// Fresh parameters with gradients, copied from `template`.
fn tracked<C: Builtin>(template: &Rnn<C>) -> Rnn<C> {
    let mut rnn = template.clone();
    for cell in rnn.cells_mut() {
        let w = cell.weights_mut();
        for p in [&mut w.weight_ih, &mut w.weight_hh] {
            *p = Param::from_tensor(p.val().detach().require_grad());
        }
        for p in [&mut w.bias_ih, &mut w.bias_hh].into_iter().flatten() {
            *p = Param::from_tensor(p.val().detach().require_grad());
        }
        if let Some(p) = cell.projection_mut() {
            *p = Param::from_tensor(p.val().detach().require_grad());
        }
    }
    rnn
}

/// The proj_size of `rnn`'s first cell, 0 without a projection.
fn proj_of<C: Builtin>(rnn: &Rnn<C>) -> usize {
    rnn.cells()[0].projection().map_or(0, |w| w.dims()[0])
}

/// Whether a layer with a projection to `proj` values (none when 0) runs a fused kernel on this
/// backend: on ndarray and flex always, on wgpu without a projection.
fn runs_kernel(proj: usize) -> bool {
    match crate::backend::name().as_str() {
        "ndarray" | "flex" => true,
        "wgpu" => proj == 0,
        _ => false,
    }
}

/// `run()`, checking that it ran a fused kernel (`expected`) or none, so that a layer that
/// silently runs step by step fails the test.
pub(crate) fn expect_kernel<T>(expected: bool, run: impl FnOnce() -> T) -> T {
    let before = rnn_core::kernel_runs_on_this_thread();
    let result = run();
    let ran = rnn_core::kernel_runs_on_this_thread() > before;
    assert_eq!(
        ran,
        expected,
        "whether a fused kernel ran on {}",
        crate::backend::name()
    );
    result
}

/// The layer's own driver.
fn whole_sequence<C: Builtin>(
    template: &Rnn<C>,
    sizes: Sizes,
    lengths: &[usize],
    device: &Device,
) -> Run {
    let rnn = tracked(template);
    let leaves = leaves::<C>(sizes, proj_of(template), device);
    let state = RnnState::with_cell(
        leaves.h0.clone().unsqueeze_dim(0),
        leaves.c0.clone().map(|c| c.unsqueeze_dim(0)),
    );
    let out = expect_kernel(runs_kernel(proj_of(template)), || {
        rnn.forward(leaves.x.clone(), Some(state), Some(lengths))
    });
    let h_n: Tensor<2> = out.state.hidden.squeeze_dim(0);
    let c_n: Option<Tensor<2>> = out.state.cell.map(|c| c.squeeze_dim(0));
    let mut loss = weigh(out.output.clone(), device) + weigh(h_n.clone(), device);
    if let Some(c) = &c_n {
        loss = loss + weigh(c.clone(), device);
    }
    let grads = loss.backward();
    Run {
        output: values(&out.output),
        h_n: values(&h_n),
        c_n: c_n.as_ref().map(values),
        grads: grads_of(&rnn, &leaves, &grads),
    }
}

/// The layer's own driver without autodiff: outputs, `h_n`, `c_n`.
fn inference<C: Builtin>(
    template: &Rnn<C>,
    sizes: Sizes,
    lengths: &[usize],
) -> (Vec<f32>, Vec<f32>, Option<Vec<f32>>) {
    let device = device();
    let rnn = template.clone().valid().to_device(&device);
    let leaves = leaves::<C>(sizes, proj_of(template), &device);
    let state = RnnState::with_cell(
        leaves.h0.unsqueeze_dim(0),
        leaves.c0.map(|c| c.unsqueeze_dim(0)),
    );
    let out = expect_kernel(runs_kernel(proj_of(template)), || {
        rnn.forward(leaves.x, Some(state), Some(lengths))
    });
    (
        values(&out.output),
        values(&out.state.hidden),
        out.state.cell.as_ref().map(values),
    )
}

/// The cell's step in Burn tensor operations ([`Stepwise`]) in a loop, padding handled by
/// masks.
///
/// Under burn's `fusion` on wgpu, on ndarray instead: there burn-cubecl-fusion 0.22.1 computes
/// these operations wrongly for a batch of one (an LSTM of 32 units, one step, its output
/// times a `[1, 1]` mask: all but the first 4 units differ from ndarray's, while the kernel's
/// agree with ndarray's to 1e-6).
#[allow(deprecated)] // burn-ndarray is deprecated in favour of flex, and still a backend we support
fn single_steps<C: Builtin>(
    template: &Rnn<C>,
    sizes: Sizes,
    lengths: &[usize],
    device: &Device,
) -> Run {
    if crate::backend::with_fusion() {
        let cpu = if device.is_autodiff() {
            Device::ndarray().autodiff()
        } else {
            Device::ndarray()
        };
        return steps_on(&template.clone().to_device(&cpu), sizes, lengths, &cpu);
    }
    steps_on(template, sizes, lengths, device)
}

/// [`single_steps`] on `device`.
fn steps_on<C: Builtin>(
    template: &Rnn<C>,
    sizes: Sizes,
    lengths: &[usize],
    device: &Device,
) -> Run {
    let rnn = tracked(template);
    let cell = Stepwise::new(rnn.cells()[0].clone());
    let leaves = leaves::<C>(sizes, proj_of(template), device);
    let mut state = RnnState::with_cell(leaves.h0.clone(), leaves.c0.clone());
    let mut outputs = Vec::new();
    for t in 0..sizes.seq {
        let keep: Vec<f32> = lengths.iter().map(|&l| (t < l) as u8 as f32).collect();
        let keep = Tensor::<2>::from_data(TensorData::new(keep, [sizes.batch, 1]), device);
        let time = usize::from(sizes.batch_first);
        let x_t = leaves.x.clone().narrow(time, t, 1).squeeze_dim(time);
        let next = cell.step(x_t, state.clone());
        let select =
            |new: Tensor<2>, old: Tensor<2>| new * keep.clone() + old * (keep.clone().neg() + 1.0);
        outputs.push(next.hidden.clone() * keep.clone());
        state = RnnState::with_cell(
            select(next.hidden, state.hidden),
            next.cell.zip(state.cell).map(|(n, o)| select(n, o)),
        );
    }
    let output = Tensor::stack::<3>(outputs, usize::from(sizes.batch_first));
    let mut loss = weigh(output.clone(), device) + weigh(state.hidden.clone(), device);
    if let Some(c) = &state.cell {
        loss = loss + weigh(c.clone(), device);
    }
    let grads = loss.backward();
    Run {
        output: values(&output),
        h_n: values(&state.hidden),
        c_n: state.cell.as_ref().map(values),
        grads: grads_of(&rnn, &leaves, &grads),
    }
}

pub(crate) fn assert_close(what: &str, actual: &[f32], expected: &[f32]) {
    assert_eq!(actual.len(), expected.len(), "{what}: sizes differ");
    let scale = expected.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let err = actual
        .iter()
        .zip(expected)
        .map(|(a, e)| (a - e).abs())
        .fold(0.0, f32::max);
    assert!(
        err <= 2e-5 * scale,
        "{what}: max abs error {err:e} (scale {scale})"
    );
}

/// Every example's length: the whole sequence, or when `padded` varied lengths (with one
/// example, shorter than the sequence).
fn lengths(sizes: Sizes, padded: bool) -> Vec<usize> {
    (0..sizes.batch)
        .map(|b| {
            if padded {
                1 + (b * 7 + 2) % sizes.seq
            } else {
                sizes.seq
            }
        })
        .collect()
}

fn check<C: Builtin>(nonlinearity: Nonlinearity, sizes: Sizes, padded: bool) {
    check_lengths::<C>(nonlinearity, sizes, lengths(sizes, padded));
}

fn check_lengths<C: Builtin>(nonlinearity: Nonlinearity, sizes: Sizes, lengths: Vec<usize>) {
    check_projected::<C>(nonlinearity, sizes, lengths, 0);
}

/// [`check_lengths`] for a layer whose `h` is projected to `proj` values (none when 0).
fn check_projected<C: Builtin>(
    nonlinearity: Nonlinearity,
    sizes: Sizes,
    lengths: Vec<usize>,
    proj: usize,
) {
    let device = autodiff_device();
    let template: Rnn<C> = RnnConfig::new(INPUT, sizes.hidden)
        .with_batch_first(sizes.batch_first)
        .with_nonlinearity(nonlinearity)
        .with_proj_size(proj)
        .init(&device);
    let fused = whole_sequence(&template, sizes, &lengths, &device);
    let steps = single_steps(&template, sizes, &lengths, &device);
    assert_close("output", &fused.output, &steps.output);
    assert_close("h_n", &fused.h_n, &steps.h_n);
    if let (Some(a), Some(e)) = (&fused.c_n, &steps.c_n) {
        assert_close("c_n", a, e);
    }
    let (output, h_n, c_n) = inference(&template, sizes, &lengths);
    assert_close("output without autodiff", &output, &steps.output);
    assert_close("h_n without autodiff", &h_n, &steps.h_n);
    if let (Some(a), Some(e)) = (&c_n, &steps.c_n) {
        assert_close("c_n without autodiff", a, e);
    }
    assert_eq!(fused.grads.len(), steps.grads.len());
    for ((name, a), (_, e)) in fused.grads.iter().zip(&steps.grads) {
        assert_close(&format!("gradient of {name}"), a, e);
    }
}

#[rstest]
fn lstm_matches_single_steps(
    #[values(WIDE, ONE, TWO, FIVE, FORTY)] sizes: Sizes,
    #[values(false, true)] padded: bool,
) {
    check::<LstmCell>(Nonlinearity::Tanh, sizes, padded);
}

/// The LSTM with a projection (`proj_size`): its lanes never split the hidden units, so the
/// narrow batches run on one thread, the wide ones split by examples.
#[rstest]
fn projected_lstm_matches_single_steps(
    #[values(WIDE, ONE, TWO, FIVE, FORTY)] sizes: Sizes,
    #[values(false, true)] padded: bool,
) {
    let lengths = lengths(sizes, padded);
    check_projected::<LstmCell>(Nonlinearity::Tanh, sizes, lengths, sizes.hidden / 3);
}

#[rstest]
fn gru_matches_single_steps(
    #[values(WIDE, ONE, TWO, FIVE, FORTY)] sizes: Sizes,
    #[values(false, true)] padded: bool,
) {
    check::<GruCell>(Nonlinearity::Tanh, sizes, padded);
}

#[rstest]
fn elman_matches_single_steps(
    #[values(Nonlinearity::Tanh, Nonlinearity::Relu)] nonlinearity: Nonlinearity,
    #[values(WIDE, ONE, TWO, FIVE, FORTY)] sizes: Sizes,
    #[values(false, true)] padded: bool,
) {
    check::<ElmanCell>(nonlinearity, sizes, padded);
}

/// One step of `cell` from the leaves' initial state: `h`, `c`, and with autodiff the
/// gradients of a weighted sum of them.
fn one_step<C: Builtin, S: Cell<State<2> = RnnState<2>>>(
    template: &Rnn<C>,
    sizes: Sizes,
    device: &Device,
    cell: impl Fn(C) -> S,
) -> Run {
    let rnn = if device.is_autodiff() {
        tracked(template)
    } else {
        template.clone().valid().to_device(device)
    };
    let leaves = leaves::<C>(sizes, proj_of(template), device);
    let x: Tensor<2> = leaves.x.clone().squeeze_dim(usize::from(sizes.batch_first));
    let state = RnnState::with_cell(leaves.h0.clone(), leaves.c0.clone());
    let next = cell(rnn.cells()[0].clone()).step(x, state);
    let grads = device.is_autodiff().then(|| {
        let mut loss = weigh(next.hidden.clone(), device);
        if let Some(c) = &next.cell {
            loss = loss + weigh(c.clone(), device);
        }
        grads_of(&rnn, &leaves, &loss.backward())
    });
    Run {
        output: Vec::new(),
        h_n: values(&next.hidden),
        c_n: next.cell.as_ref().map(values),
        grads: grads.unwrap_or_default(),
    }
}

/// `Cell::step` against the step in Burn tensor operations ([`Stepwise`]), with autodiff and
/// without: on ndarray and flex it is the kernel's run of one step (not bit for bit the same
/// as the tensor operations, which the test checks so that it fails if the step silently runs
/// them), on one thread or split by hidden units.
fn check_step<C: Builtin>(nonlinearity: Nonlinearity, sizes: Sizes) {
    check_step_projected::<C>(nonlinearity, sizes, 0);
}

/// [`check_step`] for a cell whose `h` is projected to `proj` values (none when 0).
fn check_step_projected<C: Builtin>(nonlinearity: Nonlinearity, sizes: Sizes, proj: usize) {
    let sizes = Sizes { seq: 1, ..sizes };
    let template: Rnn<C> = RnnConfig::new(INPUT, sizes.hidden)
        .with_nonlinearity(nonlinearity)
        .with_proj_size(proj)
        .init(&autodiff_device());
    for device in [autodiff_device(), device()] {
        let kernel = expect_kernel(runs_kernel(proj), || {
            one_step(&template, sizes, &device, |c| c)
        });
        let tensors = expect_kernel(false, || one_step(&template, sizes, &device, Stepwise::new));
        assert_close("h", &kernel.h_n, &tensors.h_n);
        if let (Some(a), Some(e)) = (&kernel.c_n, &tensors.c_n) {
            assert_close("c", a, e);
        }
        assert_eq!(kernel.grads.len(), tensors.grads.len());
        for ((name, a), (_, e)) in kernel.grads.iter().zip(&tensors.grads) {
            assert_close(&format!("gradient of {name}"), a, e);
        }
        if crate::backend::on_cpu_kernels() {
            assert!(
                (&kernel.h_n, &kernel.c_n) != (&tensors.h_n, &tensors.c_n),
                "the same bits as the tensor operations: the step did not run the kernel"
            );
        }
    }
}

#[rstest]
fn steps_match_the_tensor_step(
    #[values(WIDE, ONE, TWO, FIVE, FORTY)] sizes: Sizes,
    #[values("lstm", "lstm-proj", "gru", "elman", "elman-relu")] cell: &str,
) {
    match cell {
        "lstm" => check_step::<LstmCell>(Nonlinearity::Tanh, sizes),
        "lstm-proj" => {
            check_step_projected::<LstmCell>(Nonlinearity::Tanh, sizes, sizes.hidden / 3)
        }
        "gru" => check_step::<GruCell>(Nonlinearity::Tanh, sizes),
        "elman" => check_step::<ElmanCell>(Nonlinearity::Tanh, sizes),
        _ => check_step::<ElmanCell>(Nonlinearity::Relu, sizes),
    }
}

/// A batch that needs more cubes than one launch dimension holds on the GPU (65,535 on
/// WebGPU; 600,008 examples at 8 a cube: 75,001 cubes, launched as 2 × 37,501 with one idle):
/// every example is computed, as it is alone, forward and backward. On the CPU backends, the
/// same through their kernels.
#[test]
fn a_batch_of_more_cubes_than_a_launch_dimension_holds() {
    let device = autodiff_device();
    let (batch, seq) = (600_008, 3);
    let lstm: Rnn<LstmCell> = RnnConfig::new(1, 1).init(&device);
    let x: Vec<f32> = (0..batch * seq).map(|i| (i as f32 * 0.37).sin()).collect();
    let run = |examples: std::ops::Range<usize>| {
        let values_of = |t: &Tensor<3>| values(t);
        let x = Tensor::<3>::from_data(
            TensorData::new(
                x[examples.start * seq..examples.end * seq].to_vec(),
                [examples.len(), seq, 1],
            ),
            &device,
        )
        .require_grad();
        let out = expect_kernel(runs_kernel(0), || lstm.forward(x.clone(), None, None));
        let grads = out.output.clone().powi_scalar(2).sum().backward();
        (values_of(&out.output), values_of(&x.grad(&grads).unwrap()))
    };
    let (outputs, grads) = run(0..batch);
    for part in [0..4, batch / 2..batch / 2 + 4, batch - 4..batch] {
        let (alone, alone_grads) = run(part.clone());
        let whole = part.start * seq..part.end * seq;
        for (what, all, alone) in [
            ("output", &outputs[whole.clone()], &alone[..]),
            ("gradient", &grads[whole.clone()], &alone_grads[..]),
        ] {
            for (i, (a, b)) in all.iter().zip(alone).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-6,
                    "{what} {i} of examples {part:?}: {a} vs {b}"
                );
            }
        }
    }
}

/// Runs of one computed step (a sequence of one, or lengths all 1) trained with the work split
/// between two threads (by hidden units: a run of one step is never split by examples): the
/// backward pass's products over the states after the first step are then empty, and must not
/// touch their operands (a bounds check once fired there). And single steps (`Cell::step`)
/// large enough to be shared between two threads. In a child process, whose thread cap is 2
/// (changing the cap here would change how the other tests' runs are split).
#[test]
fn one_step_runs_train_on_two_threads() {
    let test = "fused::one_step_runs_train_on_two_threads";
    if child_argument().is_none() {
        in_child(
            test,
            "run",
            &[("RNN_KERNEL_THREADS", "2")],
            Duration::from_secs(600),
        );
        return;
    }
    let one = Sizes {
        seq: 1,
        batch: 1,
        hidden: 256,
        batch_first: false,
    };
    let twelve = Sizes {
        seq: 1,
        batch: 12,
        hidden: 32,
        batch_first: true,
    };
    for sizes in [one, twelve] {
        for seq in [1, 4] {
            let sizes = Sizes { seq, ..sizes };
            let lengths = vec![1; sizes.batch];
            check_lengths::<LstmCell>(Nonlinearity::Tanh, sizes, lengths.clone());
            check_lengths::<GruCell>(Nonlinearity::Tanh, sizes, lengths.clone());
            check_lengths::<ElmanCell>(Nonlinearity::Tanh, sizes, lengths.clone());
            check_projected::<LstmCell>(Nonlinearity::Tanh, sizes, lengths, 7);
        }
    }
    // Steps shared between the two threads: LSTM and GRU steps of 32 examples (multiplied by
    // the dot-product tiles) and of 64 (by `gemm`), an Elman step of 96.
    let shared = |batch| Sizes {
        seq: 1,
        batch,
        hidden: 257,
        batch_first: true,
    };
    for batch in [32, 64] {
        check_step::<LstmCell>(Nonlinearity::Tanh, shared(batch));
        check_step::<GruCell>(Nonlinearity::Tanh, shared(batch));
    }
    check_step::<ElmanCell>(Nonlinearity::Relu, shared(96));
}

/// Whether this CPU's flags (`/proc/cpuinfo`, read independently of the kernels' own
/// detection) include `flag`; `None` where there is no such file.
fn cpu_has(flag: &str) -> Option<bool> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let flags = info.lines().find(|l| l.starts_with("flags"))?;
    Some(flags.split_whitespace().any(|f| f == flag))
}

/// Every instruction set the kernels have a path for (`RNN_KERNEL_ISA` caps it, in a child
/// process each: the choice is the process's) gives the single steps' outputs and gradients,
/// so the paths agree with each other too; on a CPU with AVX-512F the default path is
/// AVX-512's, and a cap is honoured. Children on the CPU backends only (elsewhere no kernel
/// runs).
#[test]
fn every_instruction_set_matches_single_steps() {
    let test = "fused::every_instruction_set_matches_single_steps";
    if let Some(isa) = child_argument() {
        println!("isa {}", rnn_core::kernel_isa().name());
        assert_eq!(rnn_core::kernel_isa().name(), isa, "the path taken");
        let padded = |s: Sizes| lengths(s, true);
        for sizes in [WIDE, ONE, FIVE] {
            check_lengths::<LstmCell>(Nonlinearity::Tanh, sizes, padded(sizes));
            check_lengths::<GruCell>(Nonlinearity::Tanh, sizes, padded(sizes));
            check_lengths::<ElmanCell>(Nonlinearity::Relu, sizes, padded(sizes));
            check_projected::<LstmCell>(Nonlinearity::Tanh, sizes, padded(sizes), 5);
            check_step::<LstmCell>(Nonlinearity::Tanh, sizes);
            check_step_projected::<LstmCell>(Nonlinearity::Tanh, sizes, 5);
            check_step::<GruCell>(Nonlinearity::Tanh, sizes);
            check_step::<ElmanCell>(Nonlinearity::Relu, sizes);
        }
        return;
    }
    let flags = ["avx2", "fma", "avx512f"].map(cpu_has);
    let (avx2, avx512) = match flags {
        [Some(avx2), Some(fma), Some(avx512f)] => (avx2 && fma, avx2 && fma && avx512f),
        _ => {
            println!("note: no /proc/cpuinfo; trusting the kernels' own detection");
            let best = rnn_core::KernelIsa::detected();
            (
                best >= rnn_core::KernelIsa::Avx2,
                best == rnn_core::KernelIsa::Avx512,
            )
        }
    };
    let best = if avx512 {
        "avx512"
    } else if avx2 {
        "avx2"
    } else {
        "portable"
    };
    if std::env::var("RNN_KERNEL_ISA").is_err() {
        assert_eq!(rnn_core::kernel_isa().name(), best, "the default path");
    }
    if !avx512 {
        println!("note: this CPU has no AVX-512F: its path is not tested here");
    }
    if !crate::backend::on_cpu_kernels() {
        return;
    }
    let runnable = ["portable", "avx2", "avx512"]
        .into_iter()
        .take(1 + usize::from(avx2) + usize::from(avx512));
    for isa in runnable {
        in_child(
            test,
            isa,
            &[("RNN_KERNEL_ISA", isa)],
            Duration::from_secs(600),
        );
    }
    // A cap above what the CPU has gives the best it has.
    if !avx512 {
        in_child(
            test,
            best,
            &[("RNN_KERNEL_ISA", "avx512")],
            Duration::from_secs(600),
        );
    }
}

/// A graph that tracks only some leaves: every weight frozen but `W_hh`, an input without
/// gradient, `h0` tracked, `c0` not, and a loss on the final `c` alone (no output read). The
/// fused layer's gradients of `W_hh` and `h0` are those of the same loss through a loop of the
/// cell's step in tensor operations ([`Stepwise`]), and the frozen weights and the input get
/// none.
#[test]
fn a_partly_tracked_graph_gets_the_gradients_of_what_it_tracks() {
    let device = autodiff_device();
    let sizes = FIVE;
    let template: Rnn<LstmCell> = RnnConfig::new(INPUT, sizes.hidden).init(&device);
    let leaves = leaves::<LstmCell>(sizes, 0, &device);
    // (`detach` keeps a leaf's `require_grad`.)
    let (x, h0) = (leaves.x.clone().set_require_grad(false), leaves.h0.clone());
    let c0 = leaves
        .c0
        .clone()
        .expect("an LSTM's c0")
        .set_require_grad(false);

    let mut rnn = template.clone().no_grad();
    for cell in rnn.cells_mut() {
        let w = cell.weights_mut();
        w.weight_hh = Param::from_tensor(w.weight_hh.val().detach().require_grad());
    }
    let state = RnnState::with_cell(
        h0.clone().unsqueeze_dim(0),
        Some(c0.clone().unsqueeze_dim(0)),
    );
    let out = expect_kernel(runs_kernel(0), || rnn.forward(x.clone(), Some(state), None));
    let c_n: Tensor<2> = out.state.cell.expect("an LSTM's c_n").squeeze_dim(0);
    let grads = weigh(c_n, &device).backward();
    let w = rnn.cells()[0].weights();
    let fused = [
        values(&w.weight_hh.val().grad(&grads).expect("W_hh's gradient")),
        values(&h0.grad(&grads).expect("h0's gradient")),
    ];
    assert!(w.weight_ih.val().grad(&grads).is_none(), "W_ih is frozen");
    for bias in [&w.bias_ih, &w.bias_hh].into_iter().flatten() {
        assert!(bias.val().grad(&grads).is_none(), "the biases are frozen");
    }
    assert!(x.grad(&grads).is_none(), "x is not tracked");

    let reference = tracked(&template);
    let cell = Stepwise::new(reference.cells()[0].clone());
    let time = usize::from(sizes.batch_first);
    let mut state = RnnState::with_cell(h0.clone(), Some(c0));
    for t in 0..sizes.seq {
        state = cell.step(x.clone().narrow(time, t, 1).squeeze_dim(time), state);
    }
    let grads = weigh(state.cell.expect("c"), &device).backward();
    let w = reference.cells()[0].weights();
    let expected = [
        values(&w.weight_hh.val().grad(&grads).expect("W_hh's gradient")),
        values(&h0.grad(&grads).expect("h0's gradient")),
    ];
    for ((what, fused), expected) in ["W_hh", "h0"].iter().zip(&fused).zip(&expected) {
        assert_close(what, fused, expected);
    }
}

//! Long sequences: inference over 100,000 steps and training over 10,000, with finite results,
//! on a thread with a small stack (nothing recurses once per step, in the forward pass or in
//! the autodiff graph), and peak memory linear in the length (twice the steps, at most 2.2
//! times the memory). On the CPU backends both drivers run: the fused kernels (one graph node
//! per sequence) and the step-by-step driver (a dozen nodes per step).
//!
//! On wgpu the fused layers run the CubeCL kernels (one launch per layer for the whole
//! sequence) over the same lengths; its step-by-step driver launches a dozen kernels a step,
//! which on lavapipe (a CPU pretending to be a GPU, as in CI) takes about 4 ms a step: there
//! the lengths are 2,000 and 500.

use std::time::Duration;

use burn::tensor::Tensor;
use rnn_core::{LstmCell, Rnn, RnnConfig};

use crate::backend::{self, autodiff_device, device};
use crate::fused::expect_kernel;
use crate::measure::{child_argument, in_child, peak_during, printed};
use crate::util::{Builtin, Rng};
use rnn_core::cell::Stepwise;

/// The steps of the inference and the training test on this backend, for the fused layers
/// (`fused`) or the step-by-step driver.
fn lengths(fused: bool) -> (usize, usize) {
    if !fused && backend::name() == "wgpu" {
        (2_000, 500)
    } else {
        (100_000, 10_000)
    }
}

/// Runs `f` on a thread with a 1 MiB stack.
fn on_small_stack(f: impl FnOnce() + Send) {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn_scoped(s, f)
            .expect("a thread")
            .join()
            .expect("no panic, no stack overflow");
    });
}

fn assert_finite<const D: usize>(what: &str, t: Tensor<D>) {
    let sum: f32 = t.abs().sum().into_scalar();
    assert!(sum.is_finite(), "{what}: sum of magnitudes {sum}");
}

/// A 2-layer network of cells `C` over `steps` steps of a padded batch of 2, without autodiff.
fn infer<C: Builtin>(steps: usize) {
    let device = device();
    let x = Rng::new(1).tensor([2, steps, 4], &device);
    let rnn: Rnn<C> = RnnConfig::new(4, 8).with_num_layers(2).init(&device);
    let out = rnn.forward(x, None, Some(&[steps, steps / 2]));
    assert_eq!(out.output.dims(), [2, steps, 8]);
    assert_finite("output", out.output);
    assert_finite("h_n", out.state.hidden);
}

/// Backpropagation through `steps` steps of a 2-layer network of cells `C`.
fn train<C: Builtin>(steps: usize) {
    let device = autodiff_device();
    let x = Rng::new(2).tensor([2, steps, 4], &device).require_grad();
    let rnn: Rnn<C> = RnnConfig::new(4, 8).with_num_layers(2).init(&device);
    let out = rnn.forward(x.clone(), None, None);
    let grads = (out.output.sum() + out.state.hidden.sum()).backward();
    let dx = x.grad(&grads).expect("a gradient for the input");
    assert_eq!(dx.dims(), [2, steps, 4]);
    assert_finite("input gradient", dx);
    let dw = rnn.cells()[0].weights().weight_hh.grad(&grads).unwrap();
    assert_finite("weight gradient", dw);
}

/// In a child process (see [`crate::measure`]): runs `work` over the steps given, checking
/// that it ran a fused kernel exactly when `fused`, and prints its peak memory. Otherwise:
/// runs `test` in children at `steps / 2` and `steps` and checks the peak grows at most
/// linearly.
fn linear_in_memory(test: &str, steps: usize, fused: bool, work: fn(usize)) {
    if let Some(steps) = child_argument() {
        let steps = steps.parse().unwrap();
        let run = || expect_kernel(fused, || work(steps));
        println!("peak {}", peak_during(|| on_small_stack(run)));
        return;
    }
    let limit = Duration::from_secs(600);
    let [half, full] =
        [steps / 2, steps].map(|s| printed(&in_child(test, &s.to_string(), &[], limit), "peak "));
    assert!(
        full as f64 <= 2.2 * half as f64,
        "{test}: peak {full} bytes over {steps} steps, {half} over {}",
        steps / 2
    );
}

#[test]
fn inference_over_long_sequences() {
    let test = "long_sequences::inference_over_long_sequences";
    linear_in_memory(test, lengths(true).0, true, infer::<LstmCell>);
}

#[test]
fn training_over_long_sequences() {
    let test = "long_sequences::training_over_long_sequences";
    linear_in_memory(test, lengths(true).1, true, train::<LstmCell>);
}

#[test]
fn inference_over_long_sequences_step_by_step() {
    let test = "long_sequences::inference_over_long_sequences_step_by_step";
    linear_in_memory(test, lengths(false).0, false, infer::<Stepwise<LstmCell>>);
}

#[test]
fn training_over_long_sequences_step_by_step() {
    let test = "long_sequences::training_over_long_sequences_step_by_step";
    linear_in_memory(test, lengths(false).1, false, train::<Stepwise<LstmCell>>);
}

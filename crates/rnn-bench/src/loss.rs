//! `rnn-bench --loss ROWS,CLASSES`: forward + backward of rnn-core's `weighted_cross_entropy`
//! (the fused CPU kernel on ndarray and flex) against the same label-smoothed cross-entropy
//! composed of Burn's tensor operations, on logits `[ROWS, CLASSES]` (a translation model's
//! output layer over a batch: 64 sentences × 25 steps, 1,577 subwords), runs alternated.

use std::time::{Duration, Instant};

use burn::tensor::{Device, Distribution, Tensor};
use rnn_core::{cross_entropy_in_tensor_ops, weighted_cross_entropy};

/// The label smoothing of the translation example.
const SMOOTHING: f64 = 0.1;

/// Median time of `iters` forward + backward passes of each loss on `device` (autodiff added),
/// the two alternated: `(fused, composed)`.
fn time(device: &Device, rows: usize, classes: usize, iters: usize) -> (Duration, Duration) {
    let device = device.clone().autodiff();
    let targets: Vec<usize> = (0..rows).map(|r| (r * 7919) % classes).collect();
    let weights: Vec<f32> = (0..rows)
        .map(|r| if r % 5 == 4 { 0.0 } else { 1.0 })
        .collect();
    let mut times = [Vec::new(), Vec::new()];
    // One untimed round first: the first call pays for allocation and the kernel's setup.
    for _ in 0..=iters {
        for (fused, times) in [true, false].into_iter().zip(times.iter_mut()) {
            let logits =
                Tensor::<2>::random([rows, classes], Distribution::Default, &device).require_grad();
            let start = Instant::now();
            let loss = if fused {
                weighted_cross_entropy(logits.clone(), &targets, &weights, SMOOTHING)
                    .expect("valid arguments")
            } else {
                cross_entropy_in_tensor_ops(logits.clone(), &targets, &weights, SMOOTHING)
            };
            let grads = loss.backward();
            let grad = logits.grad(&grads).expect("a gradient");
            let _ = grad.sum().into_scalar::<f32>();
            times.push(start.elapsed());
        }
    }
    let [fused, composed] = times.map(|mut t| {
        t.remove(0);
        crate::median(t)
    });
    (fused, composed)
}

/// Prints the table for each backend.
pub fn loss_table(backends: &[String], device: impl Fn(&str) -> Device, shape: &str, iters: usize) {
    let (rows, classes) = shape
        .split_once(',')
        .and_then(|(r, c)| Some((r.parse().ok()?, c.parse().ok()?)))
        .unwrap_or_else(|| panic!("--loss: expected ROWS,CLASSES, got {shape}"));
    println!(
        "label-smoothed cross-entropy (ε = {SMOOTHING}) of [{rows}, {classes}] logits, forward + backward; median of {iters} runs\n"
    );
    println!("| backend | fused (ms) | composed of tensor ops (ms) | speed-up |");
    println!("|---|---|---|---|");
    for backend in backends {
        let (fused, composed) = time(&device(backend), rows, classes, iters);
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "| {backend} | {:.2} | {:.2} | {:.2}× |",
            ms(fused),
            ms(composed),
            ms(composed) / ms(fused)
        );
    }
}

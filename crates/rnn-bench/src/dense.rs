//! `rnn-bench --linear BATCH,SEQ,IN,OUT`: rnn-core's `linear` (the fused dense layer on ndarray
//! and flex) against Burn's `linear`, on an input `[BATCH, SEQ, IN]` and weights `[IN, OUT]`
//! with a bias (a translation model's output layer over a batch: 64 sentences × 25 steps,
//! 256 → 1,577 subwords), forward alone and forward + backward, runs alternated.

use std::time::Duration;

use burn::tensor::{Device, Distribution, Tensor};

use super::medians;

/// Median times of `iters` runs of each layer on `device` (autodiff added when `backward`),
/// the two alternated ([`medians`]): `(fused, Burn's)`.
fn time(
    device: &Device,
    [batch, seq, d_in, d_out]: [usize; 4],
    iters: usize,
    backward: bool,
) -> (Duration, Duration) {
    let device = if backward {
        device.clone().autodiff()
    } else {
        device.clone()
    };
    // Leaves that record gradients when `backward`.
    fn random<const D: usize>(shape: [usize; D], backward: bool, device: &Device) -> Tensor<D> {
        let t = Tensor::random(shape, Distribution::Default, device);
        if backward { t.require_grad() } else { t }
    }
    let x = random([batch, seq, d_in], backward, &device);
    let weight = random([d_in, d_out], backward, &device);
    let bias = random([d_out], backward, &device);
    let run = |fused: bool| {
        let (x, w, b) = (x.clone(), weight.clone(), Some(bias.clone()));
        let y = if fused {
            rnn_core::linear(x, w, b)
        } else {
            burn::tensor::module::linear(x, w, b)
        };
        let _ = if backward {
            let grads = y.sum().backward();
            let dw = weight.grad(&grads).expect("a gradient");
            dw.sum().into_scalar::<f32>()
        } else {
            y.sum().into_scalar::<f32>()
        };
    };
    medians(1, iters, || run(true), || run(false))
}

/// Prints the table for each backend.
pub fn linear_table(
    backends: &[String],
    device: impl Fn(&str) -> Device,
    shape: &str,
    iters: usize,
) {
    let sizes: Vec<usize> = shape.split(',').filter_map(|s| s.parse().ok()).collect();
    let sizes: [usize; 4] = sizes
        .try_into()
        .unwrap_or_else(|_| panic!("--linear: expected BATCH,SEQ,IN,OUT, got {shape}"));
    let [batch, seq, d_in, d_out] = sizes;
    println!(
        "dense layer [{batch}, {seq}, {d_in}] → {d_out} with a bias; median of {iters} runs\n"
    );
    println!("| backend | pass | fused (ms) | Burn's linear (ms) | speed-up |");
    println!("|---|---|---|---|---|");
    for backend in backends {
        for backward in [false, true] {
            let (fused, burn) = time(&device(backend), sizes, iters, backward);
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            let pass = if backward {
                "forward + backward"
            } else {
                "forward"
            };
            println!(
                "| {backend} | {pass} | {:.2} | {:.2} | {:.2}× |",
                ms(fused),
                ms(burn),
                ms(burn) / ms(fused)
            );
        }
    }
}

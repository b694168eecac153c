//! `rnn-bench --linear BATCH,SEQ,IN,OUT`: rnn-core's `linear` (the fused dense layer on ndarray
//! and flex) against Burn's `linear`, on an input `[BATCH, SEQ, IN]` and weights `[IN, OUT]`
//! with a bias (a translation model's output layer over a batch: 64 sentences × 25 steps,
//! 256 → 1,577 subwords), forward alone and forward + backward, runs alternated.

use std::time::{Duration, Instant};

use burn::tensor::{Device, Distribution, Tensor};

/// Median times of `iters` runs of each layer on `device` (autodiff added when `backward`),
/// the two alternated: `(fused, Burn's)`.
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
    let random = |shape: [usize; 2]| Tensor::<2>::random(shape, Distribution::Default, &device);
    let weight = random([d_in, d_out]);
    let bias = random([1, d_out]).reshape([d_out]);
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..iters {
        for (fused, times) in [true, false].into_iter().zip(times.iter_mut()) {
            let x = Tensor::<3>::random([batch, seq, d_in], Distribution::Default, &device);
            let (x, weight, bias) = if backward {
                (
                    x.require_grad(),
                    weight.clone().require_grad(),
                    bias.clone().require_grad(),
                )
            } else {
                (x, weight.clone(), bias.clone())
            };
            let start = Instant::now();
            let y = if fused {
                rnn_core::linear(x.clone(), weight.clone(), Some(bias.clone()))
            } else {
                burn::tensor::module::linear(x.clone(), weight.clone(), Some(bias.clone()))
            };
            let _ = if backward {
                let grads = y.sum().backward();
                let dw = weight.grad(&grads).expect("a gradient");
                dw.sum().into_scalar::<f32>()
            } else {
                y.sum().into_scalar::<f32>()
            };
            times.push(start.elapsed());
        }
    }
    let [mut fused, mut burn] = times;
    fused.sort();
    burn.sort();
    (fused[iters / 2], burn[iters / 2])
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

//! `cargo xtask bench`: forward and forward+backward time of rnn-core's LSTM, GRU and Elman
//! layers against burn-nn's `Lstm`, `Gru` and `Rnn` on the same backend and shape, median of
//! repeated runs, printed as a Markdown table.
//!
//! Usage: `rnn-bench [--backend ndarray|flex|wgpu]... [--cell LSTM|GRU|Elman]... [--shape B,S,I,H] [--iters N]`

use std::time::{Duration, Instant};

use burn::tensor::{Device, Distribution, Tensor};
use rnn_core::{Elman, Gru, Lstm, RnnConfig};

/// One benchmarked layer: runs a forward pass and returns the output `[batch, seq, hidden]`.
type Layer = Box<dyn Fn(Tensor<3>) -> Tensor<3>>;

#[derive(Clone, Copy)]
struct Shape {
    batch: usize,
    seq: usize,
    input: usize,
    hidden: usize,
}

#[allow(deprecated)] // burn-ndarray is deprecated upstream in favour of flex; still supported
fn device(name: &str) -> Device {
    match name {
        "ndarray" => Device::ndarray(),
        "flex" => Device::flex(),
        "wgpu" => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        other => panic!("--backend: expected ndarray, flex or wgpu, got {other}"),
    }
}

/// Our layer and burn-nn's for `cell`, both on `device`.
fn layers(cell: &str, s: Shape, device: &Device) -> (Layer, Layer) {
    let ours = RnnConfig::new(s.input, s.hidden);
    match cell {
        "LSTM" => {
            let a: Lstm = ours.init(device);
            let b = burn::nn::LstmConfig::new(s.input, s.hidden, true).init(device);
            (
                Box::new(move |x| a.forward(x, None, None).output),
                Box::new(move |x| b.forward(x, None).0),
            )
        }
        "GRU" => {
            let a: Gru = ours.init(device);
            let b = burn::nn::GruConfig::new(s.input, s.hidden, true).init(device);
            (
                Box::new(move |x| a.forward(x, None, None).output),
                Box::new(move |x| b.forward(x, None)),
            )
        }
        "Elman" => {
            let a: Elman = ours.init(device);
            let b = burn::nn::RnnConfig::new(s.input, s.hidden, true).init(device);
            (
                Box::new(move |x| a.forward(x, None, None).output),
                Box::new(move |x| b.forward(x, None).0),
            )
        }
        other => panic!("--cell: expected LSTM, GRU or Elman, got {other}"),
    }
}

/// Median wall times of `a` and `b` over `iters` interleaved runs (so drift in the machine's
/// speed hits both alike), after `warmup` runs of each.
fn medians(
    warmup: usize,
    iters: usize,
    mut a: impl FnMut(),
    mut b: impl FnMut(),
) -> (Duration, Duration) {
    for _ in 0..warmup {
        a();
        b();
    }
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        f();
        start.elapsed()
    };
    let (mut ta, mut tb): (Vec<_>, Vec<_>) =
        (0..iters).map(|_| (time(&mut a), time(&mut b))).unzip();
    ta.sort();
    tb.sort();
    (ta[iters / 2], tb[iters / 2])
}

/// Forward-only (inference device) and forward+backward (autodiff device) times of two
/// layers: `((a_fwd, b_fwd), (a_train, b_train))`.
fn time_pair(
    make: impl Fn(&Device) -> (Layer, Layer),
    s: Shape,
    device: &Device,
    iters: usize,
) -> ((Duration, Duration), (Duration, Duration)) {
    let (a, b) = make(device);
    let x = Tensor::<3>::random([s.batch, s.seq, s.input], Distribution::Default, device);
    let forward = |layer: &Layer| {
        let _: f32 = layer(x.clone()).sum().into_scalar();
    };
    let fwd = medians(2, iters, || forward(&a), || forward(&b));
    let ad = device.clone().autodiff();
    let (a, b) = make(&ad);
    let x = Tensor::<3>::random([s.batch, s.seq, s.input], Distribution::Default, &ad);
    let train = |layer: &Layer| {
        let x = x.clone().require_grad();
        let grads = layer(x.clone()).sum().backward();
        let _: f32 = x.grad(&grads).expect("input gradient").sum().into_scalar();
    };
    let train = medians(2, iters, || train(&a), || train(&b));
    (fwd, train)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let mut backends = Vec::new();
    let mut shape = Shape {
        batch: 32,
        seq: 64,
        input: 128,
        hidden: 256,
    };
    let mut iters = 10;
    let mut cells: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| panic!("{arg}: expected a value"))
        };
        match arg.as_str() {
            "--backend" => backends.push(value()),
            "--cell" => cells.push(value()),
            "--iters" => iters = value().parse().expect("--iters: expected a number"),
            "--shape" => {
                let v: Vec<usize> = value()
                    .split(',')
                    .map(|n| n.parse().expect("--shape: B,S,I,H"))
                    .collect();
                assert_eq!(v.len(), 4, "--shape: expected B,S,I,H");
                shape = Shape {
                    batch: v[0],
                    seq: v[1],
                    input: v[2],
                    hidden: v[3],
                };
            }
            other => panic!("unknown argument {other}"),
        }
    }
    if cells.is_empty() {
        cells = ["LSTM", "GRU", "Elman"].map(String::from).to_vec();
    }
    if backends.is_empty() {
        backends.push("ndarray".to_string());
    }
    let s = shape;
    println!(
        "batch {}, seq {}, input {}, hidden {}; f32; median of {iters} runs\n",
        s.batch, s.seq, s.input, s.hidden
    );
    println!(
        "| backend | cell | ours fwd (ms) | burn-nn fwd (ms) | speed-up | ours fwd+bwd (ms) | burn-nn fwd+bwd (ms) | speed-up |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for backend in &backends {
        let device = device(backend);
        for cell in cells.iter().map(String::as_str) {
            let ((ours_fwd, nn_fwd), (ours_train, nn_train)) =
                time_pair(|d| layers(cell, s, d), s, &device, iters);
            println!(
                "| {backend} | {cell} | {:.2} | {:.2} | {:.2}× | {:.2} | {:.2} | {:.2}× |",
                ms(ours_fwd),
                ms(nn_fwd),
                ms(nn_fwd) / ms(ours_fwd),
                ms(ours_train),
                ms(nn_train),
                ms(nn_train) / ms(ours_train)
            );
        }
    }
}

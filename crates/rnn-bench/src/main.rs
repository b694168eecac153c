//! `cargo xtask bench`: forward and forward+backward time of rnn-core's LSTM, GRU and Elman
//! layers against burn-nn's `Lstm`, `Gru` and `Rnn` on the same backend and shape, median of
//! repeated runs, printed as a Markdown table; with PyTorch's times (`--torch FILE`, written
//! by `torch_bench.py --json`) the table also gives our time as a multiple of PyTorch's, and
//! of ONNX Runtime's forward where the script timed it (the same PyTorch layer exported). A
//! second table times one decoder step (`Cell::step`, batch `B`) against burn-nn's layer on a
//! length-1 sequence. `--cell LSTMP` times our LSTM with a projection to `H / 2`
//! (`proj_size`, inside the fused CPU kernels) against burn-nn's plain LSTM of
//! `H` units (burn-nn has no projection) and PyTorch's `nn.LSTM(proj_size=H // 2)`.
//!
//! Usage: `rnn-bench [--backend ndarray|flex|wgpu]... [--cell LSTM|GRU|Elman|LSTMP]... [--shape B,S,I,H] [--iters N] [--torch FILE] [--forms]`
//!
//! `rnn-bench --memory [--backend B] [--cell C] [--shape B,S,I,H]` instead measures the peak
//! resident memory of one training step at `S`, `2S`, `4S` and `8S` steps, each in a fresh
//! process, for our layer and burn-nn's.
//!
//! `rnn-bench --outlier [--backend B] [--cell C] [--shape B,S,I,H]` measures, in a fresh
//! process, the resident memory left after one outlier training step over `S` steps (all of it
//! dropped) followed by ten short steps over 64: what a long-running trainer keeps after one
//! unusually long batch.
//!
//! `rnn-bench --concurrent N [--backend B] [--cell C] [--shape B,S,I,H]` times `N` calls of our
//! layer (forward, and forward+backward) made at once from `N` threads against the same calls
//! made one after another.
//!
//! `rnn-bench --loss ROWS,CLASSES [--backend B]...` times the fused label-smoothed
//! cross-entropy against the same loss composed of tensor operations (see `loss.rs`).
//!
//! `rnn-bench --linear B,S,I,O [--backend B]...` times rnn-core's fused dense layer against
//! Burn's `linear` (see `dense.rs`).
//!
//! `rnn-bench --launches --backend wgpu [--cell C]... [--shape B,S,I,H]` counts the GPU kernels
//! that one forward pass, training step and decoder step launch, ours and burn-nn's, from
//! CubeCL's execution log (see `launches.rs`).
//!
//! `rnn-bench --forms [--backend B] [--shape B,S,I,H]` times the sequence forms of the cells
//! that have several, at `S` and `8S` steps: the mLSTM chunkwise (chunks of 64), parallel (one
//! chunk; at `S` only, its memory grows with `S²`) and recurrent (chunks of 1), and the
//! minGRU's parallel scan against its step-by-step recurrence, and the sLSTM's fused kernel
//! against its step-by-step recurrence (`xlstm_bench.py` times the `xlstm` package's sLSTM)
//! (default shape 4,512,32,64: 512 and 4096 steps).

mod dense;
mod launches;
mod loss;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use burn::tensor::{Device, Distribution, Tensor};
use rnn_core::cell::Stepwise;
use rnn_core::{Cell, CellKind, CellState, MinGruCell, MlstmCell, Rnn, RnnConfig, SlstmCell};

/// One benchmarked layer: runs a forward pass and returns the output `[batch, seq, hidden]`
/// (`hidden / 2` for ours with `--cell LSTMP`).
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

/// Our layer and burn-nn's for `cell`, both on `device`. With the suffix `-steps` (`LSTM-steps`,
/// ...) ours runs step by step in Burn's tensor operations ([`Stepwise`]) where it would run its
/// fused kernel: the driver that the kernels replaced, to compare with on the same backend.
fn layers(cell: &str, s: Shape, device: &Device) -> (Layer, Layer) {
    fn ours<C: Cell + 'static>(config: RnnConfig, device: &Device) -> Layer {
        let rnn: Rnn<C> = config.init(device);
        Box::new(move |x| rnn.forward(x, None, None).output)
    }
    let (name, stepwise) = match cell.strip_suffix("-steps") {
        Some(name) => (name, true),
        None => (cell, false),
    };
    let config = RnnConfig::new(s.input, s.hidden).with_proj_size(proj_size(name, s));
    match name {
        "LSTM" | "LSTMP" => {
            let b = burn::nn::LstmConfig::new(s.input, s.hidden, true).init(device);
            let a = if stepwise {
                ours::<Stepwise<rnn_core::LstmCell>>(config, device)
            } else {
                ours::<rnn_core::LstmCell>(config, device)
            };
            (a, Box::new(move |x| b.forward(x, None).0))
        }
        "GRU" => {
            let b = burn::nn::GruConfig::new(s.input, s.hidden, true).init(device);
            let a = if stepwise {
                ours::<Stepwise<rnn_core::GruCell>>(config, device)
            } else {
                ours::<rnn_core::GruCell>(config, device)
            };
            (a, Box::new(move |x| b.forward(x, None)))
        }
        "Elman" => {
            let b = burn::nn::RnnConfig::new(s.input, s.hidden, true).init(device);
            let a = if stepwise {
                ours::<Stepwise<rnn_core::ElmanCell>>(config, device)
            } else {
                ours::<rnn_core::ElmanCell>(config, device)
            };
            (a, Box::new(move |x| b.forward(x, None).0))
        }
        other => panic!(
            "--cell: expected LSTM, GRU, Elman or LSTMP, with or without -steps, got {other}"
        ),
    }
}

/// Our LSTM's `proj_size` for `cell`: `hidden / 2` for `LSTMP`, else none.
fn proj_size(cell: &str, s: Shape) -> usize {
    if cell == "LSTMP" { s.hidden / 2 } else { 0 }
}

/// `Cell::step` of `rnn`'s cell from a zero state, or where `stepwise` of its step in Burn's
/// tensor operations ([`Stepwise`]).
fn step_of<C: Cell + 'static>(rnn: Rnn<C>, s: Shape, device: &Device, stepwise: bool) -> Step {
    let cell = rnn.cells()[0].clone();
    let state = cell.zero_state(s.batch, device);
    if stepwise {
        let cell = Stepwise::new(cell);
        Box::new(move |x| cell.step(x, state.clone()).output())
    } else {
        Box::new(move |x| cell.step(x, state.clone()).output())
    }
}

/// One decoder step `x: [batch, input]` → `h: [batch, hidden]`: ours through `Cell::step`
/// (what decoders call) from a zero state, burn-nn's layer on a length-1 sequence.
fn step_layers(cell: &str, s: Shape, device: &Device) -> (Step, Step) {
    let (cell, stepwise) = match cell.strip_suffix("-steps") {
        Some(name) => (name, true),
        None => (cell, false),
    };
    let config = RnnConfig::new(s.input, s.hidden);
    match cell {
        "LSTM" | "LSTMP" => {
            let b = burn::nn::LstmConfig::new(s.input, s.hidden, true).init(device);
            let config = config.with_proj_size(proj_size(cell, s));
            (
                step_of(
                    config.init::<rnn_core::LstmCell>(device),
                    s,
                    device,
                    stepwise,
                ),
                Box::new(move |x| b.forward(x.unsqueeze_dim(1), None).0.squeeze_dim(1)),
            )
        }
        "GRU" => {
            let b = burn::nn::GruConfig::new(s.input, s.hidden, true).init(device);
            (
                step_of(
                    config.init::<rnn_core::GruCell>(device),
                    s,
                    device,
                    stepwise,
                ),
                Box::new(move |x| b.forward(x.unsqueeze_dim(1), None).squeeze_dim(1)),
            )
        }
        "Elman" => {
            let b = burn::nn::RnnConfig::new(s.input, s.hidden, true).init(device);
            (
                step_of(
                    config.init::<rnn_core::ElmanCell>(device),
                    s,
                    device,
                    stepwise,
                ),
                Box::new(move |x| b.forward(x.unsqueeze_dim(1), None).0.squeeze_dim(1)),
            )
        }
        other => panic!("--cell: expected LSTM, GRU, Elman or LSTMP, got {other}"),
    }
}

/// A single-step layer: `[batch, input]` → `[batch, hidden]`.
type Step = Box<dyn Fn(Tensor<2>) -> Tensor<2>>;

/// Median time of one decoder step (forward only), ours and burn-nn's: 64 steps per sample.
fn time_step(cell: &str, s: Shape, device: &Device, iters: usize) -> (Duration, Duration) {
    let (a, b) = step_layers(cell, s, device);
    let x = Tensor::<2>::random([s.batch, s.input], Distribution::Default, device);
    let run = |layer: &Step| {
        let mut total = layer(x.clone());
        for _ in 1..64 {
            total = total + layer(x.clone());
        }
        let _: f32 = total.sum().into_scalar();
    };
    let (ta, tb) = medians(2, iters, || run(&a), || run(&b));
    (ta / 64, tb / 64)
}

/// Runs of one layer in a row in [`medians`]: as in PyTorch's timings (`torch_bench.py` runs
/// each layer again and again), a layer's runs after the first of a block find its weights
/// and buffers in cache, where runs interleaved one by one with another layer's did not.
const BLOCK: usize = 5;

/// Median wall times of `a` and `b` over `iters` runs each, after `warmup` runs of each: in
/// blocks of [`BLOCK`] runs in a row, alternating between the two block by block (so drift in
/// the machine's speed hits both alike).
fn medians(
    warmup: usize,
    iters: usize,
    mut a: impl FnMut(),
    mut b: impl FnMut(),
) -> (Duration, Duration) {
    (0..warmup).for_each(|_| a());
    (0..warmup).for_each(|_| b());
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        f();
        start.elapsed()
    };
    let (mut ta, mut tb) = (Vec::with_capacity(iters), Vec::with_capacity(iters));
    while ta.len() < iters {
        let n = BLOCK.min(iters - ta.len());
        ta.extend((0..n).map(|_| time(&mut a)));
        tb.extend((0..n).map(|_| time(&mut b)));
    }
    (median(ta), median(tb))
}

/// The median of `times` (the mean of the middle two for an even count, as Python's
/// `statistics.median`, which `torch_bench.py` takes).
fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    let n = times.len();
    if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2
    }
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

/// One cell's times (ms) from `torch_bench.py --json`.
#[derive(Clone, Copy)]
struct TorchTime {
    /// PyTorch's forward and forward+backward.
    fwd: f64,
    train: f64,
    /// ONNX Runtime's forward, when the script timed it.
    ort_fwd: Option<f64>,
    /// One decoder step (µs), when the script timed it.
    step_us: Option<f64>,
}

/// [`TorchTime`] per cell.
type TorchTimes = HashMap<String, TorchTime>;

/// PyTorch's times for `cell` (a `-steps` variant is compared with the same layer's).
fn torch_times(torch: &Option<TorchTimes>, cell: &str) -> Option<TorchTime> {
    let name = cell.strip_suffix("-steps").unwrap_or(cell);
    torch.as_ref().and_then(|t| t.get(name).copied())
}

fn read_torch(path: &str) -> TorchTimes {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("--torch {path}: {e}"));
    let json: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("--torch {path}: {e}"));
    let time = |cell: &serde_json::Value, key: &str| cell[key].as_f64().unwrap_or(f64::NAN);
    // Every cell's times (an object); the other keys (version, threads, ...) are not cells.
    json.as_object()
        .into_iter()
        .flatten()
        .filter(|(_, c)| c.is_object())
        .map(|(cell, c)| {
            let t = TorchTime {
                fwd: time(c, "fwd"),
                train: time(c, "train"),
                ort_fwd: c["ort_fwd"].as_f64(),
                step_us: c["step_us"].as_f64(),
            };
            (cell.clone(), t)
        })
        .collect()
}

/// Peak resident memory of this process so far, and now, in KiB (Linux).
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// `--probe-memory BACKEND CELL B,S,I,H ours|burn-nn`: one training step in this process;
/// prints the resident memory before it and the peak after it, in KiB.
fn probe_memory(backend: &str, cell: &str, s: Shape, which: &str) {
    let device = device(backend).autodiff();
    let (ours, theirs) = layers(cell, s, &device);
    let layer = if which == "ours" { ours } else { theirs };
    let x = Tensor::<3>::random([s.batch, s.seq, s.input], Distribution::Default, &device)
        .require_grad();
    let (_, before) = rss_kib();
    let grads = layer(x.clone()).sum().backward();
    let _: f32 = x.grad(&grads).expect("input gradient").sum().into_scalar();
    let (peak, _) = rss_kib();
    println!("{before} {peak}");
}

/// `--probe-outlier BACKEND CELL B,S,I,H`: one training step of our layer over `S` steps,
/// everything dropped, then ten over 64 steps; prints the resident memory before, the peak, and
/// the resident memory at the end, in KiB.
fn probe_outlier(backend: &str, cell: &str, s: Shape) {
    let device = device(backend).autodiff();
    let step = |seq: usize| {
        let (ours, _) = layers(cell, s, &device);
        let x = Tensor::<3>::random([s.batch, seq, s.input], Distribution::Default, &device)
            .require_grad();
        let grads = ours(x.clone()).sum().backward();
        let _: f32 = x.grad(&grads).expect("input gradient").sum().into_scalar();
    };
    step(64);
    let (_, before) = rss_kib();
    step(s.seq);
    for _ in 0..10 {
        step(64);
    }
    let (peak, after) = rss_kib();
    println!("{before} {peak} {after}");
}

/// Runs this program with `args` and returns the numbers it printed.
fn probe(args: &[&str]) -> Vec<f64> {
    let exe = std::env::current_exe().expect("own path");
    let out = std::process::Command::new(exe)
        .args(args)
        .output()
        .expect("run the probe");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect()
}

/// Resident memory after an outlier batch, each cell in a fresh process.
fn outlier_table(backends: &[String], cells: &[String], s: Shape) {
    println!(
        "Resident memory after one outlier training step over {} steps (batch {}, input {}, \
         hidden {}), all dropped, then ten steps over 64; MiB\n",
        s.seq, s.batch, s.input, s.hidden
    );
    println!("| backend | cell | before | peak | after | kept (after − before) |");
    println!("|---|---|---|---|---|---|");
    for backend in backends {
        for cell in cells {
            let shape = format!("{},{},{},{}", s.batch, s.seq, s.input, s.hidden);
            match probe(&["--probe-outlier", backend, cell, &shape])[..] {
                [before, peak, after] => println!(
                    "| {backend} | {cell} | {:.1} | {:.1} | {:.1} | {:.1} |",
                    before / 1024.0,
                    peak / 1024.0,
                    after / 1024.0,
                    (after - before) / 1024.0
                ),
                _ => println!("| {backend} | {cell} | probe failed | | | |"),
            }
        }
    }
}

/// `n` calls of our layer made at once from `n` threads against the same calls one after
/// another, forward and forward+backward, median of `iters` alternated runs.
fn concurrent_table(backends: &[String], cells: &[String], s: Shape, n: usize, iters: usize) {
    println!(
        "{n} concurrent callers against the same {n} calls made one after another, batch {}, \
         seq {}, input {}, hidden {}; median of {iters} runs; ratio < 1: concurrent is faster\n",
        s.batch, s.seq, s.input, s.hidden
    );
    println!(
        "| backend | cell | pass | sequential (ms) | concurrent (ms) | concurrent ÷ sequential |"
    );
    println!("|---|---|---|---|---|---|");
    for backend in backends {
        for cell in cells.iter().map(String::as_str) {
            let kind = match cell {
                "LSTM" => CellKind::Lstm,
                "GRU" => CellKind::Gru,
                "Elman" => CellKind::Elman,
                other => panic!("--concurrent: expected --cell LSTM, GRU or Elman, got {other}"),
            };
            for (pass, device) in [
                ("fwd", device(backend)),
                ("fwd+bwd", device(backend).autodiff()),
            ] {
                let rnn = RnnConfig::new(s.input, s.hidden).init_kind(kind, &device);
                let x =
                    Tensor::<3>::random([s.batch, s.seq, s.input], Distribution::Default, &device);
                let call = || {
                    let out = if device.is_autodiff() {
                        let x = x.clone().require_grad();
                        let loss = rnn.forward(x.clone(), None, None).output.sum();
                        x.grad(&loss.backward()).expect("input gradient").sum()
                    } else {
                        rnn.forward(x.clone(), None, None).output.sum()
                    };
                    let _: f32 = out.into_scalar();
                };
                let sequential = || (0..n).for_each(|_| call());
                let concurrent =
                    || std::thread::scope(|scope| (0..n).for_each(|_| drop(scope.spawn(call))));
                let (ts, tc) = medians(1, iters, sequential, concurrent);
                println!(
                    "| {backend} | {cell} | {pass} | {:.2} | {:.2} | {:.2} |",
                    ms(ts),
                    ms(tc),
                    ms(tc) / ms(ts)
                );
            }
        }
    }
}

/// One row of the forms table: a cell's sequence form and the network that runs it.
struct Form {
    cell: &'static str,
    name: &'static str,
    /// A one-layer network of the shape's sizes running this form over `shape.seq` steps.
    make: fn(Shape, &Device) -> Layer,
    /// Whether the form is timed at `seq` steps, `S` being the shape's (the parallel form's
    /// memory grows with `seq²`: it runs at `S` only).
    runs_at: fn(usize, Shape) -> bool,
}

/// A one-layer network of `C` from `config`, as a [`Layer`].
fn form_layer<C: Cell + 'static>(config: RnnConfig, device: &Device) -> Layer {
    let rnn: Rnn<C> = config.init(device);
    Box::new(move |x| rnn.forward(x, None, None).output)
}

/// The forms timed; each cell's step-by-step form comes last among its rows.
fn forms() -> Vec<Form> {
    fn mlstm(s: Shape) -> RnnConfig {
        RnnConfig::new(s.input, s.hidden).with_num_heads(4)
    }
    fn slstm(s: Shape) -> RnnConfig {
        RnnConfig::new(s.input, s.hidden).with_num_heads(4)
    }
    let always: fn(usize, Shape) -> bool = |_, _| true;
    vec![
        Form {
            cell: "mLSTM",
            name: "chunkwise (64)",
            make: |s, d| form_layer::<MlstmCell>(mlstm(s).with_chunk_size(64), d),
            runs_at: always,
        },
        Form {
            cell: "mLSTM",
            name: "parallel (one chunk)",
            make: |s, d| form_layer::<MlstmCell>(mlstm(s).with_chunk_size(s.seq), d),
            runs_at: |seq, s| seq == s.seq,
        },
        Form {
            cell: "mLSTM",
            name: "recurrent (chunks of 1)",
            make: |s, d| form_layer::<MlstmCell>(mlstm(s).with_chunk_size(1), d),
            runs_at: always,
        },
        Form {
            cell: "sLSTM",
            name: "fused kernel",
            make: |s, d| form_layer::<SlstmCell>(slstm(s), d),
            runs_at: always,
        },
        Form {
            cell: "sLSTM",
            name: "step by step",
            make: |s, d| form_layer::<Stepwise<SlstmCell>>(slstm(s), d),
            runs_at: always,
        },
        Form {
            cell: "minGRU",
            name: "parallel scan",
            make: |s, d| form_layer::<MinGruCell>(RnnConfig::new(s.input, s.hidden), d),
            runs_at: always,
        },
        Form {
            cell: "minGRU",
            name: "step by step",
            make: |s, d| form_layer::<Stepwise<MinGruCell>>(RnnConfig::new(s.input, s.hidden), d),
            runs_at: always,
        },
    ]
}

/// Forward and forward+backward times of each form at `S` and `8S` steps, median of `iters`
/// runs each (the forms of a length alternate, so drift in the machine's speed hits them alike).
fn forms_table(backends: &[String], s: Shape, iters: usize) {
    println!(
        "Sequence forms, batch {}, input {}, hidden {} (mLSTM: 4 heads); f32; median of {iters} \
         runs; speed-up = the time of the cell's step-by-step form (recurrent / step by step) \
         over the form's\n",
        s.batch, s.input, s.hidden
    );
    println!("| backend | cell | form | seq | fwd (ms) | speed-up | fwd+bwd (ms) | speed-up |");
    println!("|---|---|---|---|---|---|---|---|");
    for backend in backends {
        for seq in [s.seq, 8 * s.seq] {
            let shape = Shape { seq, ..s };
            let run: Vec<Form> = forms()
                .into_iter()
                .filter(|form| (form.runs_at)(seq, s))
                .collect();
            let mut times = Vec::new();
            for (pass, device) in [
                ("fwd", device(backend)),
                ("fwd+bwd", device(backend).autodiff()),
            ] {
                let layers: Vec<Layer> =
                    run.iter().map(|form| (form.make)(shape, &device)).collect();
                let x =
                    Tensor::<3>::random([s.batch, seq, s.input], Distribution::Default, &device);
                let mut calls: Vec<Box<dyn FnMut() + '_>> = layers
                    .iter()
                    .map(|layer| {
                        let x = x.clone();
                        Box::new(move || {
                            if pass == "fwd" {
                                let _: f32 = layer(x.clone()).sum().into_scalar();
                            } else {
                                let x = x.clone().require_grad();
                                let grads = layer(x.clone()).sum().backward();
                                let _: f32 =
                                    x.grad(&grads).expect("input gradient").sum().into_scalar();
                            }
                        }) as Box<dyn FnMut() + '_>
                    })
                    .collect();
                times.push(medians_of(1, iters, &mut calls));
            }
            for (i, form) in run.iter().enumerate() {
                // The cell's step-by-step form: the last of its rows.
                let base = run
                    .iter()
                    .rposition(|f| f.cell == form.cell)
                    .expect("its own row");
                let (cell, name) = (form.cell, form.name);
                let ratio = |t: &[Duration]| ms(t[base]) / ms(t[i]);
                println!(
                    "| {backend} | {cell} | {name} | {seq} | {:.2} | {:.2}× | {:.2} | {:.2}× |",
                    ms(times[0][i]),
                    ratio(&times[0]),
                    ms(times[1][i]),
                    ratio(&times[1]),
                );
            }
        }
    }
}

/// Median wall times of each of `calls` over `iters` rounds in which each runs once in turn,
/// after `warmup` such rounds.
fn medians_of(warmup: usize, iters: usize, calls: &mut [Box<dyn FnMut() + '_>]) -> Vec<Duration> {
    for _ in 0..warmup {
        calls.iter_mut().for_each(|call| call());
    }
    let mut times = vec![Vec::with_capacity(iters); calls.len()];
    for _ in 0..iters {
        for (call, times) in calls.iter_mut().zip(&mut times) {
            let start = Instant::now();
            call();
            times.push(start.elapsed());
        }
    }
    times.into_iter().map(median).collect()
}

/// Peak memory of a training step at growing sequence lengths, each in a fresh process.
fn memory_table(backends: &[String], cells: &[String], s: Shape) {
    println!(
        "Peak resident memory of one training step (fwd+bwd), batch {}, input {}, hidden {}; \
         MiB above the process's memory before the step\n",
        s.batch, s.input, s.hidden
    );
    println!("| backend | cell | layer | seq | peak (MiB) | per step (KiB) |");
    println!("|---|---|---|---|---|---|");
    for backend in backends {
        for cell in cells {
            for which in ["ours", "burn-nn"] {
                for factor in [1, 2, 4, 8] {
                    let seq = s.seq * factor;
                    let shape = format!("{},{},{},{}", s.batch, seq, s.input, s.hidden);
                    let v = probe(&["--probe-memory", backend, cell, &shape, which]);
                    if v.len() != 2 {
                        println!("| {backend} | {cell} | {which} | {seq} | probe failed | |");
                        continue;
                    }
                    let grown = (v[1] - v[0]).max(0.0);
                    println!(
                        "| {backend} | {cell} | {which} | {seq} | {:.1} | {:.1} |",
                        grown / 1024.0,
                        grown / seq as f64
                    );
                }
            }
        }
    }
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
    let mut torch = None;
    let mut memory = false;
    let mut outlier = false;
    let mut launches = false;
    let mut concurrent = None;
    let mut forms = false;
    let mut loss = None;
    let mut linear = None;
    let mut shape_given = false;
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
                shape = parse_shape(&value());
                shape_given = true;
            }
            "--forms" => forms = true,
            "--loss" => loss = Some(value()),
            "--linear" => linear = Some(value()),
            "--torch" => torch = Some(read_torch(&value())),
            "--memory" => memory = true,
            "--outlier" => outlier = true,
            "--launches" => launches = true,
            "--concurrent" => {
                concurrent = Some(value().parse().expect("--concurrent: expected a number"))
            }
            "--probe-outlier" => {
                let (backend, cell, s) = (value(), value(), value());
                probe_outlier(&backend, &cell, parse_shape(&s));
                return;
            }
            "--probe-launches" => {
                let (backend, cell, which, pass, s, log) =
                    (value(), value(), value(), value(), value(), value());
                launches::probe_launches(
                    &backend,
                    &cell,
                    &which,
                    &pass,
                    parse_shape(&s),
                    std::path::Path::new(&log),
                );
                return;
            }
            "--probe-memory" => {
                let (backend, cell, s, which) = (value(), value(), value(), value());
                probe_memory(&backend, &cell, parse_shape(&s), &which);
                return;
            }
            other => panic!("unknown argument {other}"),
        }
    }
    if cells.is_empty() {
        cells = ["LSTM", "GRU", "Elman"].map(String::from).to_vec();
    }
    if backends.is_empty() {
        // Launches are counted on wgpu only (see `launches.rs`).
        backends.push(if launches { "wgpu" } else { "ndarray" }.to_string());
    }
    if let Some(shape) = linear {
        dense::linear_table(&backends, device, &shape, iters);
        return;
    }
    if let Some(shape) = loss {
        loss::loss_table(&backends, device, &shape, iters);
        return;
    }
    if forms {
        let s = if shape_given {
            shape
        } else {
            Shape {
                batch: 4,
                seq: 512,
                input: 32,
                hidden: 64,
            }
        };
        forms_table(&backends, s, iters);
        return;
    }
    let s = shape;
    if memory {
        memory_table(&backends, &cells, s);
        return;
    }
    if outlier {
        outlier_table(&backends, &cells, s);
        return;
    }
    if launches {
        launches::launches_table(&backends, &cells, s);
        return;
    }
    if let Some(n) = concurrent {
        concurrent_table(&backends, &cells, s, n, iters);
        return;
    }
    println!(
        "batch {}, seq {}, input {}, hidden {}; f32; median of {iters} runs; CPU kernels on {} \
         threads; burn's fusion {}\n",
        s.batch,
        s.seq,
        s.input,
        s.hidden,
        rnn_core::kernel_threads(),
        if cfg!(feature = "fusion") {
            "on"
        } else {
            "off"
        }
    );
    println!(
        "speed-up = burn-nn time / ours; × PyTorch, × ORT = ours / PyTorch's, ONNX Runtime's time (lower is better)\n"
    );
    println!(
        "| backend | cell | ours fwd (ms) | burn-nn fwd (ms) | speed-up | PyTorch fwd (ms) | × PyTorch | ORT fwd (ms) | × ORT | ours fwd+bwd (ms) | burn-nn fwd+bwd (ms) | speed-up | PyTorch fwd+bwd (ms) | × PyTorch |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for backend in &backends {
        let device = device(backend);
        for cell in cells.iter().map(String::as_str) {
            let kernel_runs = rnn_core::kernel_runs_on_this_thread();
            let ((ours_fwd, nn_fwd), (ours_train, nn_train)) =
                time_pair(|d| layers(cell, s, d), s, &device, iters);
            // A row of our fused layer that ran step by step says so (e.g. a hidden size past
            // the GPU kernel's shared memory), rather than passing for the kernel's time.
            let ran_kernel = rnn_core::kernel_runs_on_this_thread() > kernel_runs;
            let cell_label = if ran_kernel || cell.ends_with("-steps") {
                cell.to_string()
            } else {
                format!("{cell} (no kernel: step by step)")
            };
            let times = torch_times(&torch, cell);
            let vs_torch = |ours: Duration, torch: Option<f64>| match torch {
                Some(t) => (format!("{t:.2}"), format!("{:.2}×", ms(ours) / t)),
                None => ("—".to_string(), "—".to_string()),
            };
            let (tf, tf_ratio) = vs_torch(ours_fwd, times.map(|t| t.fwd));
            let (of, of_ratio) = vs_torch(ours_fwd, times.and_then(|t| t.ort_fwd));
            let (tt, tt_ratio) = vs_torch(ours_train, times.map(|t| t.train));
            println!(
                "| {backend} | {cell_label} | {:.2} | {:.2} | {:.2}× | {tf} | {tf_ratio} | {of} | {of_ratio} | {:.2} | {:.2} | {:.2}× | {tt} | {tt_ratio} |",
                ms(ours_fwd),
                ms(nn_fwd),
                ms(nn_fwd) / ms(ours_fwd),
                ms(ours_train),
                ms(nn_train),
                ms(nn_train) / ms(ours_train)
            );
        }
    }
    println!(
        "\nSingle decoder step, batch {}: ours `Cell::step`, burn-nn's layer on a length-1 sequence; forward only\n",
        s.batch
    );
    println!(
        "| backend | cell | ours step (µs) | burn-nn step (µs) | speed-up | PyTorch step (µs) | × PyTorch |"
    );
    println!("|---|---|---|---|---|---|---|");
    for backend in &backends {
        let device = device(backend);
        for cell in cells.iter().map(String::as_str) {
            let (ours, nn) = time_step(cell, s, &device, iters);
            let us = |d: Duration| d.as_secs_f64() * 1e6;
            let (torch_step, ratio) = match torch_times(&torch, cell).and_then(|t| t.step_us) {
                Some(t) => (format!("{t:.1}"), format!("{:.2}×", us(ours) / t)),
                None => ("—".to_string(), "—".to_string()),
            };
            println!(
                "| {backend} | {cell} | {:.1} | {:.1} | {:.2}× | {torch_step} | {ratio} |",
                us(ours),
                us(nn),
                us(nn) / us(ours)
            );
        }
    }
}

fn parse_shape(value: &str) -> Shape {
    let v: Vec<usize> = value
        .split(',')
        .map(|n| n.parse().expect("--shape: B,S,I,H"))
        .collect();
    assert_eq!(v.len(), 4, "--shape: expected B,S,I,H");
    Shape {
        batch: v[0],
        seq: v[1],
        input: v[2],
        hidden: v[3],
    }
}

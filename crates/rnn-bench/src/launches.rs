//! `rnn-bench --launches`: the GPU kernels launched by one forward pass, one training step and
//! one decoder step of our layers and burn-nn's on wgpu, counted by CubeCL itself rather than
//! read off the code. Each count runs in a fresh process whose working directory holds a
//! `cubecl.toml` that turns on CubeCL's execution log (`[profiling.logger] level = "minimal"`:
//! one line per kernel executed, no timing, so nothing is synchronised that would not be); the
//! process runs the pass once (compilation, autotuning, caches), then counts the lines that
//! each further run adds until two runs in a row launch the same kernels (autotuning or
//! fusion's choices may still launch more in the second run; a log line late from one run
//! would show as a difference too).

use std::path::Path;
use std::time::Duration;

use burn::tensor::{Distribution, Tensor};

use crate::{Shape, device, layers, step_layers};

/// What one count runs.
const PASSES: [&str; 3] = ["forward", "train", "step"];

/// Counted runs after which a pass whose launches still change is reported as unsteady.
const MAX_RUNS: usize = 6;

/// `--probe-launches BACKEND CELL ours|burn-nn PASS B,S,I,H LOG`: runs `PASS` until two runs
/// in a row add the same kernels to `LOG` and prints their names, one per line; fails (exit
/// status 1, the counts on standard error) when that has not happened after [`MAX_RUNS`].
pub fn probe_launches(backend: &str, cell: &str, which: &str, pass: &str, s: Shape, log: &Path) {
    let inference = device(backend);
    let device = if pass == "train" {
        inference.clone().autodiff()
    } else {
        inference
    };
    fn pick<T>(which: &str, (ours, theirs): (T, T)) -> T {
        if which == "ours" { ours } else { theirs }
    }
    // Each run ends in `sync`, so that every kernel it queued (under fusion too) has executed.
    let run: Box<dyn Fn()> = match pass {
        "forward" => {
            let layer = pick(which, layers(cell, s, &device));
            let x = Tensor::<3>::random([s.batch, s.seq, s.input], Distribution::Default, &device);
            let device = device.clone();
            Box::new(move || {
                let y = layer(x.clone());
                device.sync().expect("sync");
                drop(y);
            })
        }
        "train" => {
            let layer = pick(which, layers(cell, s, &device));
            let x = Tensor::<3>::random([s.batch, s.seq, s.input], Distribution::Default, &device);
            let device = device.clone();
            Box::new(move || {
                let x = x.clone().require_grad();
                let grads = layer(x.clone()).sum().backward();
                let dx = x.grad(&grads).expect("input gradient");
                device.sync().expect("sync");
                drop(dx);
            })
        }
        "step" => {
            let step = pick(which, step_layers(cell, s, &device));
            let x = Tensor::<2>::random([s.batch, s.input], Distribution::Default, &device);
            let device = device.clone();
            Box::new(move || {
                let h = step(x.clone());
                device.sync().expect("sync");
                drop(h);
            })
        }
        other => panic!("--probe-launches: expected a pass of {PASSES:?}, got {other}"),
    };
    let counted = || {
        let before = settled_lines(log).len();
        run();
        settled_lines(log).split_off(before)
    };
    run();
    let mut runs = vec![counted()];
    while runs.len() < MAX_RUNS {
        let kernels = counted();
        if runs.last() == Some(&kernels) {
            for line in &kernels {
                println!("{}", kernel_name(line));
            }
            return;
        }
        runs.push(kernels);
    }
    let counts: Vec<usize> = runs.iter().map(Vec::len).collect();
    eprintln!("unsteady: {counts:?} launches in {MAX_RUNS} runs after the first");
    std::process::exit(1);
}

/// The log's lines once CubeCL's logger thread has written all it was sent: it writes
/// asynchronously, so the file is read until it stops growing.
fn settled_lines(log: &Path) -> Vec<String> {
    let read = || {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("Executing "))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let mut lines = read();
    let mut unchanged = 0;
    while unchanged < 5 {
        std::thread::sleep(Duration::from_millis(20));
        let now = read();
        unchanged = if now.len() == lines.len() {
            unchanged + 1
        } else {
            0
        };
        lines = now;
    }
    lines
}

/// A kernel's family without CubeCL's hash and generic arguments: `KernelBinop | AddOp_df7f8d03`
/// → `KernelBinop AddOp`, `MatmulEntry | TensorArgs | ... (20 more)` → `MatmulEntry`.
fn kernel_name(line: &str) -> String {
    let parts: Vec<&str> = line.split(" | ").collect();
    let parts = if parts.len() > 2 {
        &parts[..1]
    } else {
        &parts[..]
    };
    parts
        .iter()
        .map(|p| match p.rsplit_once('_') {
            Some((name, hash))
                if hash.len() == 8 && hash.chars().all(|c| c.is_ascii_hexdigit()) =>
            {
                name
            }
            _ => p,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Launches per pass of each cell's layers on `backend`, each counted in a fresh process.
pub fn launches_table(backends: &[String], cells: &[String], s: Shape) {
    println!(
        "Kernel launches per pass (CubeCL's execution log, in a fresh process: the first run \
         uncounted, then runs until two in a row launch the same), batch {}, seq {}, input {}, \
         hidden {}; burn's fusion {}. `train` is forward, \
         `sum`, backward and the input's gradient; `step` is one decoder step (ours `Cell::step`, \
         burn-nn's layer on a length-1 sequence)\n",
        s.batch,
        s.seq,
        s.input,
        s.hidden,
        if cfg!(feature = "fusion") {
            "on"
        } else {
            "off"
        }
    );
    println!("| backend | cell | layer | pass | launches | kernels (count) |");
    println!("|---|---|---|---|---|---|");
    let shape = format!("{},{},{},{}", s.batch, s.seq, s.input, s.hidden);
    for backend in backends {
        assert_eq!(
            backend, "wgpu",
            "--launches: CubeCL counts launches on wgpu only"
        );
        for cell in cells {
            for which in ["ours", "burn-nn"] {
                // burn-nn's layer is the same in a `-steps` row: counted once, beside ours.
                if which == "burn-nn" && cell.ends_with("-steps") {
                    continue;
                }
                for pass in PASSES {
                    let row = match count(backend, cell, which, pass, &shape) {
                        Ok(kernels) => {
                            let mut families: Vec<(String, usize)> = Vec::new();
                            for k in &kernels {
                                match families.iter_mut().find(|(name, _)| name == k) {
                                    Some((_, n)) => *n += 1,
                                    None => families.push((k.clone(), 1)),
                                }
                            }
                            families.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                            let list: Vec<String> =
                                families.iter().map(|(k, n)| format!("{k} ({n})")).collect();
                            format!("{} | {}", kernels.len(), list.join(", "))
                        }
                        Err(e) => format!("— | probe failed: {e}"),
                    };
                    println!("| {backend} | {cell} | {which} | {pass} | {row} |");
                }
            }
        }
    }
}

/// The kernels of one pass, from a fresh process of this program run in a directory of its own
/// with CubeCL's execution log on.
fn count(
    backend: &str,
    cell: &str,
    which: &str,
    pass: &str,
    shape: &str,
) -> Result<Vec<String>, String> {
    let dir = std::env::temp_dir().join(format!(
        "rnn-bench-launches-{}-{cell}-{which}-{pass}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let log = dir.join("kernels.log");
    let config = format!(
        "[profiling.logger]\nlevel = \"minimal\"\nfile = {:?}\n",
        log.display().to_string()
    );
    std::fs::write(dir.join("cubecl.toml"), config).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(exe)
        .current_dir(&dir)
        .args(["--probe-launches", backend, cell, which, pass, shape])
        .arg(&log)
        .output()
        .map_err(|e| e.to_string());
    let _ = std::fs::remove_dir_all(&dir);
    let out = out?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().last().unwrap_or("no message").to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect())
}

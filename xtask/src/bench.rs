//! `cargo xtask bench`: the release benchmark harness (`crates/rnn-bench`), with PyTorch's
//! times at the same shape in the same table when `--torch-python PATH` names a Python with
//! torch (`torch_bench.py` runs first and hands its times to rnn-bench as JSON), on the CPU or,
//! with `--torch-device cuda`, on a GPU through cuDNN (to compare with `--backend wgpu` there).
//! `--rounds N` runs the pair N times in turn (PyTorch, ours, PyTorch, ours, ...), one table
//! per round: the machines' speed drifts from minute to minute, so ratios compare the two
//! sides within a round.

use crate::{backends, cargo};

pub fn run(args: &[String]) -> Result<(), String> {
    // `--torch-python PATH` and `--torch-device D` are ours; the rest is `--backend` flags,
    // then `-- ARGS` for rnn-bench.
    let mut torch_python = None;
    let mut torch_device = None;
    let mut rounds = None;
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let slot = match arg.as_str() {
            "--torch-python" => (&mut torch_python, "a path to python"),
            "--torch-device" => (&mut torch_device, "cpu or cuda"),
            "--rounds" => (&mut rounds, "a positive number of rounds"),
            _ => {
                rest.push(arg.clone());
                continue;
            }
        };
        let value = it
            .next()
            .ok_or_else(|| format!("{arg}: expected {}, got nothing", slot.1))?;
        *slot.0 = Some(value.clone());
    }
    if torch_device.is_some() && torch_python.is_none() {
        return Err("--torch-device: needs --torch-python PATH (the Python that runs it)".into());
    }
    let rounds = match rounds {
        None => 1,
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("--rounds: expected a positive number, got {n:?}"))?,
    };
    for round in 1..=rounds {
        if rounds > 1 {
            println!("## Round {round} of {rounds}\n");
        }
        run_round(&rest, torch_python.as_deref(), torch_device.as_deref())?;
    }
    Ok(())
}

/// One run of PyTorch's script (when asked) and then of rnn-bench with its times.
fn run_round(
    rest: &[String],
    torch_python: Option<&str>,
    torch_device: Option<&str>,
) -> Result<(), String> {
    let backends = backends(rest, &["ndarray"], &["ndarray", "wgpu", "flex"])?;
    let extra: Vec<String> = rest
        .iter()
        .skip_while(|a| *a != "--")
        .skip(1)
        .cloned()
        .collect();
    // `--bin`: a profiling binary of one's own in `crates/rnn-bench/src/bin` would leave
    // `cargo run` without a binary to choose.
    let mut cargo_args: Vec<String> = [
        "run",
        "--release",
        "-p",
        "rnn-bench",
        "--bin",
        "rnn-bench",
        "--",
    ]
    .map(String::from)
    .to_vec();
    for backend in backends {
        cargo_args.extend(["--backend".to_string(), backend]);
    }
    cargo_args.extend(extra.iter().cloned());
    let memory = extra.iter().any(|a| a == "--memory");
    match (torch_python, memory) {
        (Some(python), false) => {
            let json =
                std::env::temp_dir().join(format!("rnn-bench-torch-{}.json", std::process::id()));
            // The same shape and iteration count as the Rust harness.
            let mut torch_args = vec!["crates/rnn-bench/torch_bench.py".to_string()];
            let mut e = extra.iter();
            while let Some(arg) = e.next() {
                if arg == "--shape" || arg == "--iters" {
                    torch_args.push(arg.clone());
                    torch_args.extend(e.next().cloned());
                }
            }
            if let Some(device) = torch_device {
                torch_args.extend(["--device".to_string(), device.to_string()]);
            }
            // As many threads as our CPU kernels use.
            torch_args.extend(["--threads".to_string(), kernel_threads().to_string()]);
            torch_args.extend(["--json".to_string(), json.display().to_string()]);
            let status = std::process::Command::new(python)
                .args(&torch_args)
                .status()
                .map_err(|e| format!("--torch-python {python}: {e}"))?;
            if !status.success() {
                return Err(format!(
                    "--torch-python {python}: the PyTorch benchmark failed"
                ));
            }
            println!();
            cargo_args.extend(["--torch".to_string(), json.display().to_string()]);
        }
        (None, false) => println!(
            "PyTorch comparison skipped: pass --torch-python PATH (a Python with torch).\n"
        ),
        _ => {}
    }
    let refs: Vec<&str> = cargo_args.iter().map(String::as_str).collect();
    let (ok, _) = cargo(&refs, &[])?;
    if !ok {
        return Err("benchmark failed".into());
    }
    Ok(())
}

/// The threads the fused CPU kernels run on: `RNN_KERNEL_THREADS` when set to a positive
/// number, else the machine's available parallelism (as `rnn-core`'s `fused/threads.rs`
/// decides; xtask does not depend on rnn-core: keep the two in step).
fn kernel_threads() -> usize {
    std::env::var("RNN_KERNEL_THREADS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

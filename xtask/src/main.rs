//! Project tasks: `cargo xtask test` (the test matrix over backends) and `cargo xtask bench`.

mod bench;
mod test;

use std::process::ExitCode;

const USAGE: &str = "\
usage:
  cargo xtask test [--backend ndarray|wgpu|wgpu-fusion|flex]...
                                                      run the workspace tests on each backend
                                                      (default: ndarray, wgpu and wgpu-fusion:
                                                      rnn-core's tests on wgpu with burn's fusion)
  cargo xtask bench [--backend ndarray|flex|wgpu]... [--torch-python PATH [--torch-device cpu|cuda]]
                    [--rounds N] [-- ARGS]            release benchmark of our layers vs burn-nn
                                                      (and PyTorch)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// The backends named by `--backend` flags in `args`, or `default` when none is.
/// The `--backend` arguments among `allowed`, or `default` without any.
pub fn backends(
    args: &[String],
    default: &[&str],
    allowed: &[&str],
) -> Result<Vec<String>, String> {
    let mut backends = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--backend" => {
                let name = it
                    .next()
                    .ok_or("--backend: expected a backend name, got nothing")?;
                if !allowed.contains(&name.as_str()) {
                    return Err(format!(
                        "--backend: expected one of {}, got {name}",
                        allowed.join(", ")
                    ));
                }
                backends.push(name.clone());
            }
            "--" => break,
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if backends.is_empty() {
        backends = default.iter().map(|s| s.to_string()).collect();
    }
    Ok(backends)
}

/// The cargo that runs the xtask (`$CARGO`), or `cargo` from the `PATH`.
pub fn cargo_command() -> std::process::Command {
    std::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
}

/// Runs `cargo` with `args` and `envs`, streaming its output; returns whether it succeeded and
/// its captured stdout.
pub fn cargo(args: &[&str], envs: &[(&str, &str)]) -> Result<(bool, String), String> {
    let mut command = cargo_command();
    command.args(args).envs(envs.iter().copied());
    stream(command)
}

/// Runs `command`, printing its stdout as it comes; returns whether it succeeded and the
/// stdout.
pub fn stream(mut command: std::process::Command) -> Result<(bool, String), String> {
    command.stdout(std::process::Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", command.get_program()))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut captured = String::new();
    for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
        let line = line.map_err(|e| e.to_string())?;
        println!("{line}");
        captured.push_str(&line);
        captured.push('\n');
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    Ok((status.success(), captured))
}

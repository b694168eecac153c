//! `cargo xtask bench`: the release benchmark harness (`crates/rnn-bench`).

use crate::{backends, cargo};

pub fn run(args: &[String]) -> Result<(), String> {
    let backends = backends(args, &["ndarray"])?;
    let extra = args.iter().skip_while(|a| *a != "--").skip(1);
    let mut cargo_args = vec![
        "run".to_string(),
        "--release".into(),
        "-p".into(),
        "rnn-bench".into(),
        "--".into(),
    ];
    for backend in backends {
        cargo_args.extend(["--backend".to_string(), backend]);
    }
    cargo_args.extend(extra.cloned());
    let refs: Vec<&str> = cargo_args.iter().map(String::as_str).collect();
    let (ok, _) = cargo(&refs, &[])?;
    if ok {
        Ok(())
    } else {
        Err("benchmark failed".into())
    }
}

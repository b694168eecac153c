//! `cargo xtask test`: build the workspace tests once, run them on every backend, print a table.

use crate::{backends, cargo, cargo_command, stream};

/// Counts from cargo test's `test result:` lines, and the names of the tests that failed.
#[derive(Default, Clone)]
struct Counts {
    passed: usize,
    failed: usize,
    ignored: usize,
    /// The tests reported `FAILED` (`test NAME ... FAILED`), so that the end of the log (all
    /// that CI may show) says which ones.
    failures: Vec<String>,
}

impl Counts {
    fn parse(output: &str) -> Self {
        let mut counts = Counts::default();
        for line in output.lines().filter(|l| l.starts_with("test result:")) {
            let number = |word: &str| -> usize {
                line.split(';')
                    .find_map(|part| part.trim().strip_suffix(word).map(str::trim))
                    .and_then(|n| n.rsplit(' ').next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0)
            };
            counts.passed += number("passed");
            counts.failed += number("failed");
            counts.ignored += number("ignored");
        }
        counts.failures = output
            .lines()
            .filter_map(|l| l.strip_prefix("test ")?.strip_suffix(" ... FAILED"))
            .map(str::to_string)
            .collect();
        counts
    }

    /// The counts of a run that ended with `ok` and printed `output`. A crash or a build
    /// error counts as a failure even when no test reported one; `what` names what may have
    /// crashed.
    fn of_run(ok: bool, output: &str, what: &str) -> Self {
        let mut counts = Counts::parse(output);
        if !ok && counts.failures.is_empty() {
            counts.failed = counts.failed.max(1);
            counts
                .failures
                .push(format!("(no test reported FAILED: {what}; see above)"));
        }
        counts
    }

    /// Adds the counts of another run.
    fn add(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.ignored += other.ignored;
        self.failures.extend(other.failures);
    }
}

const WGPU_HELP: &str = "the wgpu backend could not create an adapter. On Debian/Ubuntu without a GPU, install \
Mesa's software Vulkan driver: `apt-get install -y --no-install-recommends mesa-vulkan-drivers libvulkan1` \
(see ../shared/WGPU_ON_CPU.md). Do not enable burn's `vulkan` feature.";

/// Workspace members that have tests (every member but xtask), sorted: name and manifest path.
fn test_packages() -> Result<Vec<(String, String)>, String> {
    let out = cargo_command()
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let mut packages: Vec<(String, String)> = meta["packages"]
        .as_array()
        .ok_or("cargo metadata: no packages")?
        .iter()
        .filter_map(|p| Some((p["name"].as_str()?, p["manifest_path"].as_str()?)))
        .filter(|(name, _)| *name != "xtask" && !name.ends_with("-bench"))
        .map(|(name, manifest)| (name.to_string(), manifest.to_string()))
        .collect();
    packages.sort();
    Ok(packages)
}

/// `wgpu-fusion`: wgpu with burn's `fusion` feature (on in `burn`'s default features, off in
/// this workspace), which wraps the CubeCL backend in `Fusion`: rnn-core's tests (where the
/// kernels and their fusion operations live), built a second time with that feature.
const FUSION: &str = "wgpu-fusion";

/// The crate whose tests the `wgpu-fusion` row runs.
const FUSION_CRATE: &str = "rnn-core";

/// rnn-core tests the `wgpu-fusion` row skips: those of the modern cells, which have no kernel
/// of ours and run the same Burn tensor operations as in the `wgpu` row (a few minutes on
/// lavapipe); among them two that fail under `fusion` for burn-cubecl-fusion 0.22.1's faults,
/// the mLSTM's input gradients (README, Backends).
const FUSION_SKIPS: [&str; 6] = [
    "mlstm::",
    "slstm::",
    "xlstm_stack::",
    "modern_parity::",
    "fused_slstm::",
    "min_cells::",
];

/// rnn-core's features that build its fused kernels, one per backend family.
const KERNEL_FEATURES: [&str; 3] = ["ndarray", "flex", "wgpu"];

/// Checks that each crate built on rnn-core, built alone with its default features (as a user
/// builds it), turns on every kernel feature of rnn-core. The tests cannot see this: one cargo
/// invocation for the whole workspace unifies the features, rnn-core's defaults included.
fn check_kernel_features() -> Result<(), String> {
    for package in ["rnn-tasks", "burn-rnn-examples"] {
        let args = [
            "tree", "-p", package, "-e", "features", "--edges", "normal", "-i", "rnn-core",
        ];
        let out = cargo_command()
            .args(args)
            .output()
            .map_err(|e| format!("cargo tree: {e}"))?;
        let tree = String::from_utf8_lossy(&out.stdout);
        let missing: Vec<&str> = KERNEL_FEATURES
            .into_iter()
            .filter(|f| !tree.contains(&format!("rnn-core feature \"{f}\"")))
            .collect();
        if !out.status.success() || !missing.is_empty() {
            return Err(format!(
                "{package} built alone does not turn on rnn-core's kernel features {missing:?} \
                 (`cargo {}`)",
                args.join(" ")
            ));
        }
    }
    println!("== rnn-tasks and the examples build rnn-core's kernels for {KERNEL_FEATURES:?} ==");
    Ok(())
}

pub fn run(args: &[String]) -> Result<(), String> {
    check_kernel_features()?;
    let backends = backends(
        args,
        &["ndarray", "wgpu", FUSION],
        &["ndarray", "wgpu", FUSION, "flex"],
    )?;
    let packages = test_packages()?;
    let crates: Vec<String> = packages.iter().map(|(name, _)| name.clone()).collect();
    let (fusion, backends): (Vec<String>, Vec<String>) =
        backends.into_iter().partition(|b| b == FUSION);
    let mut rows = if backends.is_empty() {
        Vec::new()
    } else {
        run_backends(&crates, &backends)?
    };
    if !fusion.is_empty() {
        rows.push((FUSION.to_string(), fusion_row(&packages)?));
    }
    print_table(&crates, &rows);
    let failed = rows.iter().any(|(_, c)| c.failed > 0);
    if failed {
        Err("some tests failed".into())
    } else {
        Ok(())
    }
}

/// Builds the tests of `crates` once, then runs them on each of `backends`: a row of counts
/// each.
fn run_backends(crates: &[String], backends: &[String]) -> Result<Vec<(String, Counts)>, String> {
    // One cargo invocation for all crates at each step: cargo unifies features over the
    // packages it is asked for, so testing crates one by one would rebuild Burn with each
    // crate's own feature set.
    let packages: Vec<&str> = crates.iter().flat_map(|k| ["-p", k.as_str()]).collect();
    let with_packages = |args: &[&'static str]| -> Vec<&str> {
        let mut all = vec!["test"];
        all.extend(&packages);
        all.extend(args);
        all
    };
    println!("== building the tests of {} once ==", crates.join(", "));
    let (ok, _) = cargo(&with_packages(&["--no-run"]), &[])?;
    if !ok {
        return Err("build failed".into());
    }
    let mut rows: Vec<(String, Counts)> = Vec::new();
    for (i, backend) in backends.iter().enumerate() {
        let envs = backend_envs(backend);
        println!("== {backend}: checking the backend ==");
        let check = [
            "--test",
            "all",
            "--",
            "--exact",
            "backend::backend_available",
        ];
        let (ok, output) = cargo(&with_packages(&check), &envs)?;
        check_backend(backend, ok, &output)?;
        println!("== {backend}: testing ==");
        // Doc tests do not depend on the backend under test: run them once, with the first.
        let targets: &[&'static str] = if i == 0 {
            &["--no-fail-fast"]
        } else {
            &["--no-fail-fast", "--lib", "--bins", "--tests", "--examples"]
        };
        let (ok, output) = cargo(&with_packages(targets), &envs)?;
        let what = "a test binary crashed or did not build";
        rows.push((backend.clone(), Counts::of_run(ok, &output, what)));
    }
    Ok(rows)
}

/// The `wgpu-fusion` row: the tests of [`FUSION_CRATE`] on wgpu under burn's `fusion`
/// feature, but for [`FUSION_SKIPS`].
///
/// They are built in one cargo invocation with every test crate of `packages` (names and
/// manifest paths), as in the other rows, so that cargo resolves the same features for every
/// dependency but the crates `fusion` reaches (burn's and ours): asked for rnn-core alone, it
/// resolves about 70 other dependencies differently (serde, wgpu, gemm, ...), and a cold
/// machine compiled them, and the CubeCL crates above them, a second time. Such an invocation
/// cannot run one package's tests, so the row runs that crate's test binaries itself, from the
/// paths cargo reports, in the crate's directory as `cargo test` does. The crate's doc tests
/// are not run under `fusion`: they run in the first row only (ndarray by default).
fn fusion_row(packages: &[(String, String)]) -> Result<Counts, String> {
    let (_, manifest) = packages
        .iter()
        .find(|(name, _)| name == FUSION_CRATE)
        .ok_or_else(|| format!("cargo metadata: no package {FUSION_CRATE}"))?;
    println!("== {FUSION}: building the tests with burn/fusion once ==");
    let mut args = vec![
        "test",
        "--no-run",
        "--message-format",
        "json-render-diagnostics",
        "--features",
        "burn/fusion",
    ];
    args.extend(packages.iter().flat_map(|(name, _)| ["-p", name.as_str()]));
    let out = cargo_command()
        .args(&args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("{FUSION}: build failed"));
    }
    // Cargo's artifact messages: the crate's test executables (the unit tests of its library
    // and of any binary, and its integration test), with the target's name.
    let binaries: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["manifest_path"] == manifest.as_str() && m["profile"]["test"] == true)
        .filter_map(|m| {
            let name = m["target"]["name"].as_str()?;
            Some((name.to_string(), m["executable"].as_str()?.to_string()))
        })
        .collect();
    let (_, integration) = binaries
        .iter()
        .find(|(name, _)| name == "all")
        .ok_or_else(|| {
            format!(
                "expected {FUSION_CRATE}'s `all` test among cargo's artifacts, got {binaries:?}"
            )
        })?;
    let directory = std::path::Path::new(manifest)
        .parent()
        .ok_or(format!("{manifest}: no directory"))?;
    let run = |binary: &str, test_args: &[&str]| {
        let mut command = std::process::Command::new(binary);
        command
            .args(test_args)
            .envs(backend_envs("wgpu"))
            .current_dir(directory);
        stream(command)
    };
    println!("== {FUSION}: checking the backend ==");
    let (ok, output) = run(integration, &["--exact", "backend::backend_available"])?;
    check_backend("wgpu", ok, &output)?;
    println!("== {FUSION}: testing ==");
    let skips: Vec<&str> = FUSION_SKIPS
        .iter()
        .flat_map(|test| ["--skip", test])
        .collect();
    let mut counts = Counts::default();
    for (name, binary) in &binaries {
        println!("== {FUSION}: {FUSION_CRATE}'s `{name}` ({binary}) ==");
        let (ok, output) = run(binary, &skips)?;
        let what = format!("the test binary {binary} crashed");
        counts.add(Counts::of_run(ok, &output, &what));
    }
    Ok(counts)
}

/// The environment that runs the tests on `backend`. The tests pick their device from
/// `RNN_TEST_BACKEND`; the doc tests, which use `Device::default()` as a user would, from
/// Burn's `BURN_DEVICE`. Without it they would run on wgpu (Burn's first choice) in every row,
/// and five at once on lavapipe have aborted with "LLVM ERROR: out of memory".
fn backend_envs(backend: &str) -> [(&'static str, &str); 2] {
    [("RNN_TEST_BACKEND", backend), ("BURN_DEVICE", backend)]
}

/// An error with help when `backend`'s smoke test (`backend::backend_available`) did not pass.
fn check_backend(backend: &str, ok: bool, output: &str) -> Result<(), String> {
    if ok && Counts::parse(output).passed > 0 {
        return Ok(());
    }
    let help = if backend == "wgpu" {
        WGPU_HELP
    } else {
        "the backend failed its smoke test"
    };
    Err(format!("{backend}: {help}"))
}

fn print_table(crates: &[String], rows: &[(String, Counts)]) {
    println!("\ncrates: {}", crates.join(", "));
    println!(
        "{:<12} {:>7} {:>7} {:>8}",
        "backend", "passed", "failed", "ignored"
    );
    let (mut passed, mut failed, mut ignored) = (0, 0, 0);
    for (backend, c) in rows {
        println!(
            "{backend:<12} {:>7} {:>7} {:>8}",
            c.passed, c.failed, c.ignored
        );
        passed += c.passed;
        failed += c.failed;
        ignored += c.ignored;
    }
    for (backend, c) in rows {
        for failure in &c.failures {
            println!("failed on {backend}: {failure}");
        }
    }
    // The closing line CI reads: ignored tests are reported as skipped.
    println!("{passed} passed, {failed} failed, {ignored} skipped");
}

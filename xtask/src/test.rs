//! `cargo xtask test`: build the workspace tests once, run them on every backend, print a table.

use crate::{backends, cargo, cargo_command, stream};

/// When the run started, for the elapsed time in each [`heading`].
static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Prints a section's heading with the time since the run started (`[mm:ss]`), so that a CI log
/// says where the time went (the build, each row, the wait for the `wgpu-fusion` build).
fn heading(text: &str) {
    let seconds = START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs();
    println!("== [{:02}:{:02}] {text} ==", seconds / 60, seconds % 60);
}

/// Counts from libtest's `test result:` lines, and the names of the tests that failed.
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
        if !ok {
            if counts.failures.is_empty() {
                counts
                    .failures
                    .push(format!("(no test reported FAILED: {what}; see above)"));
            }
            // A binary that crashed after a test failed printed no `test result:` line to
            // count from: its failures are at least those it reported, and at least one.
            counts.failed = counts.failed.max(counts.failures.len()).max(1);
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

/// The `wgpu-fusion` build's arguments besides the packages (every package, for the
/// dependencies' features; see [`build_command`]): burn's `fusion` feature, and one target:
/// rnn-core's integration tests (a target name no other crate uses). Not the libraries' unit
/// tests: rnn-core's check its CPU kernels and launch arithmetic, which `fusion` does not
/// touch, and asking for them would build every package's library (cargo has no way to ask for
/// one package's alone). It builds no other crate's library or tests, no example program and
/// no program of a package, so it links no program into `target/debug/`.
const FUSION_BUILD: [&str; 4] = ["--features", "burn/fusion", "--test", "core"];

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
    heading(&format!(
        "rnn-tasks and the examples build rnn-core's kernels for {KERNEL_FEATURES:?}"
    ));
    Ok(())
}

pub fn run(args: &[String]) -> Result<(), String> {
    START.get_or_init(std::time::Instant::now);
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
    let mut rows: Vec<(String, Counts)> = Vec::new();
    let mut fusion_build = None;
    if let Some(first) = backends.first() {
        heading(&format!("building the tests of {} once", crates.join(", ")));
        let binaries = test_binaries(&build_tests("the tests", &packages, &[])?, &packages);
        for backend in &backends {
            check_row(backend, backend, &binaries)?;
        }
        heading(&format!("{first}: doc tests"));
        let mut doc = vec!["test", "--doc", "--no-fail-fast"];
        doc.extend(crate_args(&packages));
        let (ok, output) = cargo(&doc, &backend_envs(first))?;
        let mut doc_counts = Some(Counts::of_run(
            ok,
            &output,
            "the doc tests did not build or crashed",
        ));
        // The fusion row's build compiles beside the other rows, niced, on the cores that
        // lavapipe and the test threads leave idle. The rows run their test binaries
        // themselves, as cargo would block on the build directory's lock. That build links no
        // program of a package (see `FUSION_BUILD`), so the copies in `target/debug/` that the
        // rows' tests start (`CARGO_BIN_EXE_<name>`) stay those of the first build.
        if !fusion.is_empty() {
            fusion_build = Some(BackgroundBuild::start(&packages)?);
        }
        let binaries: Vec<&TestBinary> = binaries.iter().collect();
        for backend in &backends {
            let mut counts = run_binaries(backend, backend, &binaries, &[])?;
            counts.add(doc_counts.take().unwrap_or_default());
            rows.push((backend.clone(), counts));
        }
    }
    if !fusion.is_empty() {
        let json = match fusion_build {
            Some(build) => build.finish()?,
            None => {
                heading(&format!(
                    "{FUSION}: building the tests with burn/fusion once"
                ));
                build_tests(FUSION, &packages, &FUSION_BUILD)?
            }
        };
        let binaries = test_binaries(&json, &packages);
        check_row(FUSION, "wgpu", &binaries)?;
        let skips: Vec<&str> = FUSION_SKIPS
            .iter()
            .flat_map(|test| ["--skip", test])
            .collect();
        let binaries: Vec<&TestBinary> = binaries.iter().collect();
        rows.push((
            FUSION.to_string(),
            run_binaries(FUSION, "wgpu", &binaries, &skips)?,
        ));
    }
    print_table(&crates, &rows);
    let failed = rows.iter().any(|(_, c)| c.failed > 0);
    if failed {
        Err("some tests failed".into())
    } else {
        Ok(())
    }
}

/// `-p NAME` for each of `packages`.
fn crate_args(packages: &[(String, String)]) -> Vec<&str> {
    packages
        .iter()
        .flat_map(|(name, _)| ["-p", name.as_str()])
        .collect()
}

/// The command that builds the tests of every crate of `packages` (names and manifest paths),
/// plus `extra` arguments, printing cargo's artifact messages as JSON on stdout.
///
/// One cargo invocation for all crates: cargo unifies features over the packages it is asked
/// for, so building crates one by one would rebuild Burn with each crate's own feature set.
/// The same holds for the `wgpu-fusion` build: asked for rnn-core alone, it resolved about 70
/// other dependencies differently (serde, wgpu, gemm, ...), and a cold machine compiled them,
/// and the CubeCL crates above them, a second time.
fn build_command(packages: &[(String, String)], extra: &[&str]) -> std::process::Command {
    let mut command = cargo_command();
    command
        .args([
            "test",
            "--no-run",
            "--message-format",
            "json-render-diagnostics",
        ])
        .args(crate_args(packages))
        .args(extra);
    command
}

/// Builds the tests (see [`build_command`]; `what` names the build in an error), cargo's
/// progress and errors on stderr; returns cargo's JSON messages.
fn build_tests(
    what: &str,
    packages: &[(String, String)],
    extra: &[&str],
) -> Result<String, String> {
    let out = build_command(packages, extra)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("{what}: build failed"));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The `wgpu-fusion` row's build, running in the background with its output in files.
struct BackgroundBuild {
    child: std::process::Child,
    stdout: std::path::PathBuf,
    stderr: std::path::PathBuf,
}

impl BackgroundBuild {
    fn start(packages: &[(String, String)]) -> Result<Self, String> {
        // The time in the name too: a file that a killed run left keeps its process id's name.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let base =
            std::env::temp_dir().join(format!("xtask-{FUSION}-{}-{nanos}", std::process::id()));
        let (stdout, stderr) = (base.with_extension("json"), base.with_extension("log"));
        let remove = || {
            let _ = std::fs::remove_file(&stdout);
            let _ = std::fs::remove_file(&stderr);
        };
        let file = |path: &std::path::Path| {
            std::fs::File::create_new(path).map_err(|e| format!("{}: {e}", path.display()))
        };
        let cargo = build_command(packages, &FUSION_BUILD);
        heading(&format!(
            "{FUSION}: building the tests with burn/fusion in the background"
        ));
        let spawn = || -> Result<std::process::Child, String> {
            std::process::Command::new("nice")
                .args(["-n", "19"])
                .arg(cargo.get_program())
                .args(cargo.get_args())
                .stdout(file(&stdout)?)
                .stderr(file(&stderr)?)
                .spawn()
                .map_err(|e| format!("{FUSION}: cannot start its build with `nice`: {e}"))
        };
        let child = spawn().inspect_err(|_| remove())?;
        Ok(Self {
            child,
            stdout,
            stderr,
        })
    }

    /// Waits for the build, prints its log; returns cargo's JSON messages.
    fn finish(mut self) -> Result<String, String> {
        heading(&format!("{FUSION}: waiting for its build"));
        let status = self.child.wait().map_err(|e| e.to_string())?;
        let read = |path: &std::path::Path| {
            std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
        };
        let (json, log) = (read(&self.stdout)?, read(&self.stderr)?);
        eprint!("{log}");
        if status.success() {
            Ok(json)
        } else {
            Err(format!("{FUSION}: build failed"))
        }
    }
}

/// A row that fails before the build is waited for leaves no cargo holding the build
/// directory's lock (the rustc it started finishes its crate), and no file behind.
impl Drop for BackgroundBuild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for path in [&self.stdout, &self.stderr] {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A test executable that cargo built.
struct TestBinary {
    package: String,
    /// The target's name (`core` for rnn-core's integration tests, `all` for the others').
    target: String,
    /// Whether it is a crate's integration tests (not a library's or a program's unit tests).
    integration: bool,
    executable: String,
    /// Its package's directory, where `cargo test` runs it.
    directory: std::path::PathBuf,
}

/// The test executables in cargo's JSON messages `json` (the unit tests of each library and
/// binary, and the integration tests) of `packages`.
fn test_binaries(json: &str, packages: &[(String, String)]) -> Vec<TestBinary> {
    json.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["profile"]["test"] == true)
        .filter_map(|m| {
            let (package, manifest) = packages
                .iter()
                .find(|(_, manifest)| m["manifest_path"] == manifest.as_str())?;
            Some(TestBinary {
                package: package.clone(),
                integration: m["target"]["kind"]
                    .as_array()
                    .is_some_and(|k| k.contains(&"test".into())),
                target: m["target"]["name"].as_str()?.to_string(),
                executable: m["executable"].as_str()?.to_string(),
                directory: std::path::Path::new(manifest).parent()?.to_path_buf(),
            })
        })
        .collect()
}

/// Runs `binary` for `row` with the environment of `backend` and `args`, in its package's
/// directory and with the package's `CARGO_MANIFEST_DIR` and `CARGO_PKG_NAME`, as `cargo test`
/// runs it. `RNN_TEST_EXPECT_FUSION` says whether the row is the fusion build's, which the
/// smoke test `backend::fusion_as_the_row_expects` checks.
fn run_binary(
    row: &str,
    binary: &TestBinary,
    backend: &str,
    args: &[&str],
) -> Result<(bool, String), String> {
    let mut command = std::process::Command::new(&binary.executable);
    command
        .args(args)
        .envs(backend_envs(backend))
        .env(
            "RNN_TEST_EXPECT_FUSION",
            if row == FUSION { "1" } else { "0" },
        )
        .env("CARGO_MANIFEST_DIR", &binary.directory)
        .env("CARGO_PKG_NAME", &binary.package)
        .current_dir(&binary.directory);
    stream(command)
}

/// The backend's smoke tests (`backend::backend_available`, and that the row runs under
/// fusion exactly when it is the fusion row) in the integration tests of
/// `binaries`, with the environment of `backend` (`row` names the row): an error with help
/// when it did not pass.
fn check_row(row: &str, backend: &str, binaries: &[TestBinary]) -> Result<(), String> {
    heading(&format!("{row}: checking the backend"));
    let integration: Vec<&TestBinary> = binaries.iter().filter(|b| b.integration).collect();
    if integration.is_empty() {
        return Err(format!(
            "{row}: no integration test among cargo's artifact messages"
        ));
    }
    let (mut all_ok, mut smoke) = (true, String::new());
    for binary in integration {
        let tests = [
            "--exact",
            "backend::backend_available",
            "backend::fusion_as_the_row_expects",
        ];
        let (ok, output) = run_binary(row, binary, backend, &tests)?;
        all_ok &= ok;
        smoke.push_str(&output);
    }
    if all_ok && Counts::parse(&smoke).passed > 0 {
        return Ok(());
    }
    let help = if backend == "wgpu" {
        WGPU_HELP
    } else {
        "the backend failed its smoke test"
    };
    Err(format!("{backend}: {help}"))
}

/// Runs every test of `binaries` with the environment of `backend` and `args` (`row` names
/// the row).
fn run_binaries(
    row: &str,
    backend: &str,
    binaries: &[&TestBinary],
    args: &[&str],
) -> Result<Counts, String> {
    let mut counts = Counts::default();
    for binary in binaries {
        let (package, target, executable) = (&binary.package, &binary.target, &binary.executable);
        heading(&format!("{row}: {package}'s `{target}` ({executable})"));
        let (ok, output) = run_binary(row, binary, backend, args)?;
        let what = format!("the test binary {executable} crashed");
        counts.add(Counts::of_run(ok, &output, &what));
    }
    Ok(counts)
}

/// The environment that runs the tests on `backend`. The tests pick their device from
/// `RNN_TEST_BACKEND`; the doc tests, which use `Device::default()` as a user would, from
/// Burn's `BURN_DEVICE`. Without it they would run on wgpu (Burn's first choice) even in the
/// ndarray row, and five at once on lavapipe have aborted with "LLVM ERROR: out of memory".
fn backend_envs(backend: &str) -> [(&'static str, &str); 2] {
    [("RNN_TEST_BACKEND", backend), ("BURN_DEVICE", backend)]
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

#[cfg(test)]
mod tests {
    use super::Counts;

    #[test]
    fn a_finished_run_counts_what_libtest_reports() {
        let output = "test a ... ok\ntest b ... FAILED\n\ntest result: FAILED. 1 passed; 1 failed; \
                      2 ignored; 0 measured; 0 filtered out; finished in 0.01s\n";
        let counts = Counts::of_run(false, output, "all");
        assert_eq!((counts.passed, counts.failed, counts.ignored), (1, 1, 2));
        assert_eq!(counts.failures, ["b"]);
    }

    /// A binary that aborts (an out-of-memory abort, a segfault) after a test failed prints
    /// no `test result:` line: the run still counts as failed, with the tests it reported.
    #[test]
    fn a_crash_after_a_failure_counts_as_failed() {
        let output =
            "test a ... ok\ntest b ... FAILED\ntest c ... FAILED\nLLVM ERROR: out of memory\n";
        let counts = Counts::of_run(false, output, "all");
        assert_eq!(counts.failed, 2);
        assert_eq!(counts.failures, ["b", "c"]);
        let silent = Counts::of_run(false, "Segmentation fault\n", "all");
        assert_eq!(silent.failed, 1);
        assert!(silent.failures[0].starts_with("(no test reported FAILED"));
    }
}

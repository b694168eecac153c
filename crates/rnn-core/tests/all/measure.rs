//! Work run in a child process: peak memory measured there, environment variables set for it.
//!
//! Peak memory of a piece of work, measured in a child process: the test binary counts every
//! allocation (a counting global allocator), and a test that measures runs itself again as
//! the only test of a fresh process, so that no other test's allocations count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The system allocator, counting the bytes live now and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator with the same arguments; the
// counters are only statistics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as the trait requires of our caller.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as the trait requires of our caller.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        // SAFETY: `p` was allocated by `System` with `layout`.
        unsafe { System.dealloc(p, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        // SAFETY: as the trait requires of our caller.
        let q = unsafe { System.realloc(p, layout, size) };
        if !q.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(size);
        }
        q
    }
}

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Environment variable that tells a child process which work to measure.
const CHILD: &str = "RNN_TEST_MEASURE_CHILD";

/// The argument the child was started with, when this process is a child.
pub fn child_argument() -> Option<String> {
    std::env::var(CHILD).ok()
}

/// The bytes allocated by `f` at its peak, over what was live before it.
pub fn peak_during(f: impl FnOnce()) -> usize {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed) - before
}

/// Runs test `test` (its full path, e.g. `long_sequences::memory`) alone in a child process
/// with `argument` (see [`child_argument`]) and the environment variables `envs`, and returns
/// what it printed, failing if it failed or ran longer than `limit` (it is then killed: a hang
/// fails, it does not hang the suite).
pub fn in_child(test: &str, argument: &str, envs: &[(&str, &str)], limit: Duration) -> String {
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, argument)
        .envs(envs.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the test binary starts");
    let started = Instant::now();
    while child.try_wait().expect("waiting for the child").is_none() {
        if started.elapsed() > limit {
            child.kill().ok();
            panic!("{test} ({argument}) took more than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("the child's output");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{test} ({argument}) failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The number a child printed after `label` (`label 123`; the test harness may have printed
/// the test's name before it on the same line).
pub fn printed(stdout: &str, label: &str) -> usize {
    stdout
        .lines()
        .find_map(|l| l.split_once(label))
        .and_then(|(_, v)| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no `{label}` in:\n{stdout}"))
}

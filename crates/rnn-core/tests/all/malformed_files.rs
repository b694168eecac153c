//! Malformed weight files: seeded truncations and byte mutations of valid safetensors and
//! `.pt` state dicts never panic, never hang, and never allocate more than a small multiple of
//! the file size (a header that claims a huge tensor must not make the reader ask for it).
//! Run in a child process (see [`crate::measure`]), which is killed if it hangs.

use std::time::Duration;

use rnn_core::pytorch::StateDict;
use rnn_core::{Lstm, RnnConfig};

use crate::backend::device;
use crate::measure::{child_argument, in_child, peak_during, printed};
use crate::util::{Rng, fixture_path};

/// Mutated copies of each file.
const CASES_PER_FILE: usize = 800;

/// Each case may allocate this many times the file's size, plus [`OVERHEAD`].
const MAX_RATIO: usize = 16;
const OVERHEAD: usize = 1 << 20;

const FILES: [&str; 4] = [
    "lstm_l2_bi_bias.safetensors",
    "lstm_l2_bi_bias.pt",
    "prefixed.safetensors",
    "prefixed.pt",
];

/// A mutated copy of `bytes`: truncated, with a few bytes replaced, with 8 bytes set to
/// `0xff` (huge lengths and offsets), or with a chunk repeated.
fn mutate(bytes: &[u8], rng: &mut Rng) -> (Vec<u8>, &'static str) {
    let mut out = bytes.to_vec();
    let at = |rng: &mut Rng, len: usize| rng.range(0, len.saturating_sub(1));
    match rng.range(0, 3) {
        0 => {
            out.truncate(at(rng, bytes.len()));
            (out, "truncated")
        }
        1 => {
            for _ in 0..rng.range(1, 4) {
                let i = at(rng, out.len());
                out[i] = rng.next_u64() as u8;
            }
            (out, "bytes replaced")
        }
        2 => {
            let i = at(rng, out.len().saturating_sub(8));
            out[i..(i + 8).min(bytes.len())].fill(0xff);
            (out, "0xff run")
        }
        _ => {
            let (i, len) = (at(rng, out.len()), rng.range(1, 64));
            let chunk = out[i..(i + len).min(bytes.len())].to_vec();
            out.splice(i..i, chunk);
            (out, "chunk repeated")
        }
    }
}

/// Reads `path`, measuring the peak memory of the reading, and, when it reads, loads it into
/// `lstm` (of the fixtures' shape; the tensors this makes on the device are the network's, not
/// the file's, and on wgpu come with the backend's own caches).
fn read_and_load(path: &std::path::Path, lstm: &Lstm, peak: &mut usize) {
    let mut dict = None;
    *peak = peak_during(|| dict = StateDict::read(path).ok());
    if let Some(dict) = dict {
        let _ = lstm.clone().load_state_dict(&dict, "", false);
    }
}

/// In the child: every case of every file; prints how many cases ran.
fn run_cases() -> usize {
    std::panic::set_hook(Box::new(|_| {}));
    let dir = tempfile::tempdir().unwrap();
    let lstm: Lstm = RnnConfig::new(4, 3)
        .with_num_layers(2)
        .with_bidirectional(true)
        .init(&device());
    let mut failures = Vec::new();
    let mut cases = 0;
    for (f, file) in FILES.into_iter().enumerate() {
        let source = fixture_path(&format!("torch_weights/{file}"));
        let bytes = std::fs::read(&source).unwrap();
        let mut rng = Rng::new(f as u64 + 100);
        for case in 0..CASES_PER_FILE {
            let (mutated, how) = mutate(&bytes, &mut rng);
            let path = dir
                .path()
                .join(format!("case.{}", file.rsplit('.').next().unwrap()));
            std::fs::write(&path, &mutated).unwrap();
            let mut peak = 0;
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                read_and_load(&path, &lstm, &mut peak)
            }));
            let what = format!("{file} case {case} ({how}, {} bytes)", mutated.len());
            if let Err(payload) = outcome {
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{what}: panicked: {message}"));
            } else if peak > MAX_RATIO * mutated.len() + OVERHEAD {
                failures.push(format!("{what}: allocated {peak} bytes"));
            }
            cases += 1;
        }
    }
    let _ = std::panic::take_hook();
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed, e.g.:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
    cases
}

#[test]
fn mutated_weight_files_are_errors_not_panics() {
    if child_argument().is_some() {
        println!("cases {}", run_cases());
        return;
    }
    let test = "malformed_files::mutated_weight_files_are_errors_not_panics";
    let stdout = in_child(test, "all", &[], Duration::from_secs(300));
    assert_eq!(printed(&stdout, "cases "), FILES.len() * CASES_PER_FILE);
}

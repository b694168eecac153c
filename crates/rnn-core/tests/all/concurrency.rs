//! Concurrent callers get exactly what sequential ones get: the fused kernels share one thread
//! budget and one buffer pool among all calls, and how a run is split never depends on how busy
//! the machine is.

use std::time::Duration;

use burn::tensor::Tensor;
use rnn_core::{Cell, Gru, Lstm, RnnConfig, kernel_threads, set_kernel_threads};

use crate::backend::autodiff_device;
use crate::measure::{child_argument, in_child, printed};
use crate::util::{Rng, values};

/// Callers at once.
const CALLERS: usize = 16;

/// The outputs, the final hidden state and the gradients of the input and of the first
/// cell's `weight_hh` for a training step of `lstm` and `gru` over `x`.
fn run(lstm: &Lstm, gru: &Gru, x: &Tensor<3>) -> Vec<Vec<f32>> {
    let x = x.clone().require_grad();
    let a = lstm.forward(x.clone(), None, None);
    let lengths: Vec<usize> = (0..x.dims()[0]).map(|b| 1 + b % x.dims()[1]).collect();
    let b = gru.forward(a.output.clone(), None, Some(&lengths));
    let loss = (b.output.clone() * b.output.clone()).sum() + a.state.hidden.clone().sum();
    let grads = loss.backward();
    vec![
        values(&a.output),
        values(&b.output),
        values(&b.state.hidden),
        values(&x.grad(&grads).unwrap()),
        values(&lstm.cells()[0].weights().weight_hh.grad(&grads).unwrap()),
    ]
}

#[test]
fn concurrent_callers_agree_with_sequential_ones() {
    let device = autodiff_device();
    let lstm: Lstm = RnnConfig::new(6, 256)
        .with_bidirectional(true)
        .init(&device);
    let gru: Gru = RnnConfig::new(512, 32).with_num_layers(2).init(&device);
    // Batches of 1 and 2 (a run split by hidden units, whose threads meet every step) and of
    // 24 (split by examples).
    let inputs: Vec<Tensor<3>> = (0..CALLERS)
        .map(|i| {
            let batch = [1, 2, 24][i % 3];
            Rng::new(i as u64).tensor([batch, 7, 6], &device)
        })
        .collect();
    let sequential: Vec<_> = inputs.iter().map(|x| run(&lstm, &gru, x)).collect();
    let concurrent: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = inputs
            .iter()
            .map(|x| s.spawn(|| run(&lstm, &gru, x)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, (a, b)) in sequential.iter().zip(&concurrent).enumerate() {
        assert!(
            a == b,
            "caller {i}: concurrent results differ from sequential ones"
        );
    }
}

/// `RNN_KERNEL_THREADS` caps the kernels' threads and `set_kernel_threads` overrides it (in a
/// child process: the cap is the process's, and changing it here would change how the other
/// tests' runs are split).
#[test]
fn the_thread_cap_comes_from_the_environment_or_the_setting() {
    let test = "concurrency::the_thread_cap_comes_from_the_environment_or_the_setting";
    match child_argument().as_deref() {
        Some("read") => println!("threads {}", kernel_threads()),
        Some(set) => {
            set_kernel_threads(set.parse().unwrap());
            let lstm: Lstm = RnnConfig::new(6, 256).init(&autodiff_device());
            let x = Rng::new(1).tensor([2, 7, 6], &autodiff_device());
            let out = lstm.forward(x, None, None).output;
            assert!(values(&out).iter().all(|v| v.is_finite()));
            println!("threads {}", kernel_threads());
        }
        None => {
            let limit = Duration::from_secs(120);
            let threads = |argument: &str, envs: &[(&str, &str)]| {
                printed(&in_child(test, argument, envs, limit), "threads ")
            };
            assert_eq!(threads("read", &[("RNN_KERNEL_THREADS", "3")]), 3);
            assert_eq!(threads("1", &[("RNN_KERNEL_THREADS", "3")]), 1);
            assert_eq!(threads("5", &[]), 5);
            let cores = std::thread::available_parallelism().unwrap().get();
            assert_eq!(threads("read", &[("RNN_KERNEL_THREADS", "")]), cores);
        }
    }
}

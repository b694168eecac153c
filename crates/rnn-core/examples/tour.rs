//! A first tour of rnn-core: run an LSTM and a bidirectional GRU over a padded batch, then
//! train a small LSTM classifier to tell whether a sequence's values sum to a positive number.
//!
//! ```sh
//! cargo run -p rnn-core --example tour              # ndarray
//! cargo run -p rnn-core --example tour -- wgpu      # or wgpu / flex
//! ```

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use rnn_core::{Gru, Lstm, RnnConfig};

/// Sequence classifier: LSTM, then a linear layer on the final hidden state.
#[derive(Module, Debug)]
struct SumSign {
    lstm: Lstm,
    head: Linear,
}

impl SumSign {
    /// `x: [batch, seq, 1]`, `lengths: [batch]` → logits `[batch, 2]`.
    fn forward(&self, x: Tensor<3>, lengths: &[usize]) -> Tensor<2> {
        let out = self.lstm.forward(x, None, Some(lengths));
        let last = out.state.hidden.squeeze_dim::<2>(0);
        self.head.forward(last)
    }
}

#[allow(deprecated)] // burn-ndarray is deprecated upstream in favour of flex; still supported
fn device(name: &str) -> Device {
    match name {
        "ndarray" => Device::ndarray(),
        "flex" => Device::flex(),
        "wgpu" => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        other => panic!("backend: expected ndarray, wgpu or flex, got {other}"),
    }
}

/// A batch of random sequences of random lengths in 3..=10 with labels `sum > 0`.
fn batch(step: u64, size: usize, device: &Device) -> (Tensor<3>, Vec<usize>, Tensor<1, Int>) {
    let seq = 10;
    let mut state = step.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut values = Vec::with_capacity(size * seq);
    let mut lengths = Vec::with_capacity(size);
    let mut labels = Vec::with_capacity(size);
    for _ in 0..size {
        let len = 3 + (next() % 8) as usize;
        let mut sum = 0.0;
        for t in 0..seq {
            let v = if t < len {
                (next() % 2001) as f32 / 1000.0 - 1.0
            } else {
                0.0
            };
            sum += v;
            values.push(v);
        }
        lengths.push(len);
        labels.push((sum > 0.0) as i64);
    }
    (
        Tensor::from_data(TensorData::new(values, [size, seq, 1]), device),
        lengths,
        Tensor::from_data(TensorData::new(labels, [size]), device),
    )
}

fn main() {
    let backend = std::env::args().nth(1).unwrap_or_else(|| "ndarray".into());
    let device = device(&backend);
    device.seed(42);
    println!("backend: {backend}");

    // 1. Shapes: a 2-layer LSTM and a bidirectional GRU over a padded batch.
    let x = Tensor::<3>::random([3, 6, 8], Distribution::Default, &device);
    let lstm: Lstm = RnnConfig::new(8, 16).with_num_layers(2).init(&device);
    let out = lstm.forward(x.clone(), None, None);
    println!(
        "LSTM output {:?}, h_n {:?}",
        out.output.dims(),
        out.state.hidden.dims()
    );
    let gru: Gru = RnnConfig::new(8, 16).with_bidirectional(true).init(&device);
    let out = gru.forward(x, None, Some(&[6, 2, 4]));
    println!(
        "BiGRU output {:?}, h_n {:?} (lengths 6, 2, 4)",
        out.output.dims(),
        out.state.hidden.dims()
    );

    // 2. Training: is the sum of a variable-length sequence positive?
    let train_device = device.clone().autodiff();
    let mut model = SumSign {
        lstm: RnnConfig::new(1, 24).init(&train_device),
        head: LinearConfig::new(24, 2).init(&train_device),
    };
    let mut optim = AdamConfig::new().init();
    for step in 1..=150 {
        let (x, lengths, labels) = batch(step, 64, &train_device);
        let logits = model.forward(x, &lengths);
        let loss = -log_softmax(logits, 1)
            .gather(1, labels.unsqueeze_dim(1))
            .mean();
        if step % 25 == 0 {
            println!(
                "step {step:>3}  loss {:.4}",
                loss.clone().into_scalar::<f32>()
            );
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(5e-3, model, grads);
    }

    let model = model.valid();
    let (x, lengths, labels) = batch(10_000, 1000, &device);
    let predicted = model.forward(x, &lengths).argmax(1).squeeze_dim::<1>(1);
    let correct: i64 = predicted.equal(labels).int().sum().into_scalar();
    println!("held-out accuracy: {:.3}", correct as f64 / 1000.0);
}

//! `linear`: on ndarray and flex the fused CPU dense layer, against Burn's own `linear` on the
//! same backend (elsewhere `linear` is Burn's, and the test checks that nothing else ran): the
//! output and the gradients of the input, the weights and the bias, for 2-D and 3-D inputs,
//! with and without a bias, with weights stored transposed (a layer tied to an embedding), at
//! sizes that leave partial register tiles and panels, shared between threads, and below the
//! 128 rows from which the fused layer runs.
//! NaN propagates; wrong sizes panic with messages naming the argument.

use burn::nn::LinearConfig;
use burn::tensor::{Tensor, TensorData};
use rnn_core::{linear, linear_layer, linear_runs_on_this_thread};
use rstest::rstest;

use crate::backend::{autodiff_device, device};
use crate::fused::assert_close;
use crate::util::{Rng, values};

/// Runs `f` and checks that it ran the dense layer exactly `runs` times on the CPU backends.
fn expect_runs<R>(runs: usize, f: impl FnOnce() -> R) -> R {
    crate::backend::expect_runs("fused dense layer", linear_runs_on_this_thread, runs, f)
}

#[rstest]
fn matches_burns_linear(
    #[values((1, 1, 1, 1), (2, 7, 19, 37), (2, 70, 19, 37), (3, 50, 64, 130), (4, 50, 200, 300))]
    sizes: (usize, usize, usize, usize),
    #[values(false, true)] with_bias: bool,
    #[values(false, true)] transposed: bool,
) {
    let (batch, seq, d_in, d_out) = sizes;
    let device = autodiff_device();
    let mut rng = Rng::new(11);
    let x = rng.tensor::<3>([batch, seq, d_in], &device);
    // Stored `[out, in]` and seen transposed, or stored `[in, out]`.
    let weight = if transposed {
        rng.tensor::<2>([d_out, d_in], &device).transpose()
    } else {
        rng.tensor::<2>([d_in, d_out], &device)
    };
    let bias = with_bias.then(|| rng.tensor::<1>([d_out], &device));
    let upstream = rng.tensor::<3>([batch, seq, d_out], &device);
    let run = |fused: bool| {
        let x = x.clone().require_grad();
        let weight = weight.clone().require_grad();
        let bias = bias.clone().map(Tensor::require_grad);
        let y = if fused {
            // From 128 rows (the leading dimensions together) the fused layer runs.
            let runs = usize::from(batch * seq >= 128);
            expect_runs(runs, || linear(x.clone(), weight.clone(), bias.clone()))
        } else {
            burn::tensor::module::linear(x.clone(), weight.clone(), bias.clone())
        };
        let grads = (y.clone() * upstream.clone()).sum().backward();
        let mut out = vec![values(&y), values(&x.grad(&grads).unwrap())];
        out.push(values(&weight.grad(&grads).unwrap()));
        out.extend(bias.map(|b| values(&b.grad(&grads).unwrap())));
        out
    };
    let (fused, expected) = (run(true), run(false));
    for ((what, fused), expected) in ["output", "dx", "dweight", "dbias"]
        .iter()
        .zip(&fused)
        .zip(&expected)
    {
        assert_close(what, fused, expected);
    }
}

#[test]
fn without_autodiff_and_on_vectors() {
    let device = device();
    let mut rng = Rng::new(3);
    let layer = LinearConfig::new(33, 17).init(&device);
    let x = rng.tensor::<2>([129, 33], &device);
    let y = expect_runs(1, || linear_layer(&layer, x.clone()));
    assert_close("2-D", &values(&y), &values(&layer.forward(x.clone())));
    let v = x.narrow(0, 2, 1).reshape([33]);
    let y = expect_runs(0, || linear_layer(&layer, v.clone()));
    assert_eq!(y.dims(), [17]);
    assert_close("1-D", &values(&y), &values(&layer.forward(v)));
}

#[test]
fn nan_propagates_to_its_row() {
    for device in [device(), autodiff_device()] {
        let mut x = vec![0.5f32; 130 * 4];
        x[5] = f32::NAN;
        let x = Tensor::<2>::from_data(TensorData::new(x, [130, 4]), &device);
        let weight = Tensor::<2>::zeros([4, 2], &device);
        let y = values(&expect_runs(1, || linear(x, weight, None)));
        let nan: Vec<usize> = (0..y.len()).filter(|&i| y[i].is_nan()).collect();
        assert_eq!(nan, [2, 3], "the second row, both columns");
    }
}

#[test]
#[should_panic(
    expected = "input: expected a last dimension of 4 (the weight's input size), got shape [2, 3]"
)]
fn wrong_input_size_panics_naming_it() {
    let device = device();
    linear(
        Tensor::<2>::zeros([2, 3], &device),
        Tensor::zeros([4, 5], &device),
        None,
    );
}

#[test]
#[should_panic(expected = "bias: expected [5] (the weight's output size), got [4]")]
fn wrong_bias_size_panics_naming_it() {
    let device = device();
    linear(
        Tensor::<2>::zeros([2, 4], &device),
        Tensor::zeros([4, 5], &device),
        Some(Tensor::zeros([4], &device)),
    );
}

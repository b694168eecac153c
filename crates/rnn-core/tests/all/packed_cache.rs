//! Packed weights kept between calls on the CPU backends: a recurrent step of 16 examples or
//! more, inference over a sequence and, for inference, a dense layer from 16 rows (of at most
//! 256 inputs) pack their weights once and reuse them while the weights are unchanged. Checked against the paths that
//! pack nothing (a step of fewer examples, Burn's `linear`): the first call, a call that finds
//! the weights kept, and a call after the weights were changed where they are stored (a
//! parameter mapped in place, as an optimizer step does), which must not find the old ones.
//! Elsewhere nothing is kept, and the tests check that nothing was reused.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::Tensor;
use rnn_core::{
    AnyRnn, CellKind, RnnConfig, RnnState, linear, linear_runs_on_this_thread,
    packed_weights_reused_on_this_thread,
};

use crate::backend::{autodiff_device, device, on_cpu_kernels};
use crate::fused::assert_close;
use crate::util::{Rng, values};

/// Runs `f` and checks that it reused kept packed weights `reused` times on the CPU backends.
fn expect_reused<R>(reused: usize, f: impl FnOnce() -> R) -> R {
    let before = packed_weights_reused_on_this_thread();
    let result = f();
    let expected = if on_cpu_kernels() { reused } else { 0 };
    assert_eq!(
        packed_weights_reused_on_this_thread() - before,
        expected,
        "packed weights reused"
    );
    result
}

/// Doubles every float parameter where it is stored when nothing else holds it.
struct Double;

impl ModuleMapper for Double {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|tensor| tensor.mul_scalar(2.0))
    }
}

/// One step of `rnn` for the rows of `x` and `state` (`[batch, ..]`, `[1, batch, ..]`): `h`
/// and `c` after it, as values.
fn step(rnn: &AnyRnn, x: &Tensor<2>, state: &RnnState<3>) -> Vec<Vec<f32>> {
    let (_, next) = rnn.step(x.clone(), Some(state.clone()));
    vec![
        values(&next.hidden),
        values(&next.cell.expect("an LSTM's c")),
    ]
}

/// The same step in halves of fewer than 16 examples, which read the weights in place.
fn step_in_halves(rnn: &AnyRnn, x: &Tensor<2>, state: &RnnState<3>) -> Vec<Vec<f32>> {
    let batch = x.dims()[0];
    let half = |first: usize| {
        let rows = batch / 2;
        let state = state.clone().map(|t| t.narrow(1, first, rows));
        step(rnn, &x.clone().narrow(0, first, rows), &state)
    };
    let (a, b) = expect_reused(0, || (half(0), half(batch / 2)));
    a.into_iter()
        .zip(b)
        .map(|(a, b)| {
            // `[1, rows, hidden]` halves, joined along the batch.
            [a, b].concat()
        })
        .collect()
}

#[test]
fn a_recurrent_step_reuses_its_packed_weights_until_they_change() {
    let device = device();
    let mut rng = Rng::new(17);
    let (batch, input, hidden) = (20, 7, 24);
    let rnn = RnnConfig::new(input, hidden).init_kind(CellKind::Lstm, &device);
    let x = rng.tensor::<2>([batch, input], &device);
    let state = RnnState {
        hidden: rng.tensor::<3>([1, batch, hidden], &device),
        cell: Some(rng.tensor::<3>([1, batch, hidden], &device)),
        normalizer: None,
        stabilizer: None,
    };
    let check = |rnn: &AnyRnn, reused: usize| {
        let got = expect_reused(reused, || step(rnn, &x, &state));
        let expected = step_in_halves(rnn, &x, &state);
        for ((what, got), expected) in ["h", "c"].iter().zip(&got).zip(&expected) {
            assert_close(what, got, expected);
        }
    };
    // `W_ih` and `W_hh` packed at the first step, found at the second.
    check(&rnn, 0);
    check(&rnn, 2);
    let rnn = rnn.map(&mut Double);
    check(&rnn, 0);
    check(&rnn, 2);
}

/// Inference over a sequence finds `W_ih` and `W_hh` packed by the call before, and computes
/// what that call did; weights doubled where they are stored are packed again (the outputs
/// change), then found; training keeps nothing.
#[test]
fn inference_over_a_sequence_reuses_its_packed_weights_until_they_change() {
    let mut rng = Rng::new(23);
    let (batch, seq, input, hidden) = (4, 6, 7, 24);
    let rnn = RnnConfig::new(input, hidden).init_kind(CellKind::Lstm, &device());
    let x = rng.tensor::<3>([batch, seq, input], &device());
    let run = |rnn: &AnyRnn, reused: usize| {
        expect_reused(reused, || {
            values(&rnn.forward(x.clone(), None, None).output)
        })
    };
    let first = run(&rnn, 0);
    assert_eq!(run(&rnn, 2), first);
    let rnn = rnn.map(&mut Double);
    let doubled = run(&rnn, 0);
    assert_ne!(doubled, first);
    assert_eq!(run(&rnn, 2), doubled);

    let rnn = RnnConfig::new(input, hidden).init_kind(CellKind::Lstm, &autodiff_device());
    let x = rng.tensor::<3>([batch, seq, input], &autodiff_device());
    for _ in 0..2 {
        expect_reused(0, || rnn.forward(x.clone(), None, None).output);
    }
}

#[test]
fn inference_keeps_a_dense_layers_packed_weights_until_they_change() {
    let device = device();
    let mut rng = Rng::new(5);
    let x = rng.tensor::<2>([20, 30], &device);
    let weight = rng.tensor::<2>([30, 40], &device);
    let check = |weight: &Tensor<2>, reused: usize| {
        let y = expect_reused(reused, || {
            crate::backend::expect_runs("fused dense layer", linear_runs_on_this_thread, 1, || {
                linear(x.clone(), weight.clone(), None)
            })
        });
        let expected = burn::tensor::module::linear(x.clone(), weight.clone(), None);
        assert_close("output", &values(&y), &values(&expected));
    };
    check(&weight, 0);
    check(&weight, 1);
    // Doubled where it is stored, unless the kept copy still holds it.
    let weight = weight.mul_scalar(2.0);
    check(&weight, 0);
    check(&weight, 1);
    // The same storage seen transposed is packed on its own.
    let square = rng.tensor::<2>([30, 30], &device);
    check(&square, 0);
    check(&square.clone().transpose(), 0);
    check(&square, 1);
}

/// Fewer than 16 rows, more than 256 inputs below 128 rows, or training: Burn's `linear`.
#[test]
fn dense_layers_keep_nothing_where_they_do_not_pay_or_train() {
    let mut rng = Rng::new(6);
    for (device, rows, input) in [
        (device(), 15, 30),
        (device(), 64, 300),
        (autodiff_device(), 64, 30),
    ] {
        let x = rng.tensor::<2>([rows, input], &device);
        let weight = rng.tensor::<2>([input, 8], &device);
        for _ in 0..2 {
            expect_reused(0, || {
                crate::backend::expect_runs(
                    "fused dense layer",
                    linear_runs_on_this_thread,
                    0,
                    || linear(x.clone(), weight.clone(), None),
                )
            });
        }
    }
}

/// An sLSTM of several heads makes its dense `W_hh` anew at every call: it is not kept, so
/// calls of such a layer between two of an LSTM's leave the LSTM's packed weights in the
/// cache (kept, each would have taken an entry and the LSTM's would have been evicted); its
/// `W_ih` is kept. With one head `W_hh` is the parameter's own values, kept and found again.
#[test]
fn an_slstm_keeps_only_its_own_weights() {
    let mut rng = Rng::new(29);
    let (batch, seq, input, hidden) = (4, 6, 7, 8);
    let lstm = RnnConfig::new(input, hidden).init_kind(CellKind::Lstm, &device());
    let slstm = |heads| {
        RnnConfig::new(input, hidden)
            .with_num_heads(heads)
            .init_kind(CellKind::Slstm, &device())
    };
    let x = rng.tensor::<3>([batch, seq, input], &device());
    let run = |rnn: &AnyRnn, reused: usize| {
        expect_reused(reused, || rnn.forward(x.clone(), None, None).output)
    };
    let (two_heads, one_head) = (slstm(2), slstm(1));
    run(&lstm, 0);
    run(&two_heads, 0);
    for _ in 0..10 {
        run(&two_heads, 1);
    }
    run(&lstm, 2);
    run(&one_head, 0);
    run(&one_head, 2);
}

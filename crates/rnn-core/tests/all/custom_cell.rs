//! A cell defined outside the crate is a first-class citizen: a peephole LSTM (Gers and
//! Schmidhuber 2000) with its own state type runs through `Recurrent`, `Bidirectional` and
//! stacking, with lengths; with its peepholes at zero it computes exactly what `LstmCell`
//! computes, padded examples give what they give alone, and its gradients match finite
//! differences.

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use rnn_core::{
    Bidirectional, Cell, CellConfig, CellState, FusedWeights, Lengths, LstmCell, MergeMode,
    Recurrent, Rnn, RnnConfig, RnnState,
};
use rstest::rstest;

use crate::backend::{autodiff_device, device};
use crate::util::{Rng, assert_close, values};

const TOL: f32 = 1e-5;

/// A peephole LSTM's state, its own type: `h` and `c`.
#[derive(Debug, Clone)]
struct PeepholeState<const D: usize> {
    h: Tensor<D>,
    c: Tensor<D>,
}

impl<const D: usize> CellState<D> for PeepholeState<D> {
    fn into_parts(self) -> Vec<Tensor<D>> {
        vec![self.h, self.c]
    }

    fn from_parts(parts: Vec<Tensor<D>>) -> Self {
        let [h, c]: [Tensor<D>; 2] = parts.try_into().expect("h and c");
        Self { h, c }
    }
}

/// An LSTM whose input, forget and output gates also read the cell state (`c` for i and f,
/// the new `c'` for o) through per-unit weights:
///
/// ```text
/// i = σ(x W_i + h U_i + p_i ⊙ c + b_i)    f = σ(.. + p_f ⊙ c ..)    g = tanh(..)
/// c' = f ⊙ c + i ⊙ g    o = σ(.. + p_o ⊙ c' ..)    h' = o ⊙ tanh(c')
/// ```
#[derive(Module, Debug)]
struct PeepholeLstmCell {
    weights: FusedWeights,
    /// `[3, hidden]`: `p_i`, `p_f`, `p_o`.
    peepholes: Param<Tensor<2>>,
}

impl Cell for PeepholeLstmCell {
    type State<const D: usize> = PeepholeState<D>;
    const GATES: usize = 4;
    const NAME: &'static str = "peephole LSTM";

    fn from_config(config: &CellConfig, device: &Device) -> Self {
        let bound = 1.0 / (config.hidden_size as f64).sqrt();
        let (input, hidden) = (config.input_size, config.hidden_size);
        Self {
            weights: FusedWeights::init(input, hidden, 4, config.bias, device),
            peepholes: Initializer::Uniform {
                min: -bound,
                max: bound,
            }
            .init([3, hidden], device),
        }
    }

    fn weights(&self) -> &FusedWeights {
        &self.weights
    }

    fn weights_mut(&mut self) -> &mut FusedWeights {
        &mut self.weights
    }

    fn state_sizes(&self) -> Vec<(usize, &'static str)> {
        vec![
            (self.hidden_size(), "hidden"),
            (self.hidden_size(), "hidden"),
        ]
    }

    fn project_input(&self, x: Tensor<2>) -> Tensor<2> {
        let bias_hh = self.weights.bias_hh.as_ref().map(|b| b.val());
        self.weights.project_input(x, bias_hh)
    }

    /// Feature-major: `projected: [4 * hidden, batch]`, `h, c: [hidden, batch]`.
    fn step_projected(&self, projected: Tensor<2>, state: PeepholeState<2>) -> PeepholeState<2> {
        let hidden = self.hidden_size();
        let gates = projected + self.weights.project_hidden(state.h);
        let gate = |k: usize| gates.clone().narrow(0, k * hidden, hidden);
        let peephole = |k: usize| self.peepholes.val().narrow(0, k, 1).transpose();
        let i = sigmoid(gate(0) + peephole(0) * state.c.clone());
        let f = sigmoid(gate(1) + peephole(1) * state.c.clone());
        let c = f * state.c + i * gate(2).tanh();
        let o = sigmoid(gate(3) + peephole(2) * c.clone());
        PeepholeState {
            h: o * c.clone().tanh(),
            c,
        }
    }
}

/// A peephole cell and an `LstmCell` with the same random weights; the peepholes zero.
fn twins(input: usize, hidden: usize, device: &Device) -> (PeepholeLstmCell, LstmCell) {
    let config = CellConfig::new(input, hidden);
    let mut peephole: PeepholeLstmCell = config.init(device);
    peephole.peepholes = Param::from_tensor(Tensor::zeros([3, hidden], device));
    let mut lstm: LstmCell = config.init(device);
    lstm.weights = peephole.weights.clone();
    (peephole, lstm)
}

fn assert_states_equal(name: &str, ours: PeepholeState<2>, lstm: RnnState<2>) {
    assert_close(&format!("{name} h"), &ours.h, &lstm.hidden, TOL);
    assert_close(&format!("{name} c"), &ours.c, &lstm.cell.expect("c"), TOL);
}

#[rstest]
fn with_zero_peepholes_it_is_an_lstm_through_every_composition(
    #[values(false, true)] padded: bool,
) {
    let device = device();
    let (batch, seq, input, hidden) = (3, 5, 4, 6);
    let mut rng = Rng::new(3);
    let x = rng.tensor([batch, seq, input], &device);
    let lengths = padded.then(|| Lengths::new(&[5, 2, 4], seq, &device).unwrap());
    let lengths = lengths.as_ref();

    // One direction, from a given state.
    let (peephole, lstm) = twins(input, hidden, &device);
    let (h0, c0) = (
        rng.tensor([batch, hidden], &device),
        rng.tensor([batch, hidden], &device),
    );
    let ours = Recurrent::new(peephole, false).forward(
        x.clone(),
        Some(PeepholeState {
            h: h0.clone(),
            c: c0.clone(),
        }),
        lengths,
    );
    let theirs =
        Recurrent::new(lstm, false).forward(x.clone(), Some(RnnState::lstm(h0, c0)), lengths);
    assert_close("Recurrent output", &ours.0, &theirs.0, TOL);
    assert_states_equal("Recurrent", ours.1, theirs.1);

    // Both directions.
    let (fwd, lstm_fwd) = twins(input, hidden, &device);
    let (bwd, lstm_bwd) = twins(input, hidden, &device);
    let ours = Bidirectional::new(fwd, bwd, MergeMode::Concat).forward(x.clone(), None, lengths);
    let theirs =
        Bidirectional::new(lstm_fwd, lstm_bwd, MergeMode::Concat).forward(x.clone(), None, lengths);
    assert_close("Bidirectional output", &ours.0, &theirs.0, TOL);
    assert_states_equal("Bidirectional forward", ours.1.0, theirs.1.0);
    assert_states_equal("Bidirectional backward", ours.1.1, theirs.1.1);

    // Stacked and bidirectional, with PyTorch-shaped final states.
    let config = RnnConfig::new(input, hidden)
        .with_num_layers(2)
        .with_bidirectional(true);
    let mut ours: Rnn<PeepholeLstmCell> = config.init(&device);
    let mut theirs: Rnn<LstmCell> = config.init(&device);
    for (p, l) in ours.cells_mut().into_iter().zip(theirs.cells_mut()) {
        p.peepholes = Param::from_tensor(Tensor::zeros([3, hidden], &device));
        l.weights = p.weights.clone();
    }
    let lengths = padded.then_some(&[5, 2, 4][..]);
    let ours = ours.forward(x.clone(), None, lengths);
    let theirs = theirs.forward(x, None, lengths);
    assert_eq!(ours.state.h.dims(), [4, batch, hidden]);
    assert_close("Rnn output", &ours.output, &theirs.output, TOL);
    assert_close("Rnn h_n", &ours.state.h, &theirs.state.hidden, TOL);
    assert_close("Rnn c_n", &ours.state.c, &theirs.state.cell.unwrap(), TOL);
}

#[test]
fn padded_examples_give_what_they_give_alone() {
    let device = device();
    let (seq, input, hidden) = (6, 3, 4);
    let lengths = [6, 3, 1, 5];
    let mut rng = Rng::new(5);
    let x = rng.tensor([lengths.len(), seq, input], &device);
    let cell = |_| CellConfig::new(input, hidden).init::<PeepholeLstmCell>(&device);
    let layer = Bidirectional::new(cell(0), cell(1), MergeMode::Sum);
    let padded = Lengths::new(&lengths, seq, &device).unwrap();
    assert!(padded.is_padded());
    let (out, (fwd, bwd)) = layer.forward(x.clone(), None, Some(&padded));
    for (b, &len) in lengths.iter().enumerate() {
        let alone = x.clone().narrow(0, b, 1).narrow(1, 0, len);
        let (out_alone, (fwd_alone, bwd_alone)) = layer.forward(alone, None, None);
        let row = |t: Tensor<3>| t.narrow(0, b, 1).narrow(1, 0, len);
        assert_close(&format!("output {b}"), &row(out.clone()), &out_alone, TOL);
        for (k, (padded, alone)) in fwd
            .clone()
            .into_parts()
            .into_iter()
            .chain(bwd.clone().into_parts())
            .zip(
                fwd_alone
                    .into_parts()
                    .into_iter()
                    .chain(bwd_alone.into_parts()),
            )
            .enumerate()
        {
            let padded = padded.narrow(0, b, 1);
            assert_close(
                &format!("final state part {k} of {b}"),
                &padded,
                &alone,
                TOL,
            );
        }
        if len < seq {
            let padding = out.clone().narrow(0, b, 1).narrow(1, len, seq - len);
            let zeros = values(&padding).iter().all(|&v| v == 0.0);
            assert!(zeros, "zero past the length");
        }
    }
}

#[test]
fn gradients_match_finite_differences() {
    let (batch, seq, input, hidden) = (2, 4, 3, 3);
    let lengths = [4, 2];
    let mut rng = Rng::new(9);
    let x_data: Vec<f32> = (0..batch * seq * input).map(|_| rng.float()).collect();
    let template: Rnn<PeepholeLstmCell> = RnnConfig::new(input, hidden)
        .with_bidirectional(true)
        .init(&device());
    // The loss of the network whose first cell's peepholes are `peep` over the input `x`.
    let loss = |x: &[f32], peep: &[f32], device: &Device, track: bool| {
        let mut rnn = template.clone().fork(device);
        let x = Tensor::<3>::from_data(TensorData::new(x.to_vec(), [batch, seq, input]), device);
        let x = if track { x.require_grad() } else { x };
        let p = Tensor::<2>::from_data(TensorData::new(peep.to_vec(), [3, hidden]), device);
        let p = Param::from_tensor(p);
        let p_val = p.val();
        rnn.cells_mut()[0].peepholes = p;
        let out = rnn.forward(x.clone(), None, Some(&lengths));
        let weigh = |t: Tensor<3>| {
            let n: usize = t.dims().iter().product();
            let w: Vec<f32> = (0..n).map(|k| ((k * 7 % 11) as f32 - 5.0) / 5.0).collect();
            (t.clone() * Tensor::<3>::from_data(TensorData::new(w, t.dims()), device)).sum()
        };
        let loss = weigh(out.output) + weigh(out.state.h) + weigh(out.state.c);
        (loss, x, p_val)
    };
    let peep: Vec<f32> = (0..3 * hidden).map(|_| rng.float()).collect();
    let (l, x, p) = loss(&x_data, &peep, &autodiff_device(), true);
    let grads = l.backward();
    let analytic = [
        values(&x.grad(&grads).expect("x has a gradient")),
        values(&p.grad(&grads).expect("the peepholes have a gradient")),
    ];
    let plain = device();
    let eps: f32 = 1e-2;
    let mut leaves = [x_data, peep];
    for (li, grad) in analytic.iter().enumerate() {
        for j in 0..grad.len() {
            let original = leaves[li][j];
            let mut at = |v: f32| {
                leaves[li][j] = v;
                let l: f32 = loss(&leaves[0], &leaves[1], &plain, false).0.into_scalar();
                leaves[li][j] = original;
                l
            };
            let numeric: f32 = (at(original + eps) - at(original - eps)) / (2.0 * eps);
            assert!(
                (numeric - grad[j]).abs() <= 2e-3 + 1e-2 * numeric.abs(),
                "leaf {li} entry {j}: autodiff {} vs finite difference {numeric}",
                grad[j]
            );
        }
    }
}

#[test]
fn bad_arguments_to_a_layer_are_errors() {
    let device = device();
    let layer = Recurrent::new(
        CellConfig::new(4, 6).init::<PeepholeLstmCell>(&device),
        false,
    );
    let x = Tensor::<3>::zeros([3, 5, 4], &device);
    let error = |result: Result<_, rnn_core::RnnError>| result.map(|_| ()).unwrap_err().to_string();

    let other_batch = Lengths::new(&[5, 2], 5, &device).unwrap();
    assert_eq!(
        error(layer.try_forward(x.clone(), None, Some(&other_batch))),
        "lengths: expected lengths of 3 sequences of 5 steps (the input's), got lengths of 2 \
         sequences of 5 steps"
    );
    let state = PeepholeState {
        h: Tensor::zeros([3, 6], &device),
        c: Tensor::zeros([3, 5], &device),
    };
    assert_eq!(
        error(layer.try_forward(x.clone(), Some(state), None)),
        "state[1]: expected shape [3, 6] ([batch, hidden]), got [3, 5]"
    );
    assert_eq!(
        error(layer.try_forward(Tensor::zeros([3, 5, 2], &device), None, None)),
        "input: expected feature size 4 (last dimension), got 2"
    );
    let too_long = Lengths::new(&[5, 6], 5, &device).unwrap_err();
    assert_eq!(too_long.argument, "lengths[1]");
}

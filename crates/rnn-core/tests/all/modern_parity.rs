//! Parity of the modern cells with their reference packages: outputs, final states and the
//! gradients of a scalar loss with respect to the input, the initial state and every weight,
//! from fixtures that `tests/fixtures/modern.py` made with `mingru-pytorch` and `xlstm`
//! (`tests/fixtures/MODERN.md` gives the equations and layouts).

use burn::module::Param;
use burn::tensor::activation::log_sigmoid;
use burn::tensor::{Gradients, Tensor};
use rnn_core::cell::{MinCell, MinGates, MlstmMemory, mlstm_chunkwise};
use rnn_core::{
    Cell, CellConfig, CellState, ForgetGate, MinGruCell, MinLstmCell, MlstmCell, Recurrent,
    SlstmCell,
};
use rstest::rstest;
use serde_json::Value;

use crate::backend::autodiff_device;
use crate::util::{fixture, tensor, values};

const TOL: f32 = 1e-5;

/// A cell the fixtures describe: how to build it from a case and where its parameters are.
trait FixtureCell: Cell {
    /// The names of the state's parts in the fixtures, in the state's order.
    const PARTS: &'static [&'static str];

    /// The cell's configuration in `case`.
    fn config(case: &Value) -> CellConfig {
        let size = |k: &str| case[k].as_u64().expect(k) as usize;
        CellConfig::new(size("input_size"), size("hidden_size"))
            .with_bias(case["bias"].as_bool().expect("bias"))
    }

    /// The parameters, by their names in the fixtures (`params.<name>`).
    fn params(&mut self) -> Vec<(&'static str, ParamMut<'_>)>;
}

/// A parameter of rank 1 or 2, to load and to read the gradient of; or an sLSTM's recurrent
/// weights `[heads, 4 * dh, dh]`, which the fixtures hold as `[4 * H, dh]` (gate-major rows,
/// `MODERN.md`).
enum ParamMut<'a> {
    Matrix(&'a mut Param<Tensor<2>>),
    Vector(&'a mut Param<Tensor<1>>),
    HeadBlocks(&'a mut Param<Tensor<3>>),
}

impl ParamMut<'_> {
    fn load(&mut self, value: &Value) {
        let device = autodiff_device();
        match self {
            ParamMut::Matrix(p) => **p = Param::from_tensor(tensor(value, &device)),
            ParamMut::Vector(p) => **p = Param::from_tensor(tensor(value, &device)),
            ParamMut::HeadBlocks(p) => {
                let [heads, rows, dh] = p.dims();
                let gate_major: Tensor<2> = tensor(value, &device);
                let blocks = gate_major
                    .reshape([rows / dh, heads, dh, dh])
                    .swap_dims(0, 1)
                    .reshape([heads, rows, dh]);
                **p = Param::from_tensor(blocks);
            }
        }
    }

    fn grad(&self, grads: &Gradients) -> Vec<f32> {
        match self {
            ParamMut::Matrix(p) => values(&p.grad(grads).expect("a gradient")),
            ParamMut::Vector(p) => values(&p.grad(grads).expect("a gradient")),
            ParamMut::HeadBlocks(p) => {
                let [heads, rows, dh] = p.dims();
                let grad = p.grad(grads).expect("a gradient");
                values(
                    &grad
                        .reshape([heads, rows / dh, dh, dh])
                        .swap_dims(0, 1)
                        .reshape([heads * rows, dh]),
                )
            }
        }
    }
}

/// Asserts `actual` is `expected` (a fixture tensor's data) within `TOL`, relative to values
/// above 1.
fn assert_matches(what: &str, actual: &[f32], expected: &Value) {
    let expected: Vec<f32> = values(&tensor::<1>(
        &serde_json::json!({
            "shape": [actual.len()],
            "data": expected["data"],
        }),
        &burn::tensor::Device::default(),
    ));
    assert_eq!(actual.len(), expected.len(), "{what}: sizes differ");
    for (k, (a, e)) in actual.iter().zip(&expected).enumerate() {
        assert!(
            (a - e).abs() <= TOL * e.abs().max(1.0),
            "{what}[{k}]: got {a}, expected {e}\nactual:   {actual:?}\nexpected: {expected:?}"
        );
    }
}

fn parity<C: FixtureCell>(case_name: &str) {
    parity_of::<C>(case_name, |config| config, &[]);
}

/// [`parity`], with the final state parts in `skip` not compared, nor any gradient (which
/// flow through them).
fn parity_except<C: FixtureCell>(case_name: &str, skip: &[&str]) {
    parity_of::<C>(case_name, |config| config, skip);
}

/// [`parity_except`] with the fixture's configuration changed by `configure` (settings that
/// must not change the values, e.g. the mLSTM's chunk size).
fn parity_of<C: FixtureCell>(
    case_name: &str,
    configure: impl FnOnce(CellConfig) -> CellConfig,
    skip: &[&str],
) {
    let case = fixture(&format!("modern/{case_name}.json"));
    let device = autodiff_device();
    let mut cell: C = configure(C::config(&case)).init(&device);
    for (name, mut param) in cell.params() {
        param.load(&case["params"][name]);
    }
    let x: Tensor<3> = tensor::<3>(&case["input"], &device).require_grad();
    let batch = x.dims()[0];
    let initial: Vec<Tensor<2>> = C::PARTS
        .iter()
        .zip(cell.state_sizes())
        .map(|(part, (size, _))| {
            match case.get("initial_state").and_then(|s| s.get(part)) {
                Some(value) => tensor::<2>(value, &device),
                None => Tensor::zeros([batch, size], &device),
            }
            .require_grad()
        })
        .collect();
    let layer = Recurrent::new(cell, false);
    let (output, state) =
        layer.forward(x.clone(), Some(C::State::from_parts(initial.clone())), None);
    assert_matches(
        &format!("{case_name}: output"),
        &values(&output),
        &case["output"],
    );
    let mut loss = (output * tensor::<3>(&case["w_out"], &device)).sum();
    for (part, t) in C::PARTS.iter().zip(state.into_parts()) {
        if skip.contains(part) {
            continue;
        }
        let what = format!("{case_name}: final state {part}");
        assert_matches(&what, &values(&t), &case["final_state"][part]);
        loss = loss + (t * tensor::<2>(&case["w_state"][part], &device)).sum();
    }
    if !skip.is_empty() {
        return;
    }
    let grads = loss.backward();
    let expected = &case["grads"];
    let d_input = values(&x.grad(&grads).expect("the input has a gradient"));
    assert_matches(
        &format!("{case_name}: d input"),
        &d_input,
        &expected["input"],
    );
    for (part, h) in C::PARTS.iter().zip(&initial) {
        if let Some(grad) = expected.get(format!("initial_state.{part}")) {
            // No gradient is a gradient of zero (a part the cell never reads: the mLSTM's
            // `h`); the fixture says which.
            let actual = h
                .grad(&grads)
                .map(|g| values(&g))
                .unwrap_or_else(|| vec![0.0; h.shape().num_elements()]);
            assert_matches(&format!("{case_name}: d initial {part}"), &actual, grad);
        }
    }
    let mut cell = layer.cell;
    for (name, param) in cell.params() {
        let what = format!("{case_name}: d {name}");
        assert_matches(
            &what,
            &param.grad(&grads),
            &expected[format!("params.{name}")],
        );
    }
}

impl<K: MinGates> FixtureCell for MinCell<K> {
    const PARTS: &'static [&'static str] = &["hidden"];

    fn params(&mut self) -> Vec<(&'static str, ParamMut<'_>)> {
        let w = &mut self.weights;
        let mut params = vec![("weight", ParamMut::Matrix(&mut w.weight))];
        params.extend(w.bias.as_mut().map(|b| ("bias", ParamMut::Vector(b))));
        params
    }
}

/// `mingru-pytorch` 0.2.1 (its parallel path from zero or a positive state, its sequential
/// step from a state with negative values, where its log-space path gives NaN).
#[rstest]
fn mingru_matches_mingru_pytorch(
    #[values("nobias", "bias")] bias: &str,
    #[values("zero", "positive", "negative")] state: &str,
) {
    parity::<MinGruCell>(&format!("mingru_{bias}_{state}"));
}

/// `mingru-pytorch` 0.2.1's minLSTM (from a given state as its step computes: the state as
/// it is, where its parallel path would start from `g(h0)`).
#[rstest]
fn minlstm_matches_mingru_pytorch(
    #[values("nobias", "bias")] bias: &str,
    #[values("zero", "positive", "negative")] state: &str,
) {
    parity::<MinLstmCell>(&format!("minlstm_{bias}_{state}"));
}

impl FixtureCell for SlstmCell {
    const PARTS: &'static [&'static str] = &["hidden", "cell", "normalizer", "stabilizer"];

    fn config(case: &Value) -> CellConfig {
        let size = |k: &str| case[k].as_u64().expect(k) as usize;
        let forget_gate = match case["forget_gate"].as_str().expect("forget_gate") {
            "sigmoid" => ForgetGate::Sigmoid,
            "exp" => ForgetGate::Exponential,
            other => panic!("forget_gate {other}"),
        };
        CellConfig::new(size("input_size"), size("hidden_size"))
            .with_bias(case["bias"].as_bool().expect("bias"))
            .with_num_heads(size("num_heads"))
            .with_forget_gate(forget_gate)
    }

    fn params(&mut self) -> Vec<(&'static str, ParamMut<'_>)> {
        let w = &mut self.weights;
        let mut params = vec![
            ("weight_ih", ParamMut::Matrix(&mut w.weight_ih)),
            ("weight_hh", ParamMut::HeadBlocks(&mut w.weight_hh)),
        ];
        params.extend(w.bias.as_mut().map(|b| ("bias", ParamMut::Vector(b))));
        params
    }
}

/// xlstm 2.0.6's vanilla `sLSTMCell` (one and two heads, from a zero and a given state), and
/// the exponential forget gate by the paper's equations (the package has none); a batch part
/// of which starts from `n = 0` by the per-element first-step rule (`MODERN.md`).
#[rstest]
fn slstm_matches_xlstm(
    #[values(
        "slstm_h1_zero",
        "slstm_h1_state",
        "slstm_h2_zero",
        "slstm_h2_state",
        "slstm_expf_h2_zero",
        "slstm_expf_h2_state",
        "slstm_h2_mixed_elementwise",
        "slstm_h2_mixed_elementwise_seq1"
    )]
    case: &str,
) {
    parity::<SlstmCell>(case);
}

impl FixtureCell for MlstmCell {
    const PARTS: &'static [&'static str] = &["hidden", "memory", "normalizer", "stabilizer"];

    fn config(case: &Value) -> CellConfig {
        SlstmCell::config(case)
    }

    fn params(&mut self) -> Vec<(&'static str, ParamMut<'_>)> {
        let w = &mut self.weights;
        let mut params = vec![
            ("weight", ParamMut::Matrix(&mut w.weight)),
            ("gate_weight", ParamMut::Matrix(&mut w.gate_weight)),
            ("gate_bias", ParamMut::Vector(&mut w.gate_bias)),
        ];
        params.extend(w.bias.as_mut().map(|b| ("bias", ParamMut::Vector(b))));
        params
    }
}

/// The whole mLSTM cell (its projections, gates per head, memory and output gate) against the
/// paper's equations around xlstm 2.0.6's `recurrent_step_stabilized_simple` (`MODERN.md`):
/// from a zero and a given state, one and two heads, without bias, and the exponential forget
/// gate; step by step (chunks of 1), in chunks of 2 and in one chunk (the parallel form).
#[rstest]
fn mlstm_cell_matches_the_equations_around_xlstm(
    #[values(
        "mlstm_cell_h2_zero",
        "mlstm_cell_h2_state",
        "mlstm_cell_h1_state_nobias",
        "mlstm_cell_expf_h2_state"
    )]
    case: &str,
    #[values(1, 2, 5)] chunk_size: usize,
) {
    parity_of::<MlstmCell>(case, |config| config.with_chunk_size(chunk_size), &[]);
}

/// Where part of a batch starts from `n = 0`, the package's vanilla code picks the first-step
/// rule for the whole batch, we per element: the outputs and `h` agree all the same; `m`
/// differs, and `c` and `n` with it, by the same factor `exp(Δm)` (the log scale they share).
#[rstest]
fn slstm_outputs_match_xlstm_whatever_the_first_step_rule(
    #[values("slstm_h2_mixed", "slstm_h2_mixed_seq1")] case: &str,
) {
    parity_except::<SlstmCell>(case, &["cell", "normalizer", "stabilizer"]);
}

/// The mLSTM's memory function against the `xlstm` package's mLSTM backends on the same
/// `q, k, v` and gate pre-activations: `recurrent_step_stabilized_simple` (chunks of one step;
/// from zero and from a given state), `parallel_stabilized_simple` (one chunk) and
/// `chunkwise_simple` (its chunks). The package's chunkwise form scales the queries by
/// `1/√dh` where the others scale the keys, so its `C` and `n` are `√dh` times ours: the test
/// converts them. The parallel form's stabiliser omits the zero state's `m = 0`, which moves
/// its `ε` by a factor `e^m`: equal within the tolerance.
#[rstest]
fn mlstm_memory_matches_xlstm_backends(
    #[values(
        "mlstm_recurrent_nh1",
        "mlstm_recurrent_nh2",
        "mlstm_recurrent_nh2_state",
        "mlstm_parallel_nh1",
        "mlstm_parallel_nh2",
        "mlstm_chunkwise_nh2_cs2",
        "mlstm_chunkwise_nh2_cs3_state"
    )]
    case_name: &str,
) {
    let case = fixture(&format!("modern/{case_name}.json"));
    let device = autodiff_device();
    let input = |name: &str| tensor::<4>(&case["inputs"][name], &device).require_grad();
    let [q, k, v, i, f] = ["q", "k", "v", "igate_preact", "fgate_preact"].map(input);
    let [batch, heads, seq, dh] = q.dims();
    let mode = case["mode"].as_str().expect("mode");
    let chunk_size = match mode {
        "recurrent" => 1,
        "parallel" => seq,
        _ => case["chunk_size"].as_u64().expect("chunk_size") as usize,
    };
    // The package's chunkwise states are `√dh` times ours.
    let scale = if mode == "chunkwise" {
        (dh as f64).sqrt()
    } else {
        1.0
    };
    let initial = case.get("initial_state").map(|s| {
        let part = |name: &str| tensor::<4>(&s[name], &device).require_grad();
        (part("C"), part("n"), part("m"))
    });
    let state = match &initial {
        Some((c, n, m)) => MlstmMemory {
            memory: c.clone() / scale,
            normalizer: n.clone() / scale,
            stabilizer: m.clone(),
        },
        None => MlstmMemory::zeros(batch, heads, dh, &device),
    };
    let log_f = log_sigmoid(f.clone());
    let (h, state) = mlstm_chunkwise(
        q.clone(),
        k.clone(),
        v.clone(),
        i.clone(),
        log_f,
        state,
        chunk_size,
    );
    assert_matches(
        &format!("{case_name}: output"),
        &values(&h),
        &case["output"],
    );
    let mut loss = (h * tensor::<4>(&case["w_out"], &device)).sum();
    let finals = [
        ("C", state.memory * scale),
        ("n", state.normalizer * scale),
        ("m", state.stabilizer),
    ];
    for (name, t) in finals {
        if let Some(expected) = case["final_state"].get(name) {
            assert_matches(&format!("{case_name}: final {name}"), &values(&t), expected);
            loss = loss + (t * tensor::<4>(&case["w_state"][name], &device)).sum();
        }
    }
    let grads = loss.backward();
    let expected = &case["grads"];
    for (name, t) in [
        ("q", &q),
        ("k", &k),
        ("v", &v),
        ("igate_preact", &i),
        ("fgate_preact", &f),
    ] {
        let actual = values(&t.grad(&grads).expect("a gradient"));
        assert_matches(&format!("{case_name}: d {name}"), &actual, &expected[name]);
    }
    if let Some((c, n, m)) = &initial {
        for (name, t) in [("C", c), ("n", n), ("m", m)] {
            let actual = values(&t.grad(&grads).expect("a gradient"));
            let what = format!("{case_name}: d initial {name}");
            assert_matches(&what, &actual, &expected[format!("initial_state.{name}")]);
        }
    }
}

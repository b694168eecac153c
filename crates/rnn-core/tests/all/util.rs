//! Test helpers: fixtures, tensor comparison, a tiny seeded RNG.

use burn::tensor::{DType, Device, Tensor, TensorData};
use rnn_core::pytorch::PytorchCell;
use rnn_core::{Cell, CellConfig, RnnState};
use serde_json::Value;

/// A float tensor stored in a fixture as `{"shape": [...], "data": [...]}`; non-finite values
/// are the strings `"nan"`, `"inf"` and `"-inf"`.
pub fn tensor<const D: usize>(value: &Value, device: &Device) -> Tensor<D> {
    let shape: Vec<usize> = value["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|v| v.as_u64().expect("dim") as usize)
        .collect();
    let data: Vec<f32> = value["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|v| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .expect("a number, nan, inf or -inf") as f32
        })
        .collect();
    Tensor::from_data(TensorData::new(data, shape), device)
}

/// The path of `tests/fixtures/<path>`: under the crate directory that `CARGO_MANIFEST_DIR`
/// names when the test runs (cargo and `cargo xtask test` set it) if the file is there, else
/// where the binary was built (a binary carried to another machine finds its fixtures in that
/// machine's copy; one started with another crate's directory, in its own).
pub fn fixture_path(path: &str) -> String {
    let under = |dir: &str| format!("{dir}/tests/fixtures/{path}");
    std::env::var("CARGO_MANIFEST_DIR")
        .ok()
        .map(|dir| under(&dir))
        .filter(|file| std::path::Path::new(file).exists())
        .unwrap_or_else(|| under(env!("CARGO_MANIFEST_DIR")))
}

/// Reads `tests/fixtures/<path>` as JSON.
pub fn fixture(path: &str) -> Value {
    let full = fixture_path(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// The values of a tensor, as f32.
pub fn values<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    t.to_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 data")
}

/// The output of `f(x)` and the gradient of `x` under the upstream gradient `upstream`, as
/// values: for comparing an operation with Burn's.
pub fn output_and_gradient<const D: usize>(
    x: &Tensor<D>,
    upstream: &Tensor<D>,
    f: impl FnOnce(Tensor<D>) -> Tensor<D>,
) -> [Vec<f32>; 2] {
    let x = x.clone().require_grad();
    let y = f(x.clone());
    let grads = (y.clone() * upstream.clone()).sum().backward();
    [values(&y), values(&x.grad(&grads).expect("a gradient"))]
}

/// Largest absolute difference, after checking the shapes agree.
pub fn max_abs_diff<const D: usize>(actual: &Tensor<D>, expected: &Tensor<D>) -> f32 {
    assert_eq!(actual.dims(), expected.dims(), "shapes differ");
    values(actual)
        .iter()
        .zip(values(expected))
        .map(|(a, e)| (a - e).abs())
        .fold(0.0, f32::max)
}

/// Asserts `actual` and `expected` agree within `tol` (max abs error).
pub fn assert_close<const D: usize>(
    what: &str,
    actual: &Tensor<D>,
    expected: &Tensor<D>,
    tol: f32,
) {
    let err = max_abs_diff(actual, expected);
    assert!(
        err <= tol,
        "{what}: max abs error {err:e} > {tol:e}\nactual:   {:?}\nexpected: {:?}",
        values(actual),
        values(expected)
    );
}

/// `Σ w_k t_k` with fixed weights `w` in `[-1, 1]`: a loss that reaches every value of `t`.
pub fn weigh<const D: usize>(t: Tensor<D>) -> Tensor<1> {
    let n: usize = t.dims().iter().product();
    let w: Vec<f32> = (0..n).map(|k| ((k * 7 % 11) as f32 - 5.0) / 5.0).collect();
    let device = t.device();
    (t.clone() * Tensor::<D>::from_data(TensorData::new(w, t.dims()), &device)).sum()
}

/// A small deterministic RNG (SplitMix64) for property tests.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    /// Uniform in `[-1, 1)`.
    pub fn float(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    /// A tensor of uniform values in `[-1, 1)`.
    pub fn tensor<const D: usize>(&mut self, shape: [usize; D], device: &Device) -> Tensor<D> {
        let n = shape.iter().product();
        let data: Vec<f32> = (0..n).map(|_| self.float()).collect();
        Tensor::from_data(TensorData::new(data, shape), device)
    }
}

/// A cell whose state is [`RnnState`] (`h`, and an LSTM's `c`): every built-in cell.
pub trait RnnStateCell: Cell<State<2> = RnnState<2>, State<3> = RnnState<3>> {}

impl<C: Cell<State<2> = RnnState<2>, State<3> = RnnState<3>>> RnnStateCell for C {}

/// A classic cell (Elman, LSTM, GRU): an [`RnnStateCell`] with a PyTorch counterpart.
pub trait Builtin: PytorchCell + RnnStateCell {}

impl<C: PytorchCell + RnnStateCell> Builtin for C {}

/// Whether `C`'s state has a cell part `c` (an LSTM's).
pub fn has_cell_state<C: RnnStateCell>() -> bool {
    let cell: C = CellConfig::new(1, 1).init(&Device::default());
    cell.state_sizes().len() == 2
}

/// Asserts the gradients of `weigh(outputs) + weigh(h_n)` of `network` over the padded batch
/// `x: [batch, seq, input]` (`shape`, values `x`) with `lengths`, with respect to the input and
/// to the parameter of its first cell that `param` reaches, match central finite differences.
pub fn assert_network_gradients<C: rnn_core::Cell, const D: usize>(
    network: &rnn_core::Rnn<C>,
    shape: [usize; 3],
    x: Vec<f32>,
    lengths: &[usize],
    param: fn(&mut C) -> &mut burn::module::Param<burn::tensor::Tensor<D>>,
) {
    use burn::module::{Module, Param};
    use burn::tensor::{Device, Tensor, TensorData};
    use rnn_core::CellState;

    use crate::backend::{autodiff_device, device};
    use crate::finite_differences::assert_gradients_match;

    let mut first = network.cells()[0].clone();
    let (dims, p_data) = {
        let p = param(&mut first);
        (p.dims(), values(&p.val()))
    };
    // The loss of the network whose first cell's parameter holds `p`, over the input `x`.
    let loss = |x: &[f32], p: &[f32], device: &Device, track: bool| {
        let mut rnn = network.clone().fork(device);
        let x = Tensor::<3>::from_data(TensorData::new(x.to_vec(), shape), device);
        let x = if track { x.require_grad() } else { x };
        let p = Param::from_tensor(Tensor::<D>::from_data(
            TensorData::new(p.to_vec(), dims),
            device,
        ));
        let p_val = p.val();
        *param(rnn.cells_mut()[0]) = p;
        let out = rnn.forward(x.clone(), None, Some(lengths));
        (weigh(out.output) + weigh(out.state.output()), x, p_val)
    };
    let (l, x_tracked, p) = loss(&x, &p_data, &autodiff_device(), true);
    let grads = l.backward();
    let analytic = [
        values(&x_tracked.grad(&grads).expect("x has a gradient")),
        values(&p.grad(&grads).expect("the parameter has a gradient")),
    ];
    let plain = device();
    assert_gradients_match(vec![x, p_data], &analytic, |leaves| {
        loss(&leaves[0], &leaves[1], &plain, false).0.into_scalar()
    });
}

/// The message `f` panicked with.
pub fn panic_message(f: impl FnOnce()) -> String {
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .expect_err("a panic, not a result");
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload.downcast_ref::<&str>().unwrap().to_string(),
    }
}

/// A device of another backend than the one under test.
pub fn other_device() -> Device {
    #[allow(deprecated)] // burn-ndarray is deprecated in favour of flex, and still supported
    match crate::backend::name().as_str() {
        "ndarray" => Device::flex(),
        _ => Device::ndarray(),
    }
}

/// `tensor` cast to each dtype other than f32 that the backend holds (ndarray has no f16,
/// lavapipe no 16-bit floats).
pub fn other_dtypes<const D: usize>(tensor: &Tensor<D>) -> Vec<(DType, Tensor<D>)> {
    let casts: Vec<_> = [DType::F16, DType::BF16, DType::F64]
        .into_iter()
        .filter_map(|dtype| {
            let tensor = tensor.clone();
            let cast =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tensor.cast(dtype)));
            cast.ok().map(|cast| (dtype, cast))
        })
        .collect();
    assert!(!casts.is_empty(), "the backend holds none of the dtypes");
    casts
}

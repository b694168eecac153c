//! Cell parameters as the drivers see them ([`CellWeights`]), and the fused gate parameters of
//! the classic cells ([`FusedWeights`]: one weight per input side for all gates).

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::{DType, Device, Tensor};

use crate::validate::check_tensor;
use crate::{CellConfig, RnnError};

/// The parameters of a [`Cell`](crate::Cell) as the drivers see them: the sizes they give,
/// and a check that they fit together (before any kernel or matmul reads them).
///
/// [`FusedWeights`] (Elman, LSTM, GRU) is one; a cell with other parameters (no recurrent
/// weights, block-diagonal ones, ...) has its own.
pub trait CellWeights {
    /// Size of the input features.
    fn input_size(&self) -> usize;

    /// `G * H`: the rows of the projected input of one step, all gates together.
    fn gates_width(&self) -> usize;

    /// The size of the hidden state `h` of a cell of `gates` gates.
    fn state_size(&self, gates: usize) -> usize;

    /// The units `H` the parameters give to a cell of `gates` gates; `name` names the cell
    /// (`cells[1]`) and `cell` its kind (`"LSTM"`) in the error when they give none.
    fn units(&self, gates: usize, name: &str, cell: &str) -> Result<usize, RnnError>;

    /// Checks the parameters are those of a cell of `gates` gates of `hidden` units that reads
    /// `input` features and a hidden state of `state` values (`sizes`: `[gates, input,
    /// hidden, state]`), stored as `dtype` on `device` (a parameter replaced through
    /// [`Cell::weights_mut`](crate::Cell::weights_mut) may not be). `name` names the cell in
    /// the error (`cells[1]`).
    fn check(
        &self,
        name: &str,
        sizes: [usize; 4],
        dtype: DType,
        device: &Device,
    ) -> Result<(), RnnError>;
}

/// The parameters of a recurrent cell, all gates fused, in PyTorch's layout.
///
/// With `G` gates (Elman 1, GRU 3, LSTM 4) and hidden size `H`, every gate-dependent
/// dimension is `G * H`, gates in PyTorch's order (LSTM `i, f, g, o`; GRU `r, z, n`), so
/// PyTorch's `weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}` and `bias_hh_l{k}` are these
/// tensors as they are. `weight_hh` reads the hidden state `h` of `R` values: `R = H`, except
/// for an LSTM with a projection (PyTorch's `proj_size`), where `R` is the projection size.
///
/// The recurrence runs feature-major (`[features, batch]`): a step is `weight_hh @ hᵀ`, the
/// large matrix on the left, which CPU matmuls run 25–35% faster than `h @ weight_hhᵀ`, and
/// every gate is then a contiguous block of rows (see BENCHMARKS.md).
#[derive(Module, Debug)]
pub struct FusedWeights {
    /// Input-to-hidden weights `[G * H, input]`.
    pub weight_ih: Param<Tensor<2>>,
    /// Hidden-to-hidden weights `[G * H, R]` (`R = H` unless an LSTM projects its state).
    pub weight_hh: Param<Tensor<2>>,
    /// Input-side bias `[G * H]`, absent when the cell has no bias.
    pub bias_ih: Option<Param<Tensor<1>>>,
    /// Hidden-side bias `[G * H]`, absent when the cell has no bias.
    pub bias_hh: Option<Param<Tensor<1>>>,
}

impl FusedWeights {
    /// PyTorch's default initialisation: every parameter uniform in `±1/sqrt(hidden_size)`.
    pub fn init(
        input_size: usize,
        hidden_size: usize,
        gates: usize,
        bias: bool,
        device: &Device,
    ) -> Self {
        Self::init_reading(input_size, hidden_size, hidden_size, gates, bias, device)
    }

    /// [`init`](Self::init) with `weight_hh` reading a hidden state of `state_size` values
    /// (`[G * H, state_size]`): an LSTM with a projection.
    pub fn init_reading(
        input_size: usize,
        hidden_size: usize,
        state_size: usize,
        gates: usize,
        bias: bool,
        device: &Device,
    ) -> Self {
        let init = pytorch_initializer(hidden_size);
        let width = gates * hidden_size;
        Self {
            weight_ih: init.init([width, input_size], device),
            weight_hh: init.init([width, state_size], device),
            bias_ih: bias.then(|| init.init([width], device)),
            bias_hh: bias.then(|| init.init([width], device)),
        }
    }

    /// The fused weights of a cell of `gates` gates as `config` describes it, with PyTorch's
    /// initialisation: `weight_hh` reads a hidden state of `proj_size` values when the config
    /// projects it, else of `hidden_size`.
    pub fn for_config(config: &CellConfig, gates: usize, device: &Device) -> Self {
        let state = match config.proj_size {
            0 => config.hidden_size,
            proj => proj,
        };
        let (input, hidden) = (config.input_size, config.hidden_size);
        Self::init_reading(input, hidden, state, gates, config.bias, device)
    }

    /// `weight_ih @ xᵀ + bias_ih (+ extra_bias)`, feature-major: `x: [n, input]` →
    /// `[G * H, n]`. Cells pass as `extra_bias` the parts of `bias_hh` that are purely
    /// additive, so they are added once per sequence instead of once per step.
    pub fn project_input(&self, x: Tensor<2>, extra_bias: Option<Tensor<1>>) -> Tensor<2> {
        let bias = match (self.bias_ih.as_ref().map(Param::val), extra_bias) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        project(self.weight_ih.val(), bias, x)
    }

    /// `weight_hh @ h` without bias, feature-major: `h: [R, batch]` → `[G * H, batch]`.
    pub fn project_hidden(&self, h: Tensor<2>) -> Tensor<2> {
        self.weight_hh.val().matmul(h)
    }
}

impl CellWeights for FusedWeights {
    fn input_size(&self) -> usize {
        self.weight_ih.dims()[1]
    }

    fn gates_width(&self) -> usize {
        self.weight_ih.dims()[0]
    }

    /// `R`: the size of the hidden state `h` that `weight_hh` reads (`H`, or an LSTM's
    /// projection size).
    fn state_size(&self, _gates: usize) -> usize {
        self.weight_hh.dims()[1]
    }

    /// From `weight_hh`'s `G * H` rows.
    fn units(&self, gates: usize, name: &str, cell: &str) -> Result<usize, RnnError> {
        units_from_rows(
            &self.weight_hh,
            gates,
            &format!("{name}.weights.weight_hh"),
            cell,
        )
    }

    fn check(
        &self,
        cell: &str,
        [gates, input, hidden, state]: [usize; 4],
        dtype: DType,
        device: &Device,
    ) -> Result<(), RnnError> {
        let width = gates * hidden;
        let sizes = format!("{gates} gates × hidden_size {hidden}");
        let check = |name: &str, param: &Param<Tensor<2>>, cols: usize, what: &str| {
            let what = format!("{sizes}, {what}");
            check_parameter(
                &format!("{cell}.weights.{name}"),
                param,
                [width, cols],
                &what,
                dtype,
                device,
            )
        };
        check(
            "weight_ih",
            &self.weight_ih,
            input,
            &format!("input_size {input}"),
        )?;
        check(
            "weight_hh",
            &self.weight_hh,
            state,
            &format!("hidden state size {state}"),
        )?;
        for (name, bias) in [("bias_ih", &self.bias_ih), ("bias_hh", &self.bias_hh)] {
            if let Some(bias) = bias {
                let name = format!("{cell}.weights.{name}");
                check_parameter(&name, bias, [width], &sizes, dtype, device)?;
            }
        }
        Ok(())
    }
}

/// The units `rows / gates` of a gate-major `weight` (called `name` in the error, which says
/// so when its rows are not a whole number of `gates`; `cell` names the cell kind).
pub(crate) fn units_from_rows(
    weight: &Param<Tensor<2>>,
    gates: usize,
    name: &str,
    cell: &str,
) -> Result<usize, RnnError> {
    let [rows, cols] = weight.dims();
    if rows == 0 || !rows.is_multiple_of(gates) {
        return Err(RnnError::new(
            name,
            format!("{gates} gates × hidden_size rows ({cell})"),
            format!("shape {:?}", [rows, cols]),
        ));
    }
    Ok(rows / gates)
}

/// Checks a gate-major input projection of a cell (`cell`: `cells[1]`) of `gates` gates of
/// `hidden` units reading `input` features: `weights.<weight.0>: [gates * hidden, input]` and,
/// when given, `weights.<bias.0>: [gates * hidden]`, of `dtype` on `device`.
pub(crate) fn check_projection(
    cell: &str,
    weight: (&str, &Param<Tensor<2>>),
    bias: Option<(&str, &Param<Tensor<1>>)>,
    [gates, input, hidden]: [usize; 3],
    dtype: DType,
    device: &Device,
) -> Result<(), RnnError> {
    let width = gates * hidden;
    let sizes = format!("{gates} gates × hidden_size {hidden}");
    let what = format!("{sizes}, input_size {input}");
    let name = format!("{cell}.weights.{}", weight.0);
    check_parameter(&name, weight.1, [width, input], &what, dtype, device)?;
    if let Some((bias_name, bias)) = bias {
        let name = format!("{cell}.weights.{bias_name}");
        check_parameter(&name, bias, [width], &sizes, dtype, device)?;
    }
    Ok(())
}

/// `weight @ xᵀ + bias`, feature-major: `x: [n, input]` → `[rows, n]`.
pub(crate) fn project(weight: Tensor<2>, bias: Option<Tensor<1>>, x: Tensor<2>) -> Tensor<2> {
    let [n, input] = x.dims();
    match bias {
        // `[weight, bias] @ [x, 1]ᵀ`: the matmul adds the bias. On ndarray a broadcast
        // add over the whole `[rows, n]` projection costs more than the matmul itself,
        // but the concatenation copies the weights: worth it only when `n` (all steps of a
        // sequence) exceeds their width, not for a decoder's single step.
        Some(bias) if n > input => {
            let ones = Tensor::ones([n, 1], (&x.device(), x.dtype()));
            let weight = Tensor::cat(vec![weight, bias.unsqueeze_dim(1)], 1);
            weight.matmul(Tensor::cat(vec![x, ones], 1).transpose())
        }
        Some(bias) => weight.matmul(x.transpose()) + bias.unsqueeze_dim(1),
        None => weight.matmul(x.transpose()),
    }
}

/// Checks `param` (called `name` in the error) has shape `shape` (described by `what`), dtype
/// `dtype` and lives on `device` (autodiff or not).
pub(crate) fn check_parameter<const D: usize>(
    name: &str,
    param: &Param<Tensor<D>>,
    shape: [usize; D],
    what: &str,
    dtype: DType,
    device: &Device,
) -> Result<(), RnnError> {
    check_tensor(name, &param.val(), &shape, what, dtype, device)
}

/// PyTorch's initialisation of every parameter of a recurrent layer: uniform in
/// `±1/sqrt(hidden_size)`.
pub(crate) fn pytorch_initializer(hidden_size: usize) -> Initializer {
    let bound = 1.0 / (hidden_size as f64).sqrt();
    Initializer::Uniform {
        min: -bound,
        max: bound,
    }
}

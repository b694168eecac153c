//! PyTorch weights: load `torch.nn.RNN`/`LSTM`/`GRU` state dicts (safetensors or `.pt`) into an
//! [`Rnn`] and save an [`Rnn`] back in PyTorch's names and layout.
//!
//! Mapping, for cell `k` of [`Rnn::cells`] (layer `l = k / D`, `_reverse` for the backward
//! direction of a bidirectional layer), with `G` gates in PyTorch's order (LSTM `i, f, g, o`,
//! GRU `r, z, n`, Elman 1), hidden size `H` and hidden state size `R` (`H`, or an LSTM's
//! `proj_size`):
//!
//! | PyTorch key | PyTorch shape | ours |
//! |---|---|---|
//! | `weight_ih_l{l}[_reverse]` | `[G * H, input]` | `weights.weight_ih` |
//! | `weight_hh_l{l}[_reverse]` | `[G * H, R]` | `weights.weight_hh` |
//! | `bias_ih_l{l}[_reverse]` | `[G * H]` | `weights.bias_ih` |
//! | `bias_hh_l{l}[_reverse]` | `[G * H]` | `weights.bias_hh` |
//! | `weight_hr_l{l}[_reverse]` (LSTM with `proj_size`) | `[R, H]` | `LstmCell::weight_hr` |
//!
//! Tensors are copied as they are: both sides use the same layout and fuse the gates in the
//! same order.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::Param;
use burn::store::{ModuleStore, PytorchStore, SafetensorsStore, bridge};
use burn::tensor::{DType, Tensor, TensorData};

use crate::{Cell, ElmanCell, FusedWeights, GruCell, LstmCell, Rnn, RnnError};

/// A PyTorch `state_dict` held on the host: parameter name → tensor.
#[derive(Debug, Clone, Default)]
pub struct StateDict {
    /// The tensors by name, as stored (any dtype).
    pub tensors: BTreeMap<String, TensorData>,
}

fn file_error(path: &Path, expected: &str, error: impl std::fmt::Display) -> RnnError {
    RnnError::new(
        format!("file {}", path.display()),
        expected,
        format!("error: {error}"),
    )
}

impl StateDict {
    /// Checks every key under `prefix` is one of `used`, as strict loading asks
    /// (`load_state_dict(strict=True)`); `hint` adds to the error for a given key.
    pub(crate) fn check_no_other_key(
        &self,
        prefix: &str,
        used: &std::collections::BTreeSet<String>,
        hint: impl Fn(&str) -> &'static str,
    ) -> Result<(), RnnError> {
        match self
            .tensors
            .keys()
            .find(|key| key.starts_with(prefix) && !used.contains(*key))
        {
            Some(key) => self.refuse_key(
                key,
                format_args!(" under prefix {prefix:?} (strict loading){}", hint(key)),
            ),
            None => Ok(()),
        }
    }

    /// An error naming `key` when the dict holds it though the network has no parameter for
    /// it (`why` goes on from `no such key`: `": this network is ..."`); nothing when it does
    /// not hold it.
    pub(crate) fn refuse_key(
        &self,
        key: &str,
        why: impl core::fmt::Display,
    ) -> Result<(), RnnError> {
        match self.tensors.get(key) {
            Some(data) => Err(RnnError::new(
                key,
                format!("no such key{why}"),
                format!("a tensor of shape {:?}", data.shape().to_vec()),
            )),
            None => Ok(()),
        }
    }

    /// Reads a safetensors file (e.g. written by `safetensors.torch.save_file(model.state_dict())`).
    pub fn read_safetensors(path: impl AsRef<Path>) -> Result<Self, RnnError> {
        let path = path.as_ref();
        let store = SafetensorsStore::from_file(path);
        Self::from_store(path, "a readable safetensors file", store, "")
    }

    /// Reads a PyTorch checkpoint (`torch.save(model.state_dict(), path)`).
    pub fn read_pt(path: impl AsRef<Path>) -> Result<Self, RnnError> {
        let path = path.as_ref();
        let store = PytorchStore::from_file(path);
        Self::from_store(path, "a readable PyTorch checkpoint (.pt)", store, "")
    }

    /// Reads `.safetensors` (in any letter case) with
    /// [`read_safetensors`](Self::read_safetensors), anything else (`.pt`, `.pth`, `.bin`) with
    /// [`read_pt`](Self::read_pt).
    pub fn read(path: impl AsRef<Path>) -> Result<Self, RnnError> {
        Self::read_under(path, "")
    }

    /// [`read`](Self::read), keeping only the tensors whose names start with `prefix` (e.g.
    /// `"encoder.rnn."`): the others are never read into memory.
    pub fn read_under(path: impl AsRef<Path>, prefix: &str) -> Result<Self, RnnError> {
        let path = path.as_ref();
        let safetensors = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("safetensors"));
        if safetensors {
            let store = SafetensorsStore::from_file(path);
            Self::from_store(path, "a readable safetensors file", store, prefix)
        } else {
            let store = PytorchStore::from_file(path);
            Self::from_store(path, "a readable PyTorch checkpoint (.pt)", store, prefix)
        }
    }

    /// The tensors of `store` (a file at `path`) whose names start with `prefix`, read into
    /// host memory.
    fn from_store<S: ModuleStore>(
        path: &Path,
        expected: &str,
        mut store: S,
        prefix: &str,
    ) -> Result<Self, RnnError> {
        let tensors = store
            .get_all_tensors()
            .map_err(|e| file_error(path, expected, e))?
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(name, t)| {
                bridge::to_data(t)
                    .map(|data| (name.clone(), data))
                    .map_err(|e| file_error(path, expected, format!("tensor {name}: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { tensors })
    }

    /// Writes the tensors as a safetensors file that `safetensors.torch.load_file` reads.
    pub fn write_safetensors(&self, path: impl AsRef<Path>) -> Result<(), RnnError> {
        let path = path.as_ref();
        let views = self
            .tensors
            .iter()
            .map(|(name, data)| {
                let dtype = match data.dtype() {
                    DType::F32 => safetensors::Dtype::F32,
                    DType::F64 => safetensors::Dtype::F64,
                    DType::F16 => safetensors::Dtype::F16,
                    DType::BF16 => safetensors::Dtype::BF16,
                    other => {
                        return Err(RnnError::new(
                            name.as_str(),
                            "a floating-point tensor",
                            format!("{other:?}"),
                        ));
                    }
                };
                let view = safetensors::tensor::TensorView::new(
                    dtype,
                    data.shape().to_vec(),
                    data.as_bytes(),
                )
                .map_err(|e| RnnError::new(name.as_str(), "a consistent tensor", e.to_string()))?;
                Ok((name.clone(), view))
            })
            .collect::<Result<Vec<_>, _>>()?;
        safetensors::serialize_to_file(views, None, path)
            .map_err(|e| file_error(path, "a writable safetensors file", e))
    }
}

/// Normalises a key prefix as the loaders do: `"encoder.rnn"` and `"encoder.rnn."` both give
/// `"encoder.rnn."` (so that `"rnn"` does not match `rnn2.weight_ih_l0`); `""` stays `""`.
pub fn normalise(prefix: &str) -> String {
    if prefix.is_empty() || prefix.ends_with('.') {
        prefix.to_string()
    } else {
        format!("{prefix}.")
    }
}

/// The PyTorch key suffix of cell `k` with `directions` directions: `_l1_reverse`.
fn suffix(k: usize, directions: usize) -> String {
    let reverse = if k % directions == 1 { "_reverse" } else { "" };
    format!("_l{}{reverse}", k / directions)
}

/// What a gate count means, for cell-type mismatch messages.
fn gate_names(gates: usize) -> &'static str {
    match gates {
        1 => "1 gate: Elman RNN",
        3 => "3 gates: GRU",
        4 => "4 gates: LSTM",
        _ => "an unknown gate layout",
    }
}

/// The tensor under `key`, which must be a floating-point one; `shape` describes the expected
/// shape when there is none.
pub(crate) fn float_tensor<'d>(
    dict: &'d StateDict,
    key: &str,
    shape: &str,
) -> Result<&'d TensorData, RnnError> {
    let data = dict.tensors.get(key).ok_or_else(|| {
        RnnError::new(
            key,
            format!("a tensor of shape {shape}"),
            "no such key in the state dict",
        )
    })?;
    if !matches!(
        data.dtype(),
        DType::F32 | DType::F64 | DType::F16 | DType::BF16
    ) {
        return Err(RnnError::new(
            key,
            "a floating-point tensor (f32, f64, f16 or bf16)",
            format!("{:?}", data.dtype()),
        ));
    }
    Ok(data)
}

/// Takes `key` out of the dict as f32 data of PyTorch shape `expected`.
fn take(
    dict: &StateDict,
    key: &str,
    expected: &[usize],
    gates: usize,
    hidden: usize,
    cell: &str,
) -> Result<TensorData, RnnError> {
    let data = float_tensor(dict, key, &format!("{expected:?} ({cell})"))?;
    let shape = data.shape().to_vec();
    if shape != expected {
        let hint = match shape.first() {
            Some(&rows)
                if shape.len() == expected.len()
                    && rows != expected[0]
                    && hidden > 0
                    && rows % hidden == 0 =>
            {
                format!(" ({} rows = {} weights?)", rows, gate_names(rows / hidden))
            }
            _ => String::new(),
        };
        return Err(RnnError::new(
            key,
            format!("shape {expected:?} ({cell}, {})", gate_names(gates)),
            format!("{shape:?}{hint}"),
        ));
    }
    Ok(data.clone().convert::<f32>())
}

/// `data`'s values as `f32`, copied into host memory now. On wgpu, Burn 0.22.1 can hand out
/// tensor data whose bytes are produced later, when first read, from the device buffer: a
/// training step that then updates the parameter in place would change a state dict already
/// taken (seen: a state dict taken before an optimiser step read the stepped values).
fn host_f32(data: TensorData) -> TensorData {
    let shape = data.shape().to_vec();
    TensorData::new(data.iter::<f32>().collect::<Vec<f32>>(), shape)
}

/// `param` holding `data` instead, on its device, with its id and its gradient requirement: a
/// loaded network trains like the one it replaces (as with Burn's record loading).
pub(crate) fn loaded<const D: usize>(
    param: &Param<Tensor<D>>,
    data: TensorData,
) -> Param<Tensor<D>> {
    let tensor = Tensor::from_data(data, &param.lazy_device());
    param.clone().transform_for_load(tensor, param.id)
}

/// A cell with a counterpart in `torch.nn.RNN`, `LSTM` or `GRU`: its fused weights are
/// PyTorch's `weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}`, and these are
/// its parameters beyond them.
pub trait PytorchCell: Cell<Weights = FusedWeights> {
    /// The projection of the hidden state, `[proj_size, hidden]` (PyTorch's `weight_hr_l{k}`),
    /// for an LSTM that projects its state.
    fn projection(&self) -> Option<&Param<Tensor<2>>> {
        None
    }

    /// The projection, mutably (to load weights).
    fn projection_mut(&mut self) -> Option<&mut Param<Tensor<2>>> {
        None
    }
}

impl PytorchCell for LstmCell {
    fn projection(&self) -> Option<&Param<Tensor<2>>> {
        self.weight_hr.as_ref()
    }

    fn projection_mut(&mut self) -> Option<&mut Param<Tensor<2>>> {
        self.weight_hr.as_mut()
    }
}

impl PytorchCell for GruCell {}

impl<C: PytorchCell> PytorchCell for crate::cell::Stepwise<C> {
    fn projection(&self) -> Option<&Param<Tensor<2>>> {
        self.cell.projection()
    }

    fn projection_mut(&mut self) -> Option<&mut Param<Tensor<2>>> {
        self.cell.projection_mut()
    }
}

impl PytorchCell for ElmanCell {}

impl<C: PytorchCell> Rnn<C> {
    /// Loads PyTorch weights (`weight_ih_l0`, ..., `bias_hh_l1_reverse`) found under `prefix`
    /// (e.g. `"encoder.rnn."` for a layer inside a larger model; `""` for a bare module).
    ///
    /// With `strict`, a key under `prefix` that this network has no parameter for is an error
    /// (like PyTorch's `load_state_dict(strict=True)`); keys outside `prefix` are always ignored.
    /// Without it, keys of layers beyond this network's are ignored (to load the first layers
    /// of a deeper network), but keys that say the file's layers compute something else are
    /// errors still: a projection, biases or a reverse direction this network lacks.
    /// Errors name the key, the expected and the actual value: a missing key, an unexpected key,
    /// a wrong shape (with a hint when the rows match another cell type), a non-float dtype; a
    /// network PyTorch has no counterpart of (bidirectional layers merged otherwise than by
    /// concatenation, layers that differ in direction) is an error naming the field.
    pub fn load_state_dict(
        mut self,
        dict: &StateDict,
        prefix: &str,
        strict: bool,
    ) -> Result<Self, RnnError> {
        self.check_pytorch_layout()?;
        let prefix = normalise(prefix);
        let directions = self.num_directions();
        let mut used = std::collections::BTreeSet::new();
        // Keys of the file that this network has no parameter for and that would change what
        // it computes: errors with or without `strict`.
        if directions == 1 {
            for layer in 0..self.layers.len() {
                dict.refuse_key(
                    &format!("{prefix}weight_ih_l{layer}_reverse"),
                    ": this network is unidirectional (the file's layers are bidirectional: \
                     build it with bidirectional = true)",
                )?;
            }
        }
        for (k, cell) in self.cells_mut().into_iter().enumerate() {
            let s = suffix(k, directions);
            let (input, hidden, state) =
                (cell.input_size(), cell.hidden_size(), cell.output_size());
            let width = C::GATES * hidden;
            let hr_key = format!("{prefix}weight_hr{s}");
            match cell.projection_mut() {
                Some(w_hr) => {
                    let data = take(dict, &hr_key, &[state, hidden], C::GATES, hidden, C::NAME)?;
                    used.insert(hr_key);
                    *w_hr = loaded(w_hr, data);
                }
                // Said before `weight_hh`'s shape, which differs too.
                None => {
                    let rows = dict
                        .tensors
                        .get(&hr_key)
                        .and_then(|d| d.shape().first().copied());
                    dict.refuse_key(
                        &hr_key,
                        format_args!(
                            ": this {} does not project its state{}",
                            C::NAME,
                            match rows {
                                Some(rows) => format!(
                                    " (a projecting LSTM's weights: build it with proj_size \
                                     {rows})"
                                ),
                                None => String::new(),
                            }
                        ),
                    )?;
                }
            }
            let w = cell.weights_mut();
            let mut load = |name: &str, shape: &[usize]| -> Result<TensorData, RnnError> {
                let key = format!("{prefix}{name}{s}");
                let data = take(dict, &key, shape, C::GATES, hidden, C::NAME)?;
                used.insert(key);
                Ok(data)
            };
            let weight_ih = load("weight_ih", &[width, input])?;
            let weight_hh = load("weight_hh", &[width, state])?;
            w.weight_ih = loaded(&w.weight_ih, weight_ih);
            w.weight_hh = loaded(&w.weight_hh, weight_hh);
            for (name, bias) in [("bias_ih", &mut w.bias_ih), ("bias_hh", &mut w.bias_hh)] {
                match bias {
                    Some(param) => *param = loaded(param, load(name, &[width])?),
                    None => dict.refuse_key(
                        &format!("{prefix}{name}{s}"),
                        ": the network was built with bias = false (the file's layers have \
                         biases: build it with bias = true)",
                    )?,
                }
            }
        }
        if strict {
            let layers = self.layers.len();
            dict.check_no_other_key(&prefix, &used, |key| {
                let name = &key[prefix.len()..];
                let layer = name
                    .rsplit_once("_l")
                    .and_then(|(_, l)| l.trim_end_matches("_reverse").parse::<usize>().ok());
                match layer {
                    Some(l) if l >= layers => " (the network has fewer layers: num_layers?)",
                    _ => "",
                }
            })?;
        }
        Ok(self)
    }

    /// Checks PyTorch has a counterpart of this network: layers of one kind (the fields are
    /// public), bidirectional ones concatenating their directions as PyTorch's do.
    fn check_pytorch_layout(&self) -> Result<(), RnnError> {
        self.check_layers()?;
        match &self.layers[0] {
            crate::RnnLayer::Bidirectional(b) if b.merge != crate::MergeMode::Concat => {
                Err(RnnError::new(
                    "merge",
                    "MergeMode::Concat (PyTorch concatenates the two directions' outputs)",
                    format!("MergeMode::{:?}", b.merge),
                ))
            }
            _ => Ok(()),
        }
    }

    /// The network's weights as a PyTorch `state_dict` (f32), keys under `prefix`: what
    /// `torch.nn.LSTM(...).load_state_dict(..., strict=True)` accepts. An error for a network
    /// PyTorch has no counterpart of (see [`load_state_dict`](Self::load_state_dict)).
    pub fn state_dict(&self, prefix: &str) -> Result<StateDict, RnnError> {
        self.check_pytorch_layout()?;
        let prefix = normalise(prefix);
        let directions = self.num_directions();
        let mut tensors = BTreeMap::new();
        for (k, cell) in self.cells().into_iter().enumerate() {
            let s = suffix(k, directions);
            let w = cell.weights();
            let data = |t: Tensor<2>| host_f32(t.into_data());
            tensors.insert(format!("{prefix}weight_ih{s}"), data(w.weight_ih.val()));
            tensors.insert(format!("{prefix}weight_hh{s}"), data(w.weight_hh.val()));
            if let Some(w_hr) = cell.projection() {
                tensors.insert(format!("{prefix}weight_hr{s}"), data(w_hr.val()));
            }
            for (name, bias) in [("bias_ih", &w.bias_ih), ("bias_hh", &w.bias_hh)] {
                if let Some(bias) = bias {
                    tensors.insert(
                        format!("{prefix}{name}{s}"),
                        host_f32(bias.val().into_data()),
                    );
                }
            }
        }
        Ok(StateDict { tensors })
    }
}

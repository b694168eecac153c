//! A [`CharLm`] holding the weights of `examples/scripts/charlm_torch.py`'s model: its
//! `state_dict` saved as safetensors (`--save-init`) loaded here (`charlm --init-from`), so
//! that both programs can train from the same initial weights.

use std::path::Path;

use burn::module::Param;
use burn::tensor::{Tensor, TensorData};
use rnn_core::pytorch::StateDict;
use rnn_core::{AnyRnn, RnnError};
use rnn_tasks::OutputLayer;

use super::model::CharLm;
use crate::cli::cell_name;

// The keys of the state dict outside the recurrent network, and the prefix of its keys.
const EMBEDDING: &str = "embedding.weight";
const OUTPUT_WEIGHT: &str = "output.weight";
const OUTPUT_BIAS: &str = "output.bias";
const RNN_PREFIX: &str = "rnn.";

impl CharLm {
    /// This model with the weights of the PyTorch `state_dict` in `path` (safetensors or
    /// `.pt`). Every key must be there with this model's shapes, and no other (as PyTorch's
    /// `load_state_dict(strict=True)`); the recurrent cell must be one PyTorch has (LSTM, GRU,
    /// Elman), and the output layer untied.
    ///
    /// | PyTorch key | PyTorch shape | ours |
    /// |---|---|---|
    /// | `embedding.weight` | `[vocab, embedding]` | `embedding.weight`, as it is |
    /// | `rnn.weight_ih_l{k}`, ... | see [`rnn_core::pytorch`] | `rnn` |
    /// | `output.weight` | `[vocab, hidden]` | the output layer's weight, transposed |
    /// | `output.bias` | `[vocab]` | the output layer's bias |
    pub fn load_pytorch(self, path: &Path) -> Result<Self, String> {
        let error = |e: &dyn std::fmt::Display| format!("--init-from {}: {e}", path.display());
        let dict = StateDict::read(path).map_err(|e| error(&e))?;
        self.load_state_dict(&dict).map_err(|e| error(&e))
    }

    fn load_state_dict(self, dict: &StateDict) -> Result<Self, String> {
        let CharLm {
            mut embedding,
            rnn,
            output,
            dropout,
        } = self;
        let unexpected = dict.tensors.keys().find(|key| {
            ![EMBEDDING, OUTPUT_WEIGHT, OUTPUT_BIAS].contains(&key.as_str())
                && !key.starts_with(RNN_PREFIX)
        });
        if let Some(key) = unexpected {
            return Err(format!(
                "{key}: expected no such key (the model has {EMBEDDING}, {RNN_PREFIX}*, \
                 {OUTPUT_WEIGHT} and {OUTPUT_BIAS})"
            ));
        }
        embedding.weight = loaded(&embedding.weight, dict, EMBEDDING, false)?;
        let rnn_error = |e: RnnError| e.to_string();
        let rnn = match rnn {
            AnyRnn::Lstm(rnn) => AnyRnn::Lstm(
                rnn.load_state_dict(dict, RNN_PREFIX, true)
                    .map_err(rnn_error)?,
            ),
            AnyRnn::Gru(rnn) => AnyRnn::Gru(
                rnn.load_state_dict(dict, RNN_PREFIX, true)
                    .map_err(rnn_error)?,
            ),
            AnyRnn::Elman(rnn) => AnyRnn::Elman(
                rnn.load_state_dict(dict, RNN_PREFIX, true)
                    .map_err(rnn_error)?,
            ),
            other => {
                return Err(format!(
                    "--cell: expected lstm, gru or elman (cells PyTorch has), got {}",
                    cell_name(other.kind())
                ));
            }
        };
        let OutputLayer::Linear(mut layer) = output else {
            let tied = "the output layer: expected nn.Linear's, got one tied to the embedding";
            return Err(tied.to_string());
        };
        layer.weight = loaded(&layer.weight, dict, OUTPUT_WEIGHT, true)?;
        layer.bias = match layer.bias {
            Some(bias) => Some(loaded(&bias, dict, OUTPUT_BIAS, false)?),
            None => None,
        };
        Ok(CharLm {
            embedding,
            rnn,
            output: OutputLayer::Linear(layer),
            dropout,
        })
    }
}

/// `param` holding the tensor `key` of `dict` instead (transposed from PyTorch's
/// `[out, in]` when `transposed`), with its id and gradient requirement, so that it trains
/// like the parameter it replaces; an error names the key, the expected and the actual value.
fn loaded<const D: usize>(
    param: &Param<Tensor<D>>,
    dict: &StateDict,
    key: &str,
    transposed: bool,
) -> Result<Param<Tensor<D>>, String> {
    let mut expected = param.dims();
    if transposed {
        expected.reverse();
    }
    let data = dict.tensors.get(key).ok_or_else(|| {
        format!("{key}: expected a tensor of shape {expected:?}, got no such key")
    })?;
    if data.shape().to_vec() != expected {
        return Err(format!(
            "{key}: expected shape {expected:?}, got {:?}",
            data.shape().to_vec()
        ));
    }
    if !data.dtype().is_float() {
        return Err(format!(
            "{key}: expected a float tensor, got {:?}",
            data.dtype()
        ));
    }
    let data = TensorData::new(data.iter::<f32>().collect::<Vec<f32>>(), expected);
    let mut tensor = Tensor::<D>::from_data(data, &param.lazy_device());
    if transposed {
        tensor = tensor.transpose();
    }
    Ok(param.clone().transform_for_load(tensor, param.id))
}

//! Loading the `xlstm` package's checkpoints: its `xLSTMBlockStack`'s `state_dict`, names
//! and layouts, onto an [`XlstmStack`].

use std::collections::BTreeSet;

use burn::module::Param;
use burn::tensor::{Tensor, TensorData};

use super::{XlstmBlock, XlstmStack};
use crate::RnnError;
use crate::pytorch::{StateDict, float_tensor, loaded, normalise};
use crate::validate::check_shape;

/// A parameter of an [`XlstmStack`] as the checkpoint loader and the tests reach it.
#[derive(Debug)]
pub enum StackParam<'a> {
    /// A vector (norm scales, biases, the learnable skip).
    Vector(&'a mut Param<Tensor<1>>),
    /// A matrix (the linear maps).
    Matrix(&'a mut Param<Tensor<2>>),
    /// A rank-3 tensor (convolutions, block-diagonal and recurrent weights).
    Cube(&'a mut Param<Tensor<3>>),
}

impl StackParam<'_> {
    fn dims(&self) -> Vec<usize> {
        match self {
            StackParam::Vector(p) => p.dims().to_vec(),
            StackParam::Matrix(p) => p.dims().to_vec(),
            StackParam::Cube(p) => p.dims().to_vec(),
        }
    }

    fn load(&mut self, data: TensorData) {
        match self {
            StackParam::Vector(p) => **p = loaded(p, data),
            StackParam::Matrix(p) => **p = loaded(p, data),
            StackParam::Cube(p) => **p = loaded(p, data),
        }
    }
}

impl XlstmStack {
    /// Every parameter with its name in the `xlstm` package's `xLSTMBlockStack.state_dict()`
    /// (`blocks.0.xlstm.proj_up.weight`, ...). The package's sLSTM layer names the input
    /// gate's projection `fgate` and the forget gate's `igate`: so do these names.
    pub fn pytorch_parameters(&mut self) -> Vec<(String, StackParam<'_>)> {
        use StackParam::{Cube, Matrix, Vector};
        let mut params = Vec::new();
        for (k, block) in self.blocks.iter_mut().enumerate() {
            let name = |suffix: &str| format!("blocks.{k}.{suffix}");
            match block {
                XlstmBlock::Mlstm(b) => params.extend([
                    (name("xlstm_norm.weight"), Vector(&mut b.norm.weight)),
                    (name("xlstm.proj_up.weight"), Matrix(&mut b.proj_up)),
                    (name("xlstm.conv1d.conv.weight"), Cube(&mut b.conv.weight)),
                    (name("xlstm.conv1d.conv.bias"), Vector(&mut b.conv.bias)),
                    (name("xlstm.q_proj.weight"), Cube(&mut b.q_proj.weight)),
                    (name("xlstm.k_proj.weight"), Cube(&mut b.k_proj.weight)),
                    (name("xlstm.v_proj.weight"), Cube(&mut b.v_proj.weight)),
                    (
                        name("xlstm.mlstm_cell.igate.weight"),
                        Matrix(&mut b.igate_weight),
                    ),
                    (
                        name("xlstm.mlstm_cell.igate.bias"),
                        Vector(&mut b.igate_bias),
                    ),
                    (
                        name("xlstm.mlstm_cell.fgate.weight"),
                        Matrix(&mut b.fgate_weight),
                    ),
                    (
                        name("xlstm.mlstm_cell.fgate.bias"),
                        Vector(&mut b.fgate_bias),
                    ),
                    (
                        name("xlstm.mlstm_cell.outnorm.weight"),
                        Vector(&mut b.outnorm.weight),
                    ),
                    (name("xlstm.learnable_skip"), Vector(&mut b.learnable_skip)),
                    (name("xlstm.proj_down.weight"), Matrix(&mut b.proj_down)),
                ]),
                XlstmBlock::Slstm(b) => params.extend([
                    (name("xlstm_norm.weight"), Vector(&mut b.norm.weight)),
                    (name("xlstm.conv1d.conv.weight"), Cube(&mut b.conv.weight)),
                    (name("xlstm.conv1d.conv.bias"), Vector(&mut b.conv.bias)),
                    (name("xlstm.fgate.weight"), Cube(&mut b.input_gate.weight)),
                    (name("xlstm.igate.weight"), Cube(&mut b.forget_gate.weight)),
                    (name("xlstm.zgate.weight"), Cube(&mut b.z_gate.weight)),
                    (name("xlstm.ogate.weight"), Cube(&mut b.o_gate.weight)),
                    (
                        name("xlstm.slstm_cell._recurrent_kernel_"),
                        Cube(&mut b.recurrent),
                    ),
                    (name("xlstm.slstm_cell._bias_"), Vector(&mut b.bias)),
                    (
                        name("xlstm.group_norm.weight"),
                        Vector(&mut b.group_norm.weight),
                    ),
                    (name("ffn_norm.weight"), Vector(&mut b.ffn_norm.weight)),
                    (name("ffn.proj_up.weight"), Matrix(&mut b.ffn_up)),
                    (name("ffn.proj_down.weight"), Matrix(&mut b.ffn_down)),
                ]),
            }
        }
        if let Some(norm) = &mut self.post_norm {
            params.push((
                "post_blocks_norm.weight".to_string(),
                Vector(&mut norm.weight),
            ));
        }
        params
    }

    /// Loads a checkpoint of the `xlstm` package's `xLSTMBlockStack` (its `state_dict`, read
    /// with [`StateDict::read`]) found under `prefix` (`""` for a bare stack), onto a stack
    /// built with the same configuration. The sLSTM recurrent kernel and bias may be in the
    /// layout of either of the package's backends, `"vanilla"` (`[heads, 4 * dh, dh]`) or
    /// `"cuda"` (`[heads, dh, 4 * dh]`, the bias head-major: what GPU-trained checkpoints
    /// hold); the kernel's shape tells which.
    ///
    /// With `strict`, a key under `prefix` that the stack has no parameter for is an error
    /// (`load_state_dict(strict=True)`). Errors name the key, the expected and the actual
    /// value.
    pub fn load_state_dict(
        mut self,
        dict: &StateDict,
        prefix: &str,
        strict: bool,
    ) -> Result<Self, RnnError> {
        let prefix = normalise(prefix);
        let mut used = BTreeSet::new();
        for (name, mut param) in self.pytorch_parameters() {
            let key = format!("{prefix}{name}");
            let expected = param.dims();
            let data = float_tensor(dict, &key, &format!("{expected:?}"))?;
            let data = if name.ends_with("_recurrent_kernel_") || name.ends_with("_bias_") {
                vanilla_layout(dict, &key, data, &expected)?
            } else {
                data.clone()
            };
            check_shape(
                &key,
                &expected,
                &data.shape().to_vec(),
                "the stack's configuration",
            )?;
            param.load(data.convert::<f32>());
            used.insert(key);
        }
        // A bias beside a weight the stack has without one (a checkpoint of the package's
        // `bias=True`) changes what the layer computes: an error with or without `strict`.
        for weight in &used {
            let Some(layer) = weight.strip_suffix(".weight") else {
                continue;
            };
            let bias = format!("{layer}.bias");
            if !used.contains(&bias) {
                dict.refuse_key(
                    &bias,
                    ": the stack's layers have no bias beside this weight (the xlstm \
                     package's bias=False)",
                )?;
            }
        }
        if strict {
            dict.check_no_other_key(&prefix, &used, |_| "")?;
        }
        Ok(self)
    }
}

/// An sLSTM recurrent kernel (`key` ends in `_recurrent_kernel_`) or bias (`_bias_`) in the
/// vanilla layout: as it is, or converted from the cuda backend's, which a kernel of shape
/// `[heads, dh, 4 * dh]` has (the bias goes with its kernel).
fn vanilla_layout(
    dict: &StateDict,
    key: &str,
    data: &TensorData,
    expected: &[usize],
) -> Result<TensorData, RnnError> {
    let kernel_key = format!(
        "{}_recurrent_kernel_",
        key.trim_end_matches("_bias_")
            .trim_end_matches("_recurrent_kernel_")
    );
    let kernel = float_tensor(dict, &kernel_key, "[heads, 4 * dh, dh]")?;
    let &[heads, rows, cols] = kernel.shape().as_slice() else {
        return Err(RnnError::new(
            kernel_key,
            "a kernel of shape [heads, 4 * dh, dh] (vanilla) or [heads, dh, 4 * dh] (cuda)",
            format!("{:?}", kernel.shape().to_vec()),
        ));
    };
    let cuda = cols == 4 * rows && rows != 4 * cols;
    if !cuda {
        return Ok(data.clone());
    }
    let dh = rows;
    let values: Vec<f32> = data.clone().convert::<f32>().iter::<f32>().collect();
    if key.ends_with("_recurrent_kernel_") {
        // `R_cuda[k, l, g * dh + j]` → `R_vanilla[k, g * dh + j, l]`.
        let mut out = vec![0.0; values.len()];
        for k in 0..heads {
            for l in 0..dh {
                for r in 0..4 * dh {
                    out[(k * 4 * dh + r) * dh + l] = values[(k * dh + l) * 4 * dh + r];
                }
            }
        }
        Ok(TensorData::new(out, [heads, 4 * dh, dh]))
    } else {
        // Head-major `k * 4dh + g * dh + j` → gate-major `g * E + k * dh + j`.
        let e = heads * dh;
        if values.len() != 4 * e {
            return Err(RnnError::new(
                key,
                format!("shape {expected:?} (the stack's configuration)"),
                format!("{:?}", data.shape().to_vec()),
            ));
        }
        let mut out = vec![0.0; 4 * e];
        for k in 0..heads {
            for g in 0..4 {
                for j in 0..dh {
                    out[g * e + k * dh + j] = values[k * 4 * dh + g * dh + j];
                }
            }
        }
        Ok(TensorData::new(out, [4 * e]))
    }
}

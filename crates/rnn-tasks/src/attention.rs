//! Attention of a decoder state over encoder outputs: Bahdanau (additive) and Luong (dot,
//! general), with padded source positions masked out.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Bool, Device, Int, Tensor};
use rnn_core::validate::{check_feature_size, check_shape};
use rnn_core::{RnnError, linear_layer, tanh};

use crate::decode::Rows;
use crate::mask::masked_softmax;

/// The score function of an [`Attention`].
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum AttentionKind {
    /// Additive (Bahdanau et al. 2015): `vᵀ tanh(W_q q + W_k k)`. In a
    /// [`Seq2Seq`](crate::Seq2Seq) the query is the previous decoder state and the context
    /// is part of the decoder's input.
    Bahdanau,
    /// Dot product (Luong et al. 2015): `qᵀ k`; the query and key sizes must be equal. The
    /// query is the current decoder state.
    LuongDot,
    /// Bilinear (Luong et al. 2015, "general"): `qᵀ W k`.
    LuongGeneral,
}

/// Encoder outputs prepared once for attention by every decoder step.
#[derive(Debug, Clone)]
pub struct AttentionMemory {
    /// `[batch, source, ..]` the keys as the score function reads them (projected once).
    pub keys: Tensor<3>,
    /// `[batch, source, key_size]` the encoder outputs the context averages.
    pub values: Tensor<3>,
    /// `[batch, source]`: true at padded source positions; `None` when nothing is padded.
    pub pad: Option<Tensor<2, Bool>>,
}

impl AttentionMemory {
    /// The memory of the examples `rows` (`[n]` indices into the batch), e.g. to give every
    /// beam of a beam search its example's memory.
    pub fn select(&self, rows: Tensor<1, Int>) -> Self {
        Self {
            keys: self.keys.clone().select(0, rows.clone()),
            values: self.values.clone().select(0, rows.clone()),
            pad: self.pad.clone().map(|pad| pad.select(0, rows)),
        }
    }
}

impl Rows for AttentionMemory {
    fn select_rows(self, rows: Tensor<1, Int>) -> Self {
        self.select(rows)
    }
}

/// Additive attention: `score(q, k) = vᵀ tanh(W_q q + W_k k + b)`.
#[derive(Module, Debug)]
pub struct BahdanauAttention {
    /// `W_q`: `[query] → [attention]`, no bias.
    pub query: Linear,
    /// `W_k`, `b`: `[key] → [attention]`.
    pub key: Linear,
    /// `v`: `[attention] → 1`, no bias.
    pub score: Linear,
}

/// Multiplicative attention: `score(q, k) = qᵀ k` (dot) or `qᵀ W k` (general).
#[derive(Module, Debug)]
pub struct LuongAttention {
    /// `W`: `[key] → [query]`, no bias; `None` for dot attention.
    pub general: Option<Linear>,
}

/// Attention of a query `[batch, query]` over keys `[batch, source, key]`: weights
/// `[batch, source]` (a softmax over the valid source positions, exactly 0 at padding) and
/// the context `[batch, key]` they average.
///
/// ```
/// use burn::tensor::{Device, Distribution, Tensor};
/// use rnn_tasks::{Attention, AttentionKind, padding_mask};
///
/// let device = Device::default();
/// let attention = Attention::new(AttentionKind::Bahdanau, 8, 6, 10, &device);
/// let keys = Tensor::<3>::random([2, 5, 6], Distribution::Default, &device);
/// // The second example has 3 valid source positions.
/// let memory = attention.memory(keys, Some(padding_mask(&[5, 3], 5, &device)?));
/// let query = Tensor::<2>::random([2, 8], Distribution::Default, &device);
/// let (context, weights) = attention.attend(query, &memory);
/// assert_eq!(context.dims(), [2, 6]);
/// assert_eq!(weights.dims(), [2, 5]);
/// # Ok::<(), rnn_tasks::RnnError>(())
/// ```
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // one per model; boxing would hide it from Module derive
pub enum Attention {
    /// Additive.
    Bahdanau(BahdanauAttention),
    /// Multiplicative.
    Luong(LuongAttention),
}

impl Attention {
    /// Attention of `query_size` queries over `key_size` keys; `attention_size` is the hidden
    /// size of Bahdanau's score (ignored by Luong's).
    ///
    /// # Panics
    /// If the sizes do not fit the kind, with the message of [`try_new`](Self::try_new).
    pub fn new(
        kind: AttentionKind,
        query_size: usize,
        key_size: usize,
        attention_size: usize,
        device: &Device,
    ) -> Self {
        Self::try_new(kind, query_size, key_size, attention_size, device)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`new`](Self::new), or an error when dot attention gets different query and key sizes.
    pub fn try_new(
        kind: AttentionKind,
        query_size: usize,
        key_size: usize,
        attention_size: usize,
        device: &Device,
    ) -> Result<Self, RnnError> {
        let linear = |i, o, bias| LinearConfig::new(i, o).with_bias(bias).init(device);
        Ok(match kind {
            AttentionKind::Bahdanau => Attention::Bahdanau(BahdanauAttention {
                query: linear(query_size, attention_size, false),
                key: linear(key_size, attention_size, true),
                score: linear(attention_size, 1, false),
            }),
            AttentionKind::LuongDot => {
                if query_size != key_size {
                    return Err(RnnError::new(
                        "attention",
                        format!(
                            "LuongDot with equal query and key sizes, or LuongGeneral or \
                             Bahdanau (the decoder's hidden size is {query_size})"
                        ),
                        format!("keys (encoder outputs) of size {key_size}"),
                    ));
                }
                Attention::Luong(LuongAttention { general: None })
            }
            AttentionKind::LuongGeneral => Attention::Luong(LuongAttention {
                general: Some(linear(key_size, query_size, false)),
            }),
        })
    }

    /// The size of the values it attends over; `None` for dot attention, which takes any
    /// (the queries then have it).
    fn key_size(&self) -> Option<usize> {
        match self {
            Attention::Bahdanau(a) => Some(a.key.weight.dims()[0]),
            Attention::Luong(LuongAttention {
                general: Some(general),
            }) => Some(general.weight.dims()[0]),
            Attention::Luong(LuongAttention { general: None }) => None,
        }
    }

    /// `[batch, query]`: the memory's batch and the query size it takes over `memory` (dot
    /// attention's is the values' size).
    fn query_shape(&self, memory: &AttentionMemory) -> [usize; 2] {
        let [batch, _, key] = memory.values.dims();
        let size = match self {
            Attention::Bahdanau(a) => a.query.weight.dims()[0],
            Attention::Luong(LuongAttention {
                general: Some(general),
            }) => general.weight.dims()[1],
            Attention::Luong(LuongAttention { general: None }) => key,
        };
        [batch, size]
    }

    /// Prepares `values: [batch, source, key]` (padded where `pad`, `[batch, source]`, is
    /// true) for [`attend`](Self::attend): the key projections are computed here, once.
    ///
    /// # Panics
    /// With the message of [`try_memory`](Self::try_memory).
    pub fn memory(&self, values: Tensor<3>, pad: Option<Tensor<2, Bool>>) -> AttentionMemory {
        self.try_memory(values, pad)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`memory`](Self::memory), or an error when `values` are not of the key size the
    /// attention was made for, or `pad` is not `[batch, source]` of `values`.
    pub fn try_memory(
        &self,
        values: Tensor<3>,
        pad: Option<Tensor<2, Bool>>,
    ) -> Result<AttentionMemory, RnnError> {
        if let Some(expected) = self.key_size() {
            check_feature_size("values", expected, values.dims()[2])?;
        }
        let keys = match self {
            Attention::Bahdanau(a) => linear_layer(&a.key, values.clone()),
            Attention::Luong(LuongAttention {
                general: Some(general),
            }) => linear_layer(general, values.clone()),
            Attention::Luong(LuongAttention { general: None }) => values.clone(),
        };
        let memory = AttentionMemory { keys, values, pad };
        self.check_memory(&memory, "")?;
        Ok(memory)
    }

    /// Checks `memory`'s parts fit this attention and one another (its fields are public: a
    /// memory assembled by hand, or made by another attention); `prefix` goes before their
    /// names in errors.
    fn check_memory(&self, memory: &AttentionMemory, prefix: &str) -> Result<(), RnnError> {
        let [batch, source, key] = memory.values.dims();
        if let Some(expected) = self.key_size() {
            check_feature_size(format_args!("{prefix}values"), expected, key)?;
        }
        let width = match self {
            Attention::Bahdanau(a) => a.key.weight.dims()[1],
            Attention::Luong(LuongAttention {
                general: Some(general),
            }) => general.weight.dims()[1],
            Attention::Luong(LuongAttention { general: None }) => key,
        };
        check_shape(
            format_args!("{prefix}keys"),
            &[batch, source, width],
            &memory.keys.dims(),
            "[batch, source, ..] of values, as the attention projects them",
        )?;
        if let Some(pad) = &memory.pad {
            check_shape(
                format_args!("{prefix}pad"),
                &[batch, source],
                &pad.dims(),
                "[batch, source] of values",
            )?;
        }
        Ok(())
    }

    /// `query: [batch, query]` → (context `[batch, key]`, weights `[batch, source]`).
    ///
    /// # Panics
    /// With the message of [`try_attend`](Self::try_attend).
    pub fn attend(&self, query: Tensor<2>, memory: &AttentionMemory) -> (Tensor<2>, Tensor<2>) {
        self.try_attend(query, memory)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`attend`](Self::attend), or an error when `query` is not of the memory's batch and
    /// the attention's query size.
    pub fn try_attend(
        &self,
        query: Tensor<2>,
        memory: &AttentionMemory,
    ) -> Result<(Tensor<2>, Tensor<2>), RnnError> {
        self.check_memory(memory, "memory.")?;
        check_shape(
            "query",
            &self.query_shape(memory),
            &query.dims(),
            "[batch, query] for the memory's batch",
        )?;
        let (context, weights) = self.attend_checked(query.unsqueeze_dim(1), memory);
        Ok((context.squeeze_dim(1), weights.squeeze_dim(1)))
    }

    /// Several queries per example at once: `queries: [batch, target, query]` →
    /// (contexts `[batch, target, key]`, weights `[batch, target, source]`).
    ///
    /// # Panics
    /// With the message of [`try_attend_all`](Self::try_attend_all).
    pub fn attend_all(
        &self,
        queries: Tensor<3>,
        memory: &AttentionMemory,
    ) -> (Tensor<3>, Tensor<3>) {
        self.try_attend_all(queries, memory)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`attend_all`](Self::attend_all), or an error when `queries` are not of the memory's
    /// batch and the attention's query size, or `memory`'s parts do not fit the attention
    /// (a memory made by another).
    pub fn try_attend_all(
        &self,
        queries: Tensor<3>,
        memory: &AttentionMemory,
    ) -> Result<(Tensor<3>, Tensor<3>), RnnError> {
        self.check_memory(memory, "memory.")?;
        let [batch, target, size] = queries.dims();
        let [memory_batch, query_size] = self.query_shape(memory);
        check_shape(
            "queries",
            &[memory_batch, target, query_size],
            &[batch, target, size],
            "[batch, target, query] for the memory's batch",
        )?;
        Ok(self.attend_checked(queries, memory))
    }

    /// [`try_attend_all`](Self::try_attend_all) once its arguments are checked (by it or by
    /// [`try_attend`](Self::try_attend), at every decoder step: each checks once).
    fn attend_checked(
        &self,
        queries: Tensor<3>,
        memory: &AttentionMemory,
    ) -> (Tensor<3>, Tensor<3>) {
        let scores = match self {
            Attention::Bahdanau(a) => {
                // [batch, 1, source, attention] + [batch, target, 1, attention]
                let sum = memory.keys.clone().unsqueeze_dim::<4>(1)
                    + linear_layer(&a.query, queries).unsqueeze_dim::<4>(2);
                a.score.forward(tanh(sum)).squeeze_dim::<3>(3)
            }
            Attention::Luong(_) => queries.matmul(memory.keys.clone().swap_dims(1, 2)),
        };
        let weights = masked_softmax(scores, memory.pad.as_ref());
        let context = weights.clone().matmul(memory.values.clone());
        (context, weights)
    }
}

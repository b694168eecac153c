//! Pooling a sequence of encoder outputs into one vector, over the valid steps only.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Bool, Device, Tensor};

use crate::mask::masked_softmax;
use rnn_core::validate::check_feature_size;
use rnn_core::{linear_layer, tanh};

/// How a [`SequenceClassifier`](crate::SequenceClassifier) reduces its encoder outputs
/// `[batch, seq, features]` to `[batch, features]`.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// The final state: the last valid step of the forward direction and, for a
    /// bidirectional encoder, the first step of the backward direction, merged as the
    /// encoder merges its outputs.
    Last,
    /// Mean over the valid steps.
    Mean,
    /// Elementwise maximum over the valid steps.
    Max,
    /// Weighted mean with learned weights over the valid steps (additive attention against a
    /// learned query, as in Yang et al. 2016); the weights are returned.
    Attention,
}

/// Learned attention pooling: `score_t = vᵀ tanh(W h_t + b)`, softmax over valid steps,
/// pooled = Σ weight_t h_t.
#[derive(Module, Debug)]
pub struct AttentionPooling {
    /// `W`, `b`: `[features] → [attention]`.
    pub projection: Linear,
    /// `v`: `[attention] → 1`, no bias.
    pub score: Linear,
}

impl AttentionPooling {
    /// Pools `features`-sized vectors through an `attention`-sized hidden layer.
    pub fn new(features: usize, attention: usize, device: &Device) -> Self {
        Self {
            projection: LinearConfig::new(features, attention).init(device),
            score: LinearConfig::new(attention, 1)
                .with_bias(false)
                .init(device),
        }
    }

    /// `outputs: [batch, seq, features]`, `pad: [batch, seq]` (true = padded) →
    /// (pooled `[batch, features]`, weights `[batch, seq]`, exactly 0 at padding).
    ///
    /// # Panics
    /// If `outputs` are not of the pooling's feature size, or `pad` is not `[batch, seq]` of
    /// `outputs`, with a message naming the shapes.
    pub fn forward(
        &self,
        outputs: Tensor<3>,
        pad: Option<&Tensor<2, Bool>>,
    ) -> (Tensor<2>, Tensor<2>) {
        check_feature_size(
            "outputs",
            self.projection.weight.dims()[0],
            outputs.dims()[2],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let scores: Tensor<2> = self
            .score
            .forward(tanh(linear_layer(&self.projection, outputs.clone())))
            .squeeze_dim(2);
        let weights = masked_softmax(scores, pad);
        let pooled = weights
            .clone()
            .unsqueeze_dim::<3>(1)
            .matmul(outputs)
            .squeeze_dim::<2>(1);
        (pooled, weights)
    }
}

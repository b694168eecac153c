//! The layer from a decoder's attentional state to logits over the target vocabulary, with its
//! own weights or tied to the target embedding (Press & Wolf 2017; Inan et al. 2017).

use burn::module::{Module, Param};
use burn::nn::{Embedding, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use rnn_core::{linear, linear_layer};

/// `h̃ [.., size]` → logits `[.., vocab]`.
#[derive(Module, Debug)]
pub enum OutputLayer {
    /// Its own weights `W_o [size, vocab]` and bias `[vocab]`.
    Linear(Linear),
    /// The target embedding `E [vocab, size]` as weights, `logits = h̃ Eᵀ + b`: only the bias
    /// `b [vocab]` is its own. Fewer parameters, and every output row is trained as an input
    /// row too, which helps on small data.
    Tied(Param<Tensor<1>>),
}

impl OutputLayer {
    /// An untied layer of `size` inputs, initialised like Burn's [`Linear`].
    pub fn linear(size: usize, vocab: usize, device: &Device) -> Self {
        Self::Linear(LinearConfig::new(size, vocab).init(device))
    }

    /// A layer tied to an embedding of `vocab` rows; its bias is initialised like
    /// [`Linear`]'s for `size` inputs.
    pub fn tied(size: usize, vocab: usize, device: &Device) -> Self {
        let initializer = LinearConfig::new(size, vocab).initializer;
        Self::Tied(initializer.init_with([vocab], Some(size), Some(vocab), device))
    }

    /// Logits `[.., vocab]` of `input: [.., size]`; `embedding` is the target embedding (read
    /// only when tied).
    pub fn forward<const D: usize>(&self, input: Tensor<D>, embedding: &Embedding) -> Tensor<D> {
        match self {
            Self::Linear(layer) => linear_layer(layer, input),
            Self::Tied(bias) => linear(input, embedding.weight.val().transpose(), Some(bias.val())),
        }
    }
}

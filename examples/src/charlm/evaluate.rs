//! Bits per character of held-out text: the model's, read stream by stream with its state
//! carried, and the n-gram baseline's on the same characters.

use burn::tensor::Device;

use super::model::CharLm;
use super::ngram::KneserNey;
use super::streams::Streams;

/// The model's bits per character on `ids`, read as `batch` streams of `chunk` characters
/// with the state carried from chunk to chunk (the targets of [`Streams`]). `model` should be
/// in validation mode (no dropout, no autodiff).
///
/// # Panics
/// If `ids` holds `batch` characters or fewer (see [`Streams::new`]).
pub fn model_bits_per_char(
    model: &CharLm,
    ids: &[usize],
    batch: usize,
    chunk: usize,
    device: &Device,
) -> f64 {
    let streams = Streams::new(ids, batch, chunk).expect("a block longer than the batch");
    let mut state = None;
    let mut total = None;
    for k in 0..streams.chunks() {
        let (inputs, targets) = streams.chunk(k).tensors(device);
        let out = model.forward(inputs, state);
        state = Some(out.state);
        let nll = CharLm::total_nll(out.logits, targets);
        total = Some(match total {
            Some(sum) => sum + nll,
            None => nll,
        });
    }
    let nats: f64 = total.expect("a chunk").into_scalar::<f32>() as f64;
    nats / streams.targets() as f64 / std::f64::consts::LN_2
}

/// The n-gram model's bits per character on the same targets as
/// [`model_bits_per_char`] with `batch` streams, each predicted from the characters before it
/// in `ids`.
pub fn ngram_bits_per_char(ngram: &KneserNey, ids: &[usize], batch: usize) -> f64 {
    let streams = Streams::new(ids, batch, 1).expect("a block longer than the batch");
    ngram.bits_per_char(ids, streams.target_positions())
}

//! Helpers for the heads' tests: random token batches, one example out of a batch.

use burn::module::{ModuleMapper, Param};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rnn_tasks::PaddedTokens;

use crate::util::Rng;

/// `lengths.len()` random sequences of the given lengths over ids `lo..vocab`.
pub fn random_sequences(
    rng: &mut Rng,
    lengths: &[usize],
    lo: usize,
    vocab: usize,
) -> Vec<Vec<usize>> {
    lengths
        .iter()
        .map(|&len| (0..len).map(|_| rng.range(lo, vocab - 1)).collect())
        .collect()
}

/// `sequences` padded (with `pad`) into one batch, plus `extra` more padded steps.
pub fn padded(sequences: &[Vec<usize>], pad: usize, extra: usize, device: &Device) -> PaddedTokens {
    let mut longer = sequences.to_vec();
    longer[0].extend(std::iter::repeat_n(pad, extra));
    let mut batch = PaddedTokens::new(&longer, pad, device);
    batch.lengths[0] -= extra;
    batch
}

/// One sequence as a `[1, len]` batch.
pub fn single(sequence: &[usize], device: &Device) -> Tensor<2, Int> {
    let ids: Vec<i64> = sequence.iter().map(|&t| t as i64).collect();
    Tensor::from_data(TensorData::new(ids, [1, sequence.len()]), device)
}

/// Row `b` of a batch, keeping the batch dimension: `[batch, ..]` → `[1, ..]`.
pub fn row<const D: usize>(t: &Tensor<D>, b: usize) -> Tensor<D> {
    t.clone().narrow(0, b, 1)
}

/// Sets every float parameter of a module to values drawn from its own [`Rng`], uniform in
/// `[-scale, scale)`, in the module's visiting order: the same on every backend, and not
/// drawn from Burn's shared random generator, which other tests draw from at the same time.
pub struct Redraw(pub Rng, pub f32);

impl ModuleMapper for Redraw {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|tensor| self.0.tensor(tensor.dims(), &tensor.device()) * self.1)
    }
}

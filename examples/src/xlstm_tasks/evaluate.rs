//! Accuracy of a trained model on a test set: the fraction of targets whose most likely
//! class is the right one.

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::Device;
use rnn_tasks::SequenceEncoder;

use super::data::TaskBatcher;
use super::model::TaskModel;
use super::task::Example;

/// Examples per batch at test time.
const BATCH: usize = 64;

/// The fraction of `examples`' targets that `model` gets right (over all targets: one per
/// example for the formal languages, every query for MQAR).
pub fn accuracy<E: SequenceEncoder>(
    model: &TaskModel<E>,
    mut examples: Vec<Example>,
    device: &Device,
) -> f64 {
    // Batches of similar lengths: little padding, which the encoder would run over anyway.
    examples.sort_by_key(|e| e.tokens.len());
    let (mut correct, mut total) = (0usize, 0usize);
    for chunk in examples.chunks(BATCH) {
        let batch = TaskBatcher.batch(chunk.to_vec(), device);
        let targets = batch.targets.clone();
        let predicted = model.logits(&batch).argmax(1).squeeze_dim::<1>(1);
        total += targets.dims()[0];
        correct += predicted
            .equal(targets)
            .into_data()
            .iter::<bool>()
            .filter(|&hit| hit)
            .count();
    }
    correct as f64 / total.max(1) as f64
}

//! Synthetic data, drawn from a seed: a training set that draws new examples every epoch,
//! fixed validation and test sets, and batches of padded tokens with the flat positions of
//! their targets.

use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::data::dataset::DatasetError;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rnn_tasks::PaddedTokens;

use super::task::{Example, Task};

/// A training set of `len` examples that are drawn anew each time they are read: the `k`-th
/// read of item `i` is a function of the seed, `i` and `k` alone. Every epoch so sees fresh
/// examples (a model of these tasks should learn the rule, not a sample), and a run is
/// reproducible whatever order or thread the data loader reads the items in.
pub struct FreshDataset {
    task: Task,
    lengths: RangeInclusive<usize>,
    seed: u64,
    reads: Vec<AtomicU64>,
}

impl FreshDataset {
    /// `len` items of `task` with lengths drawn uniformly from `lengths`.
    pub fn new(task: Task, lengths: RangeInclusive<usize>, len: usize, seed: u64) -> Self {
        Self {
            task,
            lengths,
            seed,
            reads: (0..len).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Dataset<Example> for FreshDataset {
    /// # Panics
    /// If `index >= len()`, as [`Dataset::get`] allows.
    fn get(&self, index: usize) -> Result<Example, DatasetError> {
        let read = self.reads[index].fetch_add(1, Ordering::Relaxed);
        let mut rng = StdRng::seed_from_u64(mix(&[self.seed, index as u64, read]));
        let length = rng.random_range(self.lengths.clone());
        Ok(self.task.example(length, &mut rng))
    }

    fn len(&self) -> usize {
        self.reads.len()
    }
}

/// `count` examples of `task` with lengths drawn uniformly from `lengths`, the same for the
/// same `seed`.
pub fn examples(
    task: Task,
    lengths: RangeInclusive<usize>,
    count: usize,
    seed: u64,
) -> Vec<Example> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let length = rng.random_range(lengths.clone());
            task.example(length, &mut rng)
        })
        .collect()
}

/// A seed made of `parts` (SplitMix64's finaliser over each in turn), so that the seeds of
/// different purposes and items are unrelated.
pub fn mix(parts: &[u64]) -> u64 {
    parts.iter().fold(0x9e37_79b9_7f4a_7c15, |acc, &part| {
        let mut z = (acc ^ part).wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    })
}

/// Examples padded into tensors, with their targets.
#[derive(Debug, Clone)]
pub struct TaskBatch {
    /// `[batch, longest]` token ids, padded with id 0 (the model reads only the lengths).
    pub tokens: Tensor<2, Int>,
    /// Each example's number of tokens.
    pub lengths: Vec<usize>,
    /// `[targets]` flat positions `b * longest + t` of the targets, example by example.
    pub positions: Tensor<1, Int>,
    /// `[targets]` the classes to predict there.
    pub targets: Tensor<1, Int>,
}

/// Pads [`Example`]s into a [`TaskBatch`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TaskBatcher;

impl Batcher<Example, TaskBatch> for TaskBatcher {
    fn batch(&self, items: Vec<Example>, device: &Device) -> TaskBatch {
        let sequences: Vec<Vec<usize>> = items.iter().map(|e| e.tokens.clone()).collect();
        let padded = PaddedTokens::new(&sequences, 0, device);
        let longest = padded.tokens.dims()[1];
        let (mut positions, mut targets) = (Vec::new(), Vec::new());
        for (b, example) in items.iter().enumerate() {
            for &(t, class) in &example.targets {
                positions.push((b * longest + t) as i64);
                targets.push(class as i64);
            }
        }
        let n = positions.len();
        TaskBatch {
            tokens: padded.tokens,
            lengths: padded.lengths,
            positions: Tensor::from_data(TensorData::new(positions, [n]), device),
            targets: Tensor::from_data(TensorData::new(targets, [n]), device),
        }
    }
}

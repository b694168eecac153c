//! The translation model as a burn-train model: length-bucketed batches of padded source and
//! target ids, a [`Seq2Seq`] trained with teacher forcing, masked cross-entropy.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use burn::data::dataloader::batcher::Batcher;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use burn::train::{InferenceStep, SequenceOutput, TrainOutput, TrainStep};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rnn_tasks::{PaddedTokens, Seq2Seq, label_smoothed_cross_entropy};

use crate::text::Vocab;

/// A sentence pair as token ids, without `<s>` and `</s>`.
#[derive(Debug, Clone)]
pub struct TranslationItem {
    /// Source ids (at least one).
    pub source: Vec<usize>,
    /// Target ids.
    pub target: Vec<usize>,
}

/// A padded batch of pairs.
#[derive(Debug, Clone)]
pub struct TranslationBatch {
    /// `[batch, longest source]` ids, `<pad>` past each sentence.
    pub source: Tensor<2, Int>,
    /// Each source sentence's number of tokens.
    pub source_lengths: Vec<usize>,
    /// `[batch, longest target + 1]` decoder inputs: `<s>` then the target.
    pub target_in: Tensor<2, Int>,
    /// `[batch, longest target + 1]` what each step predicts: the target then `</s>`.
    pub target_out: Tensor<2, Int>,
    /// Each target's number of predicted tokens (its length + 1 for `</s>`).
    pub target_lengths: Vec<usize>,
}

/// Batches of `batch_size` pairs of similar source lengths (little padding), as
/// `translation_torch.py` makes its training batches: the pairs in a `seed`ed random order,
/// sorted by source length within windows of 50 batches, cut into batches, the batches in
/// random order (the script keeps validation in file order; for a per-token loss the order
/// does not matter). Returns each batch's indices into `items`. A new `seed` every epoch
/// draws new batches.
pub fn length_buckets(items: &[TranslationItem], batch_size: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.shuffle(&mut rng);
    let mut buckets: Vec<Vec<usize>> = Vec::new();
    for window in order.chunks_mut(batch_size.saturating_mul(50).max(1)) {
        window.sort_by_key(|&i| items[i].source.len());
        buckets.extend(window.chunks(batch_size.max(1)).map(<[_]>::to_vec));
    }
    buckets.shuffle(&mut rng);
    buckets
}

/// Pads a batch of [`TranslationItem`]s into a [`TranslationBatch`].
#[derive(Debug, Clone, Default)]
pub struct TranslationBatcher {
    word_dropout: Option<WordDropout>,
}

impl TranslationBatcher {
    /// A batcher for training: each source token and each decoder input token after `<s>`
    /// becomes `<unk>` with probability `probability` (word dropout, Gal & Ghahramani 2016;
    /// Sennrich & Zhang 2019), drawn afresh for every batch from a `seed`ed generator. The
    /// predicted tokens are left alone. Probability 0: no dropout.
    pub fn with_word_dropout(probability: f64, seed: u64) -> Self {
        Self {
            word_dropout: (probability > 0.0).then(|| WordDropout {
                probability,
                seed,
                batches: Arc::new(AtomicU64::new(0)),
            }),
        }
    }
}

/// Word dropout's probability and random state: batch `n` draws from `seed + n`.
#[derive(Debug, Clone)]
struct WordDropout {
    probability: f64,
    seed: u64,
    batches: Arc<AtomicU64>,
}

impl WordDropout {
    /// The generator of the next batch.
    fn next_batch(&self) -> StdRng {
        let n = self.batches.fetch_add(1, Ordering::Relaxed);
        StdRng::seed_from_u64(self.seed.wrapping_add(n))
    }

    /// `ids`, each replaced by `<unk>` with the dropout probability.
    fn apply(&self, rng: &mut StdRng, ids: &[usize]) -> Vec<usize> {
        ids.iter()
            .map(|&id| {
                if rng.random_bool(self.probability) {
                    Vocab::UNK
                } else {
                    id
                }
            })
            .collect()
    }
}

impl Batcher<TranslationItem, TranslationBatch> for TranslationBatcher {
    fn batch(&self, items: Vec<TranslationItem>, device: &Device) -> TranslationBatch {
        let mut dropout = self.word_dropout.as_ref().map(|d| (d, d.next_batch()));
        let mut noisy = |ids: &[usize]| match dropout.as_mut() {
            Some((dropout, rng)) => dropout.apply(rng, ids),
            None => ids.to_vec(),
        };
        let sources: Vec<Vec<usize>> = items.iter().map(|item| noisy(&item.source)).collect();
        let inputs: Vec<Vec<usize>> = items
            .iter()
            .map(|item| {
                std::iter::once(Vocab::BOS)
                    .chain(noisy(&item.target))
                    .collect()
            })
            .collect();
        let outputs: Vec<Vec<usize>> = items
            .iter()
            .map(|item| {
                item.target
                    .iter()
                    .copied()
                    .chain(std::iter::once(Vocab::EOS))
                    .collect()
            })
            .collect();
        let source = PaddedTokens::new(&sources, Vocab::PAD, device);
        let target_out = PaddedTokens::new(&outputs, Vocab::PAD, device);
        TranslationBatch {
            source: source.tokens,
            source_lengths: source.lengths,
            target_in: PaddedTokens::new(&inputs, Vocab::PAD, device).tokens,
            target_out: target_out.tokens,
            target_lengths: target_out.lengths,
        }
    }
}

/// The encoder–decoder under training.
#[derive(Module, Debug)]
pub struct TranslationModel {
    /// Embeddings, bidirectional encoder, attention, decoder, output layer.
    pub seq2seq: Seq2Seq,
    /// Label smoothing ε of the training loss (validation reports the plain cross-entropy).
    #[module(skip)]
    pub label_smoothing: f64,
}

impl TranslationModel {
    /// Teacher-forced logits `[batch, target, vocab]` and the mean cross-entropy over the
    /// valid target tokens, against targets smoothed by `smoothing`.
    pub fn teacher_forced(&self, batch: TranslationBatch, smoothing: f64) -> SequenceOutput {
        let logits = self
            .seq2seq
            .forward(batch.source, Some(&batch.source_lengths), batch.target_in)
            .logits;
        let loss = label_smoothed_cross_entropy(
            logits.clone(),
            batch.target_out.clone(),
            Some(&batch.target_lengths),
            smoothing,
        );
        SequenceOutput::new(loss, logits, None, batch.target_out)
    }
}

/// `output` with its mean loss over `tokens` target tokens as burn-train's loss metric
/// weighs it: `[tokens]` copies of it (a broadcast view), since the metric counts a loss
/// tensor's first dimension as its items. An epoch's loss is then the mean over its tokens,
/// as `translation_torch.py` computes its validation loss, not over its batches (buckets of
/// short sentences would weigh as much as buckets of long ones).
pub fn per_token(output: SequenceOutput, tokens: usize) -> SequenceOutput {
    SequenceOutput {
        loss: output.loss.expand([tokens]),
        ..output
    }
}

impl TrainStep for TranslationModel {
    type Input = TranslationBatch;
    type Output = SequenceOutput;

    fn step(&self, batch: TranslationBatch) -> TrainOutput<SequenceOutput> {
        let tokens = batch.target_lengths.iter().sum();
        let output = self.teacher_forced(batch, self.label_smoothing);
        let gradients = output.loss.backward();
        TrainOutput::new(self, gradients, per_token(output, tokens))
    }
}

impl InferenceStep for TranslationModel {
    type Input = TranslationBatch;
    type Output = SequenceOutput;

    fn step(&self, batch: TranslationBatch) -> SequenceOutput {
        let tokens = batch.target_lengths.iter().sum();
        per_token(self.teacher_forced(batch, 0.0), tokens)
    }
}

//! The sentiment classifier as a burn-train model: batches of padded token ids, a
//! [`SequenceClassifier`], cross-entropy.

use burn::data::dataloader::batcher::Batcher;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{Device, Int, Tensor, TensorData};
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use rnn_tasks::{PaddedTokens, SequenceClassifier};

use crate::text::Vocab;

/// A sentence as token ids, with its class.
#[derive(Debug, Clone)]
pub struct SentimentItem {
    /// Token ids (at least one).
    pub ids: Vec<usize>,
    /// Class index.
    pub label: usize,
}

/// A padded batch of sentences.
#[derive(Debug, Clone)]
pub struct SentimentBatch {
    /// `[batch, longest]` token ids, `<pad>` past each sentence.
    pub tokens: Tensor<2, Int>,
    /// Each sentence's number of tokens.
    pub lengths: Vec<usize>,
    /// `[batch]` class indices.
    pub labels: Tensor<1, Int>,
}

/// Pads [`SentimentItem`]s into a [`SentimentBatch`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SentimentBatcher;

impl Batcher<SentimentItem, SentimentBatch> for SentimentBatcher {
    fn batch(&self, items: Vec<SentimentItem>, device: &Device) -> SentimentBatch {
        let sequences: Vec<Vec<usize>> = items.iter().map(|item| item.ids.clone()).collect();
        let padded = PaddedTokens::new(&sequences, Vocab::PAD, device);
        let labels: Vec<i64> = items.iter().map(|item| item.label as i64).collect();
        SentimentBatch {
            tokens: padded.tokens,
            lengths: padded.lengths,
            labels: Tensor::from_data(TensorData::new(labels, [items.len()]), device),
        }
    }
}

/// The classifier under training.
#[derive(Module, Debug)]
pub struct SentimentModel {
    /// Embedding, bidirectional recurrent encoder, pooling, logits.
    pub classifier: SequenceClassifier,
}

impl SentimentModel {
    /// Logits `[batch, classes]` and mean cross-entropy of `batch`.
    pub fn classify(&self, batch: SentimentBatch) -> ClassificationOutput {
        let logits = self
            .classifier
            .forward(batch.tokens, Some(&batch.lengths))
            .logits;
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.labels.clone());
        ClassificationOutput::new(loss, logits, batch.labels)
    }
}

impl TrainStep for SentimentModel {
    type Input = SentimentBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: SentimentBatch) -> TrainOutput<ClassificationOutput> {
        let output = self.classify(batch);
        TrainOutput::new(self, output.loss.backward(), output)
    }
}

impl InferenceStep for SentimentModel {
    type Input = SentimentBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: SentimentBatch) -> ClassificationOutput {
        self.classify(batch)
    }
}

//! The model of every task: token embeddings (beside the previous token's, where the task
//! reads it), a stacked network of the cell under test, and a linear map to the classes at
//! every step, trained and scored at the target positions only.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Embedding, EmbeddingConfig};
use burn::tensor::{Device, Tensor};
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use rnn_tasks::{
    InputConfig, RecurrentConfig, RnnError, SequenceEncoder, SequenceTagger, SequenceTaggerConfig,
};

use super::data::TaskBatch;

/// Embeddings, encoder `E` and output layer.
#[derive(Module, Debug)]
pub struct TaskModel<E: SequenceEncoder> {
    /// Token embeddings.
    pub embedding: Embedding,
    /// The encoder and the linear map of its outputs to class logits.
    pub tagger: SequenceTagger<E>,
    /// Whether each step reads the previous token's embedding too (zeros before the first).
    #[module(skip)]
    pub reads_previous: bool,
}

impl<E: SequenceEncoder> TaskModel<E> {
    /// The model around `encoder`, which must read `embedding` features per step (twice that
    /// when `reads_previous`), for `vocab` token ids and `classes` classes.
    pub fn new(
        encoder: E,
        vocab: usize,
        embedding: usize,
        reads_previous: bool,
        classes: usize,
        device: &Device,
    ) -> Result<Self, RnnError> {
        let width = if reads_previous {
            2 * embedding
        } else {
            embedding
        };
        // The encoder is given; its config here is not used (see `init_with`).
        let config = SequenceTaggerConfig::new(
            InputConfig::features(width),
            RecurrentConfig::new(encoder.output_size()),
            classes,
        );
        Ok(Self {
            embedding: EmbeddingConfig::new(vocab, embedding).init(device),
            tagger: config.try_init_with(encoder, device)?,
            reads_previous,
        })
    }

    /// The logits `[targets, classes]` at `batch`'s target positions.
    pub fn logits(&self, batch: &TaskBatch) -> Tensor<2> {
        let x = self.embedding.forward(batch.tokens.clone());
        let [b, t, e] = x.dims();
        let x = if self.reads_previous {
            let zeros = Tensor::zeros([b, 1, e], &x.device());
            let previous = match t {
                1 => zeros,
                _ => Tensor::cat(vec![zeros, x.clone().narrow(1, 0, t - 1)], 1),
            };
            Tensor::cat(vec![x, previous], 2)
        } else {
            x
        };
        let y = self.tagger.forward(x, Some(&batch.lengths));
        let classes = y.dims()[2];
        y.reshape([b * t, classes])
            .select(0, batch.positions.clone())
    }

    /// Logits and mean cross-entropy at `batch`'s targets.
    pub fn classify(&self, batch: TaskBatch) -> ClassificationOutput {
        let logits = self.logits(&batch);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

impl<E: SequenceEncoder + 'static> TrainStep for TaskModel<E> {
    type Input = TaskBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: TaskBatch) -> TrainOutput<ClassificationOutput> {
        let output = self.classify(batch);
        TrainOutput::new(self, output.loss.backward(), output)
    }
}

impl<E: SequenceEncoder + 'static> InferenceStep for TaskModel<E> {
    type Input = TaskBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: TaskBatch) -> ClassificationOutput {
        self.classify(batch)
    }
}

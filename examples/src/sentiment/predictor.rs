//! A trained classifier with its vocabulary and classes: loading a training run's output and
//! predicting the label of sentences.

use std::path::Path;

use burn::tensor::Device;
use burn::tensor::activation::softmax;
use rnn_tasks::{PaddedTokens, SequenceClassifierConfig};

use super::corpus::encode;
use super::model::SentimentModel;
use crate::backend::Backend;
use crate::files::{check_saved_size, load_model, read_json};
use crate::text::Vocab;

/// One sentence's predicted class.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// The predicted label, as written in the training data.
    pub label: String,
    /// The model's probability of that label.
    pub probability: f32,
}

/// A trained classifier with its vocabulary, loaded from a training run's output directory.
pub struct SentimentPredictor {
    model: SentimentModel,
    vocab: Vocab,
    classes: Vec<String>,
    device: Device,
}

impl SentimentPredictor {
    /// Loads the model that [`train`](super::train()) wrote to `dir`. Fails when the
    /// vocabulary or the classes there do not have the sizes of the model's configuration
    /// (files of different runs mixed).
    pub fn load(dir: &Path, backend: Backend) -> Result<Self, String> {
        let device = backend.device();
        let (model, config) = load_model(dir, |config: &SequenceClassifierConfig| {
            Ok(SentimentModel {
                classifier: config.try_init(&device).map_err(|e| e.to_string())?,
            })
        })?;
        // A classifier of feature vectors has no vocabulary size: 0 tokens then.
        let vocab = Vocab::load_saved(
            dir,
            "vocab.json",
            "input.vocab_size",
            config.input.vocab_size.unwrap_or(0),
        )?;
        let classes: Vec<String> = read_json(&dir.join("classes.json"))?;
        check_saved_size(
            dir,
            "classes.json",
            "classes",
            classes.len(),
            "num_classes",
            config.num_classes,
        )?;
        Ok(Self {
            model,
            vocab,
            classes,
            device,
        })
    }

    /// The predicted label and its probability for each of `sentences`.
    pub fn predict(&self, sentences: &[String]) -> Vec<Prediction> {
        let sequences: Vec<Vec<usize>> = sentences.iter().map(|s| encode(&self.vocab, s)).collect();
        let batch = PaddedTokens::new(&sequences, Vocab::PAD, &self.device);
        let logits = self
            .model
            .classifier
            .forward(batch.tokens, Some(&batch.lengths))
            .logits;
        let probabilities = softmax(logits, 1);
        let n = self.classes.len();
        let values: Vec<f32> = probabilities.into_data().iter::<f32>().collect();
        values
            .chunks(n)
            .map(|row| {
                let (best, &p) = row
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .expect("at least one class");
                Prediction {
                    label: self.classes[best].clone(),
                    probability: p,
                }
            })
            .collect()
    }
}

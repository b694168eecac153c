//! Many-to-one: sentiment classification of review sentences with a bidirectional recurrent
//! classifier, trained with burn-train.
//!
//! Artifacts in the output directory: `model.bpk` (the best epoch's weights), `config.json`
//! (the classifier's configuration), `vocab.json`, `classes.json`, and burn-train's logs and
//! checkpoints under `training/`.

pub mod data;
pub mod model;

use std::path::{Path, PathBuf};
use std::time::Duration;

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::InMemDataset;
use burn::tensor::activation::softmax;
use rnn_tasks::{
    CellKind, InputConfig, PaddedTokens, Pooling, RecurrentConfig, SequenceClassifierConfig,
};

use crate::backend::Backend;
use crate::files::{check_saved_size, load_model, read_json, save_model, write_json};
use crate::split::{Split, split};
use crate::text::{Vocab, model_tokens};
use crate::training::{Monitor, TrainingPlan, fit};
use data::Example;
use model::{SentimentBatcher, SentimentItem, SentimentModel};

/// Accuracy of the AFINN lexicon scorer of the `sentiment` npm package on all 1,000 sentences
/// of each site (published with the data).
pub const AFINN_BASELINE: [(&str, f64); 3] = [("amazon", 0.726), ("imdb", 0.765), ("yelp", 0.696)];

/// The fraction of each (source, label) stratum held out for validation, and again for test.
const HELD_OUT: f64 = 0.1;
/// The fewest distinct sentences a stratum needs for [`HELD_OUT`] to hold out at least one for
/// validation and one for test: round(5 × 0.1) = 1, round(4 × 0.1) = 0.
const MIN_STRATUM: usize = 5;

/// Everything a training run needs.
#[derive(Debug, Clone)]
pub struct SentimentOptions {
    /// The labelled sentences (TSV, see [`data::parse`]).
    pub data: PathBuf,
    /// Where the model and its vocabulary are written.
    pub out: PathBuf,
    /// The backend.
    pub backend: Backend,
    /// A tiny subset and one epoch: proves the pipeline end to end in seconds.
    pub quick: bool,
    /// Seed of the split, the initial weights and the batch order.
    pub seed: u64,
    /// The most epochs.
    pub epochs: usize,
    /// Stop after this many epochs without a better validation accuracy.
    pub patience: usize,
    /// Recurrent cell.
    pub cell: CellKind,
    /// Hidden size of each direction.
    pub hidden: usize,
    /// Word embedding size.
    pub embedding: usize,
    /// How the encoder outputs are pooled.
    pub pooling: Pooling,
    /// Words seen fewer times in the training split are `<unk>`.
    pub min_frequency: usize,
    /// Dropout on embeddings and before the output layer.
    pub dropout: f64,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Sentences per batch.
    pub batch_size: usize,
}

impl Default for SentimentOptions {
    fn default() -> Self {
        Self {
            data: PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/data/sentiment/uci_sentiment_labelled_sentences.tsv"
            )),
            out: PathBuf::from("runs/sentiment"),
            backend: Backend::Ndarray,
            quick: false,
            seed: 42,
            epochs: 20,
            patience: 5,
            cell: CellKind::Lstm,
            hidden: 32,
            embedding: 64,
            pooling: Pooling::Max,
            min_frequency: 2,
            dropout: 0.3,
            learning_rate: 3e-3,
            batch_size: 32,
        }
    }
}

/// Accuracy on one part of the test split.
#[derive(Debug, Clone)]
pub struct GroupAccuracy {
    /// The source (`amazon`, ...), or `all`.
    pub group: String,
    /// Fraction of correct predictions.
    pub accuracy: f64,
    /// Number of test sentences.
    pub count: usize,
}

/// What a training run measured.
#[derive(Debug, Clone)]
pub struct SentimentReport {
    /// Sentences in the train, validation and test splits.
    pub sizes: [usize; 3],
    /// Vocabulary size (reserved tokens included).
    pub vocab_size: usize,
    /// Test accuracy overall (first) and per source.
    pub test: Vec<GroupAccuracy>,
    /// The epoch whose weights were kept, and the epochs run.
    pub best_epoch: usize,
    /// Epochs run.
    pub epochs_run: usize,
    /// Training wall time.
    pub train_time: Duration,
}

/// Trains a classifier on `options.data`, writes it to `options.out`, and measures it on the
/// held-out test split.
pub fn train(options: &SentimentOptions) -> Result<SentimentReport, String> {
    let examples = data::read(&options.data)?;
    let classes = data::classes(&examples);
    if classes.len() < 2 {
        return Err(format!(
            "--data {}: expected at least 2 distinct labels, got {classes:?}",
            options.data.display()
        ));
    }
    let parts = split_examples(examples, options)?;
    let vocab = Vocab::from_texts(
        parts.train.iter().map(|e| e.text.as_str()),
        options.min_frequency,
    );
    let items = |examples: &[Example]| -> Vec<SentimentItem> {
        examples
            .iter()
            .map(|e| SentimentItem {
                ids: encode(&vocab, &e.text),
                label: classes
                    .iter()
                    .position(|c| *c == e.label)
                    .expect("a known class"),
            })
            .collect()
    };

    let device = options.backend.device();
    // Parameters are created on the autodiff device, so burn-train can track their gradients.
    device.seed(options.seed);
    let config = SequenceClassifierConfig::new(
        InputConfig::tokens(vocab.len(), options.embedding),
        RecurrentConfig::new(options.hidden)
            .with_cell(options.cell)
            .with_bidirectional(true),
        classes.len(),
    )
    .with_pooling(options.pooling)
    .with_dropout(options.dropout);
    let model = SentimentModel {
        classifier: config
            .try_init(&device.clone().autodiff())
            .map_err(|e| e.to_string())?,
    };
    let loader = |items: Vec<SentimentItem>, shuffle: bool| {
        let builder = DataLoaderBuilder::new(SentimentBatcher).batch_size(options.batch_size);
        let builder = if shuffle {
            builder.shuffle(options.seed)
        } else {
            builder
        };
        builder.build(InMemDataset::new(items))
    };
    let plan = TrainingPlan {
        directory: options.out.join("training"),
        epochs: if options.quick { 1 } else { options.epochs },
        learning_rate: options.learning_rate,
        clip_norm: 1.0,
        monitor: Monitor::Accuracy,
        patience: options.patience,
        time_budget: None,
        pad_token: None,
    };
    let trained = fit(
        model,
        loader(items(&parts.train), true),
        loader(items(&parts.valid), false),
        &plan,
    )?;

    save_model(&options.out, trained.model.clone(), &config)?;
    vocab.save(&options.out.join("vocab.json"))?;
    write_json(&options.out.join("classes.json"), &classes)?;

    let test = test_accuracy(&trained.model, &parts.test, &items(&parts.test), &device);
    Ok(SentimentReport {
        sizes: [parts.train.len(), parts.valid.len(), parts.test.len()],
        vocab_size: vocab.len(),
        test,
        best_epoch: trained.best_epoch,
        epochs_run: trained.epochs_run,
        train_time: trained.elapsed,
    })
}

/// Splits the sentences of `options.data` 80/10/10 (seeded with `options.seed`), stratified by
/// source and label; repeated sentences (ignoring case) stay in one part. A `quick` run keeps
/// 200/50/50 of them. Fails, naming the file, when a part would be empty.
pub fn split_examples(
    examples: Vec<Example>,
    options: &SentimentOptions,
) -> Result<Split<Example>, String> {
    let mut parts = split(
        examples,
        HELD_OUT,
        HELD_OUT,
        options.seed,
        |e| (e.source.clone(), e.label.clone()),
        |e| e.text.to_lowercase(),
    )
    .map_err(|small| {
        let percent = HELD_OUT * 100.0;
        small.error(
            &options.data,
            &format!(
                "at least {MIN_STRATUM} distinct sentences with the same label (and source), so \
                 that {percent}% validation and {percent}% test hold out one or more each"
            ),
            &format!(
                "{} sentences, at most {} distinct with the same label (and source)",
                small.items, small.largest_stratum
            ),
        )
    })?;
    if options.quick {
        parts.train.truncate(200);
        parts.valid.truncate(50);
        parts.test.truncate(50);
    }
    Ok(parts)
}

/// Overall and per-source accuracy of `model` on `examples` (encoded as `items`).
fn test_accuracy(
    model: &SentimentModel,
    examples: &[Example],
    items: &[SentimentItem],
    device: &burn::tensor::Device,
) -> Vec<GroupAccuracy> {
    let mut correct = Vec::with_capacity(items.len());
    for chunk in items.chunks(128) {
        let batch = burn::data::dataloader::batcher::Batcher::batch(
            &SentimentBatcher,
            chunk.to_vec(),
            device,
        );
        let labels = batch.labels.clone();
        let predicted = model.classify(batch).output.argmax(1).squeeze_dim::<1>(1);
        correct.extend(predicted.equal(labels).into_data().iter::<bool>());
    }
    let accuracy = |keep: &dyn Fn(&Example) -> bool, group: String| {
        let hits: Vec<bool> = examples
            .iter()
            .zip(&correct)
            .filter(|(e, _)| keep(e))
            .map(|(_, &c)| c)
            .collect();
        GroupAccuracy {
            group,
            accuracy: hits.iter().filter(|&&c| c).count() as f64 / hits.len().max(1) as f64,
            count: hits.len(),
        }
    };
    let mut sources: Vec<String> = examples.iter().filter_map(|e| e.source.clone()).collect();
    sources.sort();
    sources.dedup();
    std::iter::once(accuracy(&|_| true, "all".into()))
        .chain(sources.into_iter().map(|s| {
            let source = s.clone();
            accuracy(
                &move |e: &Example| e.source.as_deref() == Some(source.as_str()),
                s,
            )
        }))
        .collect()
}

/// The token ids of `text`.
fn encode(vocab: &Vocab, text: &str) -> Vec<usize> {
    vocab.encode(&model_tokens(text))
}

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
    device: burn::tensor::Device,
}

impl SentimentPredictor {
    /// Loads the model that [`train`] wrote to `dir`. Fails when the vocabulary or the classes
    /// there do not have the sizes of the model's configuration (files of different runs
    /// mixed).
    pub fn load(dir: &Path, backend: Backend) -> Result<Self, String> {
        let device = backend.device();
        let (model, config) = load_model(dir, |config: &SequenceClassifierConfig| {
            Ok(SentimentModel {
                classifier: config.try_init(&device).map_err(|e| e.to_string())?,
            })
        })?;
        let vocab = Vocab::load(&dir.join("vocab.json"))?;
        let classes: Vec<String> = read_json(&dir.join("classes.json"))?;
        // A classifier of feature vectors has no vocabulary size: 0 tokens then.
        check_saved_size(
            dir,
            "vocab.json",
            "tokens",
            vocab.len(),
            "input.vocab_size",
            config.input.vocab_size.unwrap_or(0),
        )?;
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

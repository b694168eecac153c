//! Sequence to sequence: German to English translation with an attentional encoder–decoder,
//! trained with burn-train and teacher forcing, decoded greedily and with beam search, scored
//! with corpus BLEU ([`crate::bleu`]).
//!
//! Artifacts in the output directory: `model.bpk` (the best epoch's weights), `config.json`,
//! `source_vocab.json`, `target_vocab.json`, the BPE merges `source_bpe.json` and
//! `target_bpe.json` (`{"merges": null}` for whole words), and burn-train's logs and checkpoints under
//! `training/`.

pub mod data;
pub mod model;
pub mod segmenter;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::InMemDataset;
use burn::tensor::Device;
use rnn_tasks::{
    AttentionKind, BeamSearchConfig, CellKind, DecodeConfig, Decoded, PaddedTokens,
    RecurrentConfig, Seq2Seq, Seq2SeqConfig,
};

use crate::backend::Backend;
use crate::bleu::corpus_bleu;
use crate::files::{check_saved_size, load_model, save_model};
use crate::heatmap::{attention_heatmap, require_font};
use crate::split::{Split, split};
use crate::text::{Vocab, detokenize, tokenize};
use crate::training::{Monitor, TrainingPlan, fit};
use data::Pair;
use model::{TranslationBatcher, TranslationItem, TranslationModel, length_buckets};
use segmenter::Segmenter;

/// Everything a training run needs.
#[derive(Debug, Clone)]
pub struct TranslationOptions {
    /// The sentence pairs (TSV, see [`data::parse`]).
    pub data: PathBuf,
    /// Where the model, vocabularies and heatmaps are written.
    pub out: PathBuf,
    /// The backend.
    pub backend: Backend,
    /// A tiny subset, one epoch, short decoding: proves the pipeline end to end quickly.
    pub quick: bool,
    /// Seed of the split, the initial weights and the batch order.
    pub seed: u64,
    /// Pairs held out for the test set.
    pub test_size: usize,
    /// Pairs held out for validation (early stopping, best epoch).
    pub valid_size: usize,
    /// The most epochs.
    pub epochs: usize,
    /// Stop after this many epochs without a lower validation loss.
    pub patience: usize,
    /// Stop before an epoch that would end after this much training time.
    pub time_budget: Option<Duration>,
    /// Recurrent cell of encoder and decoder.
    pub cell: CellKind,
    /// The attention score.
    pub attention: AttentionKind,
    /// Luong's input feeding (slower: the decoder then steps one token at a time in training).
    pub input_feeding: bool,
    /// Hidden size of each encoder direction; the decoder has twice as many units.
    pub hidden: usize,
    /// Embedding size.
    pub embedding: usize,
    /// BPE merges learnt per language from the training split (0: whole words).
    pub bpe_merges: usize,
    /// Tokens (words or subwords) seen fewer times in the training split are `<unk>`.
    pub min_frequency: usize,
    /// Dropout on embeddings and before the output layer.
    pub dropout: f64,
    /// Probability that a training token (source, or decoder input) is read as `<unk>`.
    pub word_dropout: f64,
    /// Whether the output layer's weights are the target embedding's.
    pub tie_embeddings: bool,
    /// Label smoothing ε of the training loss.
    pub label_smoothing: f64,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Pairs per batch.
    pub batch_size: usize,
    /// Beam width of the beam-search evaluation.
    pub beam_size: usize,
    /// Attention heatmaps written for the first test sentences.
    pub heatmaps: usize,
}

impl Default for TranslationOptions {
    fn default() -> Self {
        Self {
            data: PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/data/translation/ding_de_en_sentences.tsv"
            )),
            out: PathBuf::from("runs/translation"),
            backend: Backend::Ndarray,
            quick: false,
            seed: 42,
            test_size: 800,
            valid_size: 400,
            epochs: 100,
            patience: 5,
            time_budget: Some(Duration::from_secs(30 * 60)),
            cell: CellKind::Lstm,
            attention: AttentionKind::LuongGeneral,
            input_feeding: false,
            hidden: 128,
            embedding: 128,
            bpe_merges: 1500,
            min_frequency: 2,
            dropout: 0.3,
            word_dropout: 0.0,
            tie_embeddings: false,
            label_smoothing: 0.1,
            learning_rate: 2e-3,
            batch_size: 64,
            beam_size: 5,
            heatmaps: 4,
        }
    }
}

/// BLEU of one decoding method on the test set.
#[derive(Debug, Clone)]
pub struct DecodeScore {
    /// `greedy` or `beam N`.
    pub method: String,
    /// Corpus BLEU, 0–100, of the translations with `<unk>` replaced.
    pub bleu: f64,
    /// Corpus BLEU of the translations as generated (`<unk>` counts as a wrong word).
    pub bleu_raw: f64,
    /// Decoding time of the whole test set.
    pub time: Duration,
}

/// What a training run measured.
#[derive(Debug, Clone)]
pub struct TranslationReport {
    /// Pairs in the train, validation and test splits.
    pub sizes: [usize; 3],
    /// Source and target vocabulary sizes.
    pub vocab_sizes: [usize; 2],
    /// Test BLEU, sample translations and heatmaps.
    pub evaluation: Evaluation,
    /// The epoch whose weights were kept.
    pub best_epoch: usize,
    /// Epochs run.
    pub epochs_run: usize,
    /// Training wall time.
    pub train_time: Duration,
}

/// Trains a translation model on `options.data`, writes it to `options.out`, and measures
/// test BLEU of greedy decoding and beam search.
pub fn train(options: &TranslationOptions) -> Result<TranslationReport, String> {
    require_heatmap_font(options)?;
    let parts = split_pairs(options)?;
    let (source_segmenter, source_vocab) = learn_tokens(&parts.train, |p| &p.source, options);
    let (target_segmenter, target_vocab) = learn_tokens(&parts.train, |p| &p.target, options);
    let items = |pairs: &[Pair]| -> Vec<TranslationItem> {
        pairs
            .iter()
            .map(|p| TranslationItem {
                source: source_vocab.encode(&source_segmenter.tokens(&p.source)),
                target: target_vocab.encode(&target_segmenter.tokens(&p.target)),
            })
            .collect()
    };

    let device = options.backend.device();
    // Parameters are created on the autodiff device, so burn-train can track their gradients.
    device.seed(options.seed);
    let config = model_config(options, source_vocab.len(), target_vocab.len());
    let model = TranslationModel {
        seq2seq: config
            .try_init(&device.clone().autodiff())
            .map_err(|e| e.to_string())?,
        label_smoothing: options.label_smoothing,
    };
    let loader = |items: Vec<TranslationItem>, train: bool| {
        let builder = if train {
            DataLoaderBuilder::new(TranslationBatcher::with_word_dropout(
                options.word_dropout,
                options.seed,
            ))
            .shuffle(options.seed)
        } else {
            DataLoaderBuilder::new(TranslationBatcher::default())
        }
        .batch_size(1);
        builder.build(InMemDataset::new(length_buckets(
            items,
            options.batch_size,
            options.seed,
        )))
    };
    let plan = TrainingPlan {
        directory: options.out.join("training"),
        epochs: if options.quick { 1 } else { options.epochs },
        learning_rate: options.learning_rate,
        clip_norm: 1.0,
        monitor: Monitor::Loss,
        patience: options.patience,
        time_budget: options.time_budget,
        pad_token: Some(Vocab::PAD),
    };
    let trained = fit(
        model,
        loader(items(&parts.train), true),
        loader(items(&parts.valid), false),
        &plan,
    )?;

    save_model(&options.out, trained.model.clone(), &config)?;
    source_vocab.save(&options.out.join("source_vocab.json"))?;
    target_vocab.save(&options.out.join("target_vocab.json"))?;
    source_segmenter.save(&options.out.join("source_bpe.json"))?;
    target_segmenter.save(&options.out.join("target_bpe.json"))?;

    let translator = Translator {
        model: trained.model.seq2seq,
        source_segmenter,
        target_segmenter,
        source_vocab,
        target_vocab,
        device,
    };
    let evaluation = evaluate(&translator, &parts.test, options)?;
    Ok(TranslationReport {
        sizes: [parts.train.len(), parts.valid.len(), parts.test.len()],
        vocab_sizes: [translator.source_vocab.len(), translator.target_vocab.len()],
        evaluation,
        best_epoch: trained.best_epoch,
        epochs_run: trained.epochs_run,
        train_time: trained.elapsed,
    })
}

/// One language's tokens, learnt from the training pairs' `side`: the segmenter (BPE merges)
/// and the vocabulary of the tokens it makes.
fn learn_tokens(
    train: &[Pair],
    side: fn(&Pair) -> &str,
    options: &TranslationOptions,
) -> (Segmenter, Vocab) {
    let segmenter = Segmenter::learn(train.iter().map(side), options.bpe_merges);
    let sentences: Vec<Vec<String>> = train.iter().map(|p| segmenter.tokens(side(p))).collect();
    let vocab = Vocab::build(sentences.iter().map(Vec::as_slice), options.min_frequency);
    (segmenter, vocab)
}

/// Writes the split and the tokens that [`train`] with the same options uses to `dir`, to
/// train the same model with another framework (`examples/scripts/translation_torch.py`):
/// for each part (`train`, `valid`, `test`), `PART.src` and `PART.tgt` hold the model tokens
/// (subwords) of each sentence, and `PART.ref` the target's words as BLEU reads them
/// ([`tokenize`]); space-separated, one sentence a line. Returns the parts' sizes.
pub fn export_split(options: &TranslationOptions, dir: &Path) -> Result<[usize; 3], String> {
    let parts = split_pairs(options)?;
    let (source_segmenter, _) = learn_tokens(&parts.train, |p| &p.source, options);
    let (target_segmenter, _) = learn_tokens(&parts.train, |p| &p.target, options);
    std::fs::create_dir_all(dir).map_err(|e| format!("--out {}: {e}", dir.display()))?;
    let write = |name: String, lines: Vec<Vec<String>>| {
        let text: String = lines.iter().map(|l| l.join(" ") + "\n").collect();
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
    };
    for (name, pairs) in [
        ("train", &parts.train),
        ("valid", &parts.valid),
        ("test", &parts.test),
    ] {
        let lines = |f: &dyn Fn(&Pair) -> Vec<String>| pairs.iter().map(f).collect();
        write(
            format!("{name}.src"),
            lines(&|p| source_segmenter.tokens(&p.source)),
        )?;
        write(
            format!("{name}.tgt"),
            lines(&|p| target_segmenter.tokens(&p.target)),
        )?;
        write(format!("{name}.ref"), lines(&|p| tokenize(&p.target)))?;
    }
    Ok([parts.train.len(), parts.valid.len(), parts.test.len()])
}

/// Reads `options.data` and splits it (seeded): the same options give the same test set, so a
/// saved model can be evaluated again ([`evaluate_saved`]). A `quick` run keeps 256 training,
/// 32 validation and 16 test pairs. Fails, naming the file, when a part would be empty.
pub fn split_pairs(options: &TranslationOptions) -> Result<Split<Pair>, String> {
    let pairs = data::read(&options.data)?;
    let n = pairs.len() as f64;
    // Pairs with the same source sentence stay in one part, so no test sentence was trained on.
    let mut parts = split(
        pairs,
        options.valid_size as f64 / n,
        options.test_size as f64 / n,
        options.seed,
        |_| (),
        |p: &Pair| p.source.to_lowercase(),
    )
    .map_err(|small| {
        small.error(
            &options.data,
            &format!(
                "at least {} pairs with distinct source sentences ({} test, {} validation, the \
                 rest training)",
                options.test_size + options.valid_size + 1,
                options.test_size,
                options.valid_size
            ),
            &format!(
                "{} pairs, {} distinct source sentences",
                small.items, small.groups
            ),
        )
    })?;
    if options.quick {
        parts.train.truncate(256);
        parts.valid.truncate(32);
        parts.test.truncate(16);
    }
    Ok(parts)
}

/// What [`evaluate`] measured on a test set.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Test BLEU of greedy decoding and of beam search.
    pub scores: Vec<DecodeScore>,
    /// A few test sentences: source, reference, beam-search translation.
    pub samples: Vec<[String; 3]>,
    /// The heatmap images written (`options.out/attention-N.png`).
    pub heatmaps: Vec<PathBuf>,
}

/// Translates the `test` pairs greedily and with beam search, scores both with corpus BLEU,
/// and writes the attention heatmaps of the first `options.heatmaps` beam-search translations.
pub fn evaluate(
    translator: &Translator,
    test: &[Pair],
    options: &TranslationOptions,
) -> Result<Evaluation, String> {
    let sources: Vec<String> = test.iter().map(|p| p.source.clone()).collect();
    let references: Vec<Vec<String>> = test.iter().map(|p| tokenize(&p.target)).collect();
    let max_length = if options.quick { 8 } else { 60 };
    let mut scores = Vec::new();
    let mut beam_output = Vec::new();
    for beam in [None, Some(options.beam_size)] {
        let start = Instant::now();
        let translations = translator.translate(&sources, beam, max_length);
        let time = start.elapsed();
        let bleu = |text: fn(&Translation) -> &str| {
            let hypotheses: Vec<Vec<String>> =
                translations.iter().map(|t| tokenize(text(t))).collect();
            corpus_bleu(&hypotheses, &references)
        };
        scores.push(DecodeScore {
            method: beam.map_or("greedy".to_string(), |b| format!("beam {b}")),
            bleu: bleu(|t| &t.text),
            bleu_raw: bleu(|t| &t.raw_text),
            time,
        });
        beam_output = translations;
    }
    let samples = test
        .iter()
        .zip(&beam_output)
        .take(5)
        .map(|(p, t)| [p.source.clone(), p.target.clone(), t.text.clone()])
        .collect();
    let mut heatmaps = Vec::new();
    for (i, translation) in beam_output.iter().take(options.heatmaps).enumerate() {
        let path = options.out.join(format!("attention-{i}.png"));
        translation.write_heatmap(&path)?;
        heatmaps.push(path);
    }
    Ok(Evaluation {
        scores,
        samples,
        heatmaps,
    })
}

/// Evaluates the model saved in `model` on the test split that [`train`] with the same
/// `options` (data, seed, sizes) held out.
pub fn evaluate_saved(options: &TranslationOptions, model: &Path) -> Result<Evaluation, String> {
    require_heatmap_font(options)?;
    let translator = Translator::load(model, options.backend)?;
    let parts = split_pairs(options)?;
    std::fs::create_dir_all(&options.out)
        .map_err(|e| format!("--out {}: {e}", options.out.display()))?;
    evaluate(&translator, &parts.test, options)
}

/// Fails at once when [`evaluate`] is to write heatmaps and has no font for their labels,
/// rather than after hours of training or minutes of decoding whose BLEU would be lost.
fn require_heatmap_font(options: &TranslationOptions) -> Result<(), String> {
    if options.heatmaps > 0 {
        require_font()?;
    }
    Ok(())
}

/// The model configuration of `options`: a bidirectional encoder of `hidden` units per
/// direction, a decoder of `2 * hidden` units, attention over the encoder outputs.
fn model_config(
    options: &TranslationOptions,
    source_vocab: usize,
    target_vocab: usize,
) -> Seq2SeqConfig {
    Seq2SeqConfig::new(
        source_vocab,
        target_vocab,
        RecurrentConfig::new(options.hidden)
            .with_cell(options.cell)
            .with_bidirectional(true),
        RecurrentConfig::new(2 * options.hidden).with_cell(options.cell),
    )
    .with_embedding_size(options.embedding)
    .with_attention(options.attention)
    .with_input_feeding(options.input_feeding)
    .with_dropout(options.dropout)
    .with_tie_embeddings(options.tie_embeddings)
}

/// One sentence translated.
#[derive(Debug, Clone)]
pub struct Translation {
    /// The source tokens, words or subwords (those outside the vocabulary were read as
    /// `<unk>`).
    pub source_tokens: Vec<String>,
    /// The generated tokens, `</s>` included when generated.
    pub target_tokens: Vec<String>,
    /// The translation, detokenised, each `<unk>` replaced by the source token it attends to
    /// most when that is a word (letters or digits), not punctuation.
    pub text: String,
    /// The translation as generated, `<unk>` included.
    pub raw_text: String,
    /// `attention[t][s]`: the attention of target token `t` on source token `s`.
    pub attention: Vec<Vec<f32>>,
}

impl Translation {
    /// Writes the attention heatmap of this translation as a PNG image.
    pub fn write_heatmap(&self, path: &Path) -> Result<(), String> {
        attention_heatmap(
            path,
            &self.source_tokens,
            &self.target_tokens,
            &self.attention,
        )
    }
}

/// A trained model with its vocabularies, loaded from a training run's output directory.
pub struct Translator {
    model: Seq2Seq,
    source_segmenter: Segmenter,
    target_segmenter: Segmenter,
    source_vocab: Vocab,
    target_vocab: Vocab,
    device: Device,
}

impl Translator {
    /// Loads the model that [`train`] wrote to `dir`. Fails when the vocabularies there do not
    /// have the sizes of the model's configuration (files of different runs mixed).
    pub fn load(dir: &Path, backend: Backend) -> Result<Self, String> {
        let device = backend.device();
        let (model, config) = load_model(dir, |config: &Seq2SeqConfig| {
            Ok(TranslationModel {
                seq2seq: config.try_init(&device).map_err(|e| e.to_string())?,
                label_smoothing: 0.0,
            })
        })?;
        let source_vocab = Vocab::load(&dir.join("source_vocab.json"))?;
        let target_vocab = Vocab::load(&dir.join("target_vocab.json"))?;
        check_saved_size(
            dir,
            "source_vocab.json",
            "tokens",
            source_vocab.len(),
            "source_vocab_size",
            config.source_vocab_size,
        )?;
        check_saved_size(
            dir,
            "target_vocab.json",
            "tokens",
            target_vocab.len(),
            "target_vocab_size",
            config.target_vocab_size,
        )?;
        Ok(Self {
            model: model.seq2seq,
            source_segmenter: Segmenter::load(&dir.join("source_bpe.json"))?,
            target_segmenter: Segmenter::load(&dir.join("target_bpe.json"))?,
            source_vocab,
            target_vocab,
            device,
        })
    }

    /// Translates `sentences` (in batches of 64) greedily (`beam: None`) or with beam search
    /// of width `beam`, generating at most `max_length` tokens each.
    pub fn translate(
        &self,
        sentences: &[String],
        beam: Option<usize>,
        max_length: usize,
    ) -> Vec<Translation> {
        let decode = DecodeConfig::new(Vocab::BOS, Vocab::EOS, max_length);
        let mut translations = Vec::with_capacity(sentences.len());
        for chunk in sentences.chunks(64) {
            let words: Vec<Vec<String>> = chunk
                .iter()
                .map(|s| self.source_segmenter.tokens(s))
                .collect();
            let sources: Vec<Vec<usize>> =
                words.iter().map(|w| self.source_vocab.encode(w)).collect();
            let batch = PaddedTokens::new(&sources, Vocab::PAD, &self.device);
            let decoded = match beam {
                None => self
                    .model
                    .greedy(batch.tokens, Some(&batch.lengths), &decode),
                Some(width) => self.model.beam_search(
                    batch.tokens,
                    Some(&batch.lengths),
                    &decode,
                    &BeamSearchConfig::new(width),
                ),
            };
            translations.extend(self.read_decoded(words, decoded));
        }
        translations
    }

    fn read_decoded(&self, sources: Vec<Vec<String>>, decoded: Decoded) -> Vec<Translation> {
        let [_, steps, longest] = decoded.attention.dims();
        let attention: Vec<f32> = decoded.attention.into_data().iter::<f32>().collect();
        sources
            .into_iter()
            .zip(&decoded.tokens)
            .enumerate()
            .map(|(b, (source, ids))| {
                let rows: Vec<Vec<f32>> = (0..ids.len())
                    .map(|t| {
                        let row = (b * steps + t) * longest;
                        attention[row..row + source.len()].to_vec()
                    })
                    .collect();
                // `<unk>` becomes the source word it attends to most (Luong et al. 2015), so
                // names and numbers outside the vocabulary come through; not punctuation.
                let words: Vec<String> = ids
                    .iter()
                    .zip(&rows)
                    .take_while(|&(&id, _)| id != Vocab::EOS)
                    .filter(|&(&id, _)| id != Vocab::PAD && id != Vocab::BOS)
                    .map(|(&id, row)| match id {
                        Vocab::UNK if is_word(&source[argmax(row)]) => source[argmax(row)].clone(),
                        id => self.target_vocab.token(id).to_string(),
                    })
                    .collect();
                Translation {
                    target_tokens: ids
                        .iter()
                        .map(|&id| self.target_vocab.token(id).to_string())
                        .collect(),
                    text: detokenize(&self.target_segmenter.words(&words)),
                    raw_text: detokenize(
                        &self.target_segmenter.words(&self.target_vocab.decode(ids)),
                    ),
                    source_tokens: source,
                    attention: rows,
                }
            })
            .collect()
    }
}

/// The index of the largest of `values`.
fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}

/// Whether `token` has a letter or digit (a word or number, not punctuation).
fn is_word(token: &str) -> bool {
    token.chars().any(char::is_alphanumeric)
}

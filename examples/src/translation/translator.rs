//! A trained translation model with its vocabularies and segmenters: loading a training run's
//! output, translating sentences greedily or with beam search, reading the decoded ids back
//! as text (with `<unk>` replaced) and the attention as a heatmap.

use std::path::Path;

use burn::tensor::Device;
use rnn_tasks::{BeamSearchConfig, DecodeConfig, Decoded, PaddedTokens, Seq2Seq, Seq2SeqConfig};

use super::model::TranslationModel;
use super::segmenter::Segmenter;
use crate::backend::Backend;
use crate::files::load_model;
use crate::heatmap::attention_heatmap;
use crate::text::{Vocab, detokenize};

/// Sentences [`Translator::translate`] decodes at once.
pub const TRANSLATION_BATCH: usize = 64;

/// The decoder steps greedy decoding ran to produce `translations` (in the order
/// [`Translator::translate`] returned them): each batch of [`TRANSLATION_BATCH`] decodes until
/// its longest translation ends, so as many steps as that translation has tokens.
pub fn greedy_steps(translations: &[Translation]) -> usize {
    translations
        .chunks(TRANSLATION_BATCH)
        .map(|batch| {
            batch
                .iter()
                .map(|t| t.target_tokens.len())
                .max()
                .unwrap_or(0)
        })
        .sum()
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
    pub(super) model: Seq2Seq,
    pub(super) source_segmenter: Segmenter,
    pub(super) target_segmenter: Segmenter,
    pub(super) source_vocab: Vocab,
    pub(super) target_vocab: Vocab,
    pub(super) device: Device,
}

impl Translator {
    /// Loads the model that [`train`](super::train()) wrote to `dir`. Fails when the
    /// vocabularies there do not have the sizes of the model's configuration (files of
    /// different runs mixed).
    pub fn load(dir: &Path, backend: Backend) -> Result<Self, String> {
        let device = backend.device();
        let (model, config) = load_model(dir, |config: &Seq2SeqConfig| {
            Ok(TranslationModel {
                seq2seq: config.try_init(&device).map_err(|e| e.to_string())?,
                label_smoothing: 0.0,
            })
        })?;
        let source_vocab = Vocab::load_saved(
            dir,
            "source_vocab.json",
            "source_vocab_size",
            config.source_vocab_size,
        )?;
        let target_vocab = Vocab::load_saved(
            dir,
            "target_vocab.json",
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

    /// Translates `sentences` (in batches of [`TRANSLATION_BATCH`]) greedily (`beam: None`)
    /// or with beam search of width `beam`, generating at most `max_length` tokens each.
    pub fn translate(
        &self,
        sentences: &[String],
        beam: Option<usize>,
        max_length: usize,
    ) -> Vec<Translation> {
        let decode = DecodeConfig::new(Vocab::BOS, Vocab::EOS, max_length);
        let mut translations = Vec::with_capacity(sentences.len());
        for chunk in sentences.chunks(TRANSLATION_BATCH) {
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
                    .map(|(&id, row)| {
                        let replacement = (id == Vocab::UNK)
                            .then(|| unk_replacement(&source, row))
                            .flatten();
                        replacement.unwrap_or_else(|| self.target_vocab.token(id).to_string())
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

/// What an `<unk>` whose attention over the `source` tokens is `row` becomes: the source token
/// it attends to most, when that is a word, without a subword's continuation mark (which
/// would join it to the next target word: `mann@@` then `plays` read "mannplays").
fn unk_replacement(source: &[String], row: &[f32]) -> Option<String> {
    let token = &source[argmax(row)];
    is_word(token).then(|| token.trim_end_matches(crate::bpe::CONTINUATION).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translation(tokens: usize) -> Translation {
        Translation {
            source_tokens: vec!["x".into()],
            target_tokens: vec!["y".into(); tokens],
            text: String::new(),
            raw_text: String::new(),
            attention: vec![vec![1.0]; tokens],
        }
    }

    #[test]
    fn unk_becomes_the_source_word_attended_to_most_without_a_continuation_mark() {
        let source: Vec<String> = ["Der", "Mann@@", "schaft", "."].map(String::from).into();
        assert_eq!(
            unk_replacement(&source, &[0.1, 0.6, 0.2, 0.1]).as_deref(),
            Some("Mann")
        );
        assert_eq!(
            unk_replacement(&source, &[0.1, 0.1, 0.7, 0.1]).as_deref(),
            Some("schaft")
        );
        assert_eq!(unk_replacement(&source, &[0.1, 0.1, 0.1, 0.7]), None);
    }

    #[test]
    fn greedy_steps_count_each_batch_up_to_its_longest_translation() {
        // Two full batches and a partial one: the longest of each is 7, 3 and 5 tokens.
        let lengths = (0..2 * TRANSLATION_BATCH + 10).map(|i| match i {
            5 => 7,
            i if i == TRANSLATION_BATCH => 3,
            i if i >= 2 * TRANSLATION_BATCH => 1 + i % 5,
            _ => 2,
        });
        let translations: Vec<Translation> = lengths.map(translation).collect();
        assert_eq!(greedy_steps(&translations), 7 + 3 + 5);
        assert_eq!(greedy_steps(&[]), 0);
    }
}

//! Test BLEU of a translator: greedy decoding and beam search scored on the held-out pairs,
//! sample translations, attention heatmaps.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::corpus::{held_out, split_pairs};
use super::data::Pair;
use super::options::TranslationOptions;
use super::translator::{Translation, Translator, greedy_steps};
use crate::bleu::{corpus_bleu, sacre_bleu};
use crate::heatmap::require_font;
use crate::held_out::HeldOut;
use crate::text::{bleu_words, tokenize};

/// BLEU of one decoding method on the test set.
#[derive(Debug, Clone)]
pub struct DecodeScore {
    /// `greedy` or `beam N`.
    pub method: String,
    /// Corpus BLEU, 0–100, of the translations with `<unk>` replaced.
    pub bleu: f64,
    /// Corpus BLEU of the translations as generated (`<unk>` counts as a wrong word).
    pub bleu_raw: f64,
    /// sacreBLEU's corpus BLEU of the translations with `<unk>` replaced, against the raw
    /// references ([`sacre_bleu`]: `nrefs:1|case:lc|eff:no|tok:13a|smooth:exp`), the figure
    /// to compare with published ones.
    pub sacre_bleu: f64,
    /// Decoding time of the whole test set.
    pub time: Duration,
    /// Greedy decoding only: the decoder steps it ran ([`greedy_steps`]), to compare the
    /// time per step with another framework's decoder whose sentences end at other steps.
    pub steps: Option<usize>,
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
    let raw_references: Vec<&str> = test.iter().map(|p| p.target.as_str()).collect();
    let mut scores = Vec::new();
    let mut beam_output = Vec::new();
    for beam in [None, Some(options.beam_size)] {
        let start = Instant::now();
        let translations = translator.translate(&sources, beam, max_length);
        let time = start.elapsed();
        let bleu = |text: fn(&Translation) -> &str| {
            let hypotheses: Vec<Vec<String>> =
                translations.iter().map(|t| bleu_words(text(t))).collect();
            corpus_bleu(&hypotheses, &references)
        };
        scores.push(DecodeScore {
            method: beam.map_or("greedy".to_string(), |b| format!("beam {b}")),
            bleu: bleu(|t| &t.text),
            bleu_raw: bleu(|t| &t.raw_text),
            sacre_bleu: sacre_bleu(
                &translations
                    .iter()
                    .map(|t| t.text.as_str())
                    .collect::<Vec<_>>(),
                &raw_references,
            ),
            time,
            steps: beam.is_none().then(|| greedy_steps(&translations)),
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

/// Evaluates the model saved in `model` on the test split that its training
/// ([`train`](super::train())) held out: drawn from `options.data` with `seed`, or where `None`
/// the training run's seed saved with the model, and checked against the training run's
/// ([`HeldOut::redraw`]; `options.quick` scores a quick part of it): an error, naming the
/// options, where it is another (another file or seed: it would score pairs the model trained
/// on).
pub fn evaluate_saved(
    options: &TranslationOptions,
    seed: Option<u64>,
    model: &Path,
) -> Result<Evaluation, String> {
    require_heatmap_font(options)?;
    let translator = Translator::load(model, options.backend)?;
    let (test, options) = HeldOut::redraw(model, seed, options, |options| {
        let test = split_pairs(options)?.test;
        let record = held_out(options, &test);
        Ok((test, record))
    })?;
    std::fs::create_dir_all(&options.out)
        .map_err(|e| format!("--out {}: {e}", options.out.display()))?;
    evaluate(&translator, &test, &options)
}

/// Fails at once when [`evaluate`] is to write heatmaps and has no font for their labels,
/// rather than after hours of training or minutes of decoding whose BLEU would be lost.
pub(super) fn require_heatmap_font(options: &TranslationOptions) -> Result<(), String> {
    if options.heatmaps > 0 {
        require_font()?;
    }
    Ok(())
}

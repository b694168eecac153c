//! `translation export`: the split and the tokens of a run, written as text for another
//! framework.

use std::path::Path;

use super::corpus::{learn_tokens, split_pairs};
use super::data::Pair;
use super::options::TranslationOptions;
use crate::text::tokenize;

/// Writes the split and the tokens that [`train`](super::train()) with the same options uses
/// to `dir`, to train the same model with another framework
/// (`examples/scripts/translation_torch.py`):
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

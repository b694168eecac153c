//! The seeded split as token ids, to train the same classifier with another framework
//! (`examples/scripts/sentiment_torch.py`).

use std::path::Path;

use super::corpus::Corpus;
use super::options::SentimentOptions;
use crate::files::write_json;

/// Writes `train.tsv`, `valid.tsv` and `test.tsv` (one sentence per line: its class index, a
/// tab, its token ids separated by spaces) and `meta.json` (the vocabulary size, the padding
/// id, the classes) to `dir`, from the split and vocabulary that training with `options`
/// uses. Returns the sizes of the three parts.
pub fn export_split(options: &SentimentOptions, dir: &Path) -> Result<[usize; 3], String> {
    let corpus = Corpus::read(options)?;
    std::fs::create_dir_all(dir).map_err(|e| format!("--out {}: {e}", dir.display()))?;
    let parts = &corpus.parts;
    for (name, examples) in [
        ("train", &parts.train),
        ("valid", &parts.valid),
        ("test", &parts.test),
    ] {
        let text: String = corpus
            .items(examples)
            .iter()
            .map(|item| {
                let ids: Vec<String> = item.ids.iter().map(usize::to_string).collect();
                format!("{}\t{}\n", item.label, ids.join(" "))
            })
            .collect();
        let path = dir.join(format!("{name}.tsv"));
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let meta = serde_json::json!({
        "vocab_size": corpus.vocab.len(),
        "pad": crate::text::Vocab::PAD,
        "classes": corpus.classes,
    });
    write_json(&dir.join("meta.json"), &meta)?;
    Ok([parts.train.len(), parts.valid.len(), parts.test.len()])
}

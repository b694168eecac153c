//! The split for another framework: the three blocks of text and the vocabulary, so that a
//! model trained elsewhere (`examples/scripts/charlm_torch.py`) sees the same characters.

use std::path::Path;

use super::data::CharData;
use super::options::CharLmOptions;

/// Writes `train.txt`, `valid.txt` and `test.txt` (the blocks, as they are in the text) and
/// `vocab.json` (the training block's characters, after the unknown symbol) to `dir`.
/// Returns the blocks' sizes in characters.
pub fn export_split(options: &CharLmOptions, dir: &Path) -> Result<[usize; 3], String> {
    let data = CharData::load(&options.effective())?;
    std::fs::create_dir_all(dir).map_err(|e| format!("--out {}: {e}", dir.display()))?;
    for (name, block) in [
        ("train.txt", &data.split.train),
        ("valid.txt", &data.split.valid),
        ("test.txt", &data.split.test),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, block).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    data.vocab.save(&dir.join("vocab.json"))?;
    Ok(data.split.sizes())
}

//! The test split a model was trained against, saved with it (`test_split.json`): the seed
//! and `--quick` that drew it, and its items' count and fingerprint. A program's `evaluate`
//! mode draws the split again (with the saved seed unless given another) and refuses one that
//! differs (another file or seed: it would score items the model trained on, an inflated
//! figure rather than an error).

use std::path::Path;

use crate::files::{read_json, write_json};

/// A test split's record (see the module).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HeldOut {
    /// The split's seed.
    pub seed: u64,
    /// Whether it is a `--quick` run's.
    pub quick: bool,
    /// Its items (sentences, sentence pairs).
    pub items: usize,
    /// FNV-1a (64 bits, as hex) of the items' two fields each, in order.
    pub fingerprint: String,
}

impl HeldOut {
    const FILE: &str = "test_split.json";

    /// The record of a test split drawn with `seed` and `quick`, of `items` given as their two
    /// fields (a sentence's label and text, a pair's source and target).
    pub fn of<'a>(seed: u64, quick: bool, items: impl IntoIterator<Item = [&'a str; 2]>) -> Self {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut count = 0;
        for [first, second] in items {
            let bytes = first
                .bytes()
                .chain([b'\t'])
                .chain(second.bytes())
                .chain([b'\n']);
            for byte in bytes {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
            count += 1;
        }
        Self {
            seed,
            quick,
            items: count,
            fingerprint: format!("{hash:016x}"),
        }
    }

    /// Writes the record into the model's directory `dir`.
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        write_json(&dir.join(Self::FILE), self)
    }

    /// The record saved in `dir`; `None` for a model saved before records were.
    pub fn load(dir: &Path) -> Result<Option<Self>, String> {
        let path = dir.join(Self::FILE);
        if path.is_file() {
            read_json(&path).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The seed and `quick` to draw the split again with: `seed` where given, else the saved
    /// one (`default` without a record); quick where asked or where the training run was.
    pub fn redraw(
        saved: Option<&Self>,
        seed: Option<u64>,
        default: u64,
        quick: bool,
    ) -> (u64, bool) {
        let seed = seed.or(saved.map(|s| s.seed)).unwrap_or(default);
        (seed, quick || saved.is_some_and(|s| s.quick))
    }

    /// Checks that `drawn`, the split drawn again from `data`, is this one, the split of the
    /// model in `model`.
    pub fn check(&self, drawn: &Self, data: &Path, model: &Path) -> Result<(), String> {
        if drawn == self {
            return Ok(());
        }
        Err(format!(
            "--data {} --seed {}{}: expected the test split that the model in {} was trained \
             against ({} items, fingerprint {}, seed {}{}), got another ({} items, fingerprint \
             {}): scoring it would count items the model trained on",
            data.display(),
            drawn.seed,
            if drawn.quick { " --quick" } else { "" },
            model.display(),
            self.items,
            self.fingerprint,
            self.seed,
            if self.quick { ", quick" } else { "" },
            drawn.items,
            drawn.fingerprint,
        ))
    }
}

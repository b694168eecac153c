//! The test split a model was trained against, saved with it (`test_split.json`): the file,
//! seed and `--quick` that drew it, and its items' count and fingerprint. A program's
//! `evaluate` mode draws the split again (with the saved seed unless given another) and
//! refuses one that differs (another file or seed: it would score items the model trained on,
//! an inflated figure rather than an error).

use std::path::{Path, PathBuf};

use crate::files::{read_json, write_json};

/// A program's options that draw its seeded split.
pub trait SplitOptions: Clone {
    /// The file split.
    fn data(&self) -> &Path;
    /// The split's seed.
    fn seed(&self) -> u64;
    /// Whether the split is a `--quick` run's.
    fn quick(&self) -> bool;
    /// These options, drawing with `seed` and `quick`.
    fn drawing(&self, seed: u64, quick: bool) -> Self;
}

/// Implements [`SplitOptions`] for a program's options with the fields `data: PathBuf`,
/// `seed: u64` and `quick: bool`.
macro_rules! split_options {
    ($options:ty) => {
        impl $crate::held_out::SplitOptions for $options {
            fn data(&self) -> &std::path::Path {
                &self.data
            }
            fn seed(&self) -> u64 {
                self.seed
            }
            fn quick(&self) -> bool {
                self.quick
            }
            fn drawing(&self, seed: u64, quick: bool) -> Self {
                Self {
                    seed,
                    quick,
                    ..self.clone()
                }
            }
        }
    };
}
pub(crate) use split_options;

/// A test split's record (see the module).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HeldOut {
    /// The split's seed.
    pub seed: u64,
    /// Whether it is a `--quick` run's.
    pub quick: bool,
    /// The file it was drawn from, as the training run named it.
    pub data: PathBuf,
    /// Its items (sentences, sentence pairs).
    pub items: usize,
    /// FNV-1a (64 bits, as hex) of the items' two fields each, in order.
    pub fingerprint: String,
}

impl HeldOut {
    const FILE: &str = "test_split.json";

    /// The record of a test split drawn with `options`, of `items` given as their two fields
    /// (a sentence's label and text, a pair's source and target).
    pub fn of<'a>(
        options: &impl SplitOptions,
        items: impl IntoIterator<Item = [&'a str; 2]>,
    ) -> Self {
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
            seed: options.seed(),
            quick: options.quick(),
            data: options.data().to_path_buf(),
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

    /// The test split that the model in `model` was trained against, drawn again by
    /// `draw(options)` (which returns the split and its record) with `options`, but with
    /// `seed` where given, else the training run's saved one (`options`' for a model saved
    /// without a record, whose split is then not checked: a note on standard error says so).
    /// It is checked against the record as the training run drew it (quick or not), then,
    /// where `options` ask for a quick split of a model trained on the full one, drawn again
    /// quick (a quick split is a part of the full one). Returns the split and the options that
    /// drew it.
    pub fn redraw<O: SplitOptions, T>(
        model: &Path,
        seed: Option<u64>,
        options: &O,
        draw: impl Fn(&O) -> Result<(Vec<T>, Self), String>,
    ) -> Result<(Vec<T>, O), String> {
        let Some(saved) = Self::load(model)? else {
            let options = options.drawing(seed.unwrap_or(options.seed()), options.quick());
            eprintln!(
                "note: {} not found (a model saved before it was): the test split of seed {} \
                 is not checked against the training run's",
                model.join(Self::FILE).display(),
                options.seed()
            );
            return draw(&options).map(|(test, _)| (test, options));
        };
        let checked = options.drawing(seed.unwrap_or(saved.seed), saved.quick);
        let (test, drawn) = draw(&checked)?;
        saved.check(&drawn, checked.data(), model)?;
        if options.quick() && !saved.quick {
            let quick = checked.drawing(checked.seed(), true);
            draw(&quick).map(|(test, _)| (test, quick))
        } else {
            Ok((test, checked))
        }
    }

    /// Checks that `drawn`, the split drawn again from `data`, holds the items of this one,
    /// the split of the model in `model`.
    fn check(&self, drawn: &Self, data: &Path, model: &Path) -> Result<(), String> {
        if (drawn.items, &drawn.fingerprint) == (self.items, &self.fingerprint) {
            return Ok(());
        }
        Err(format!(
            "--data {} --seed {}: expected the test split that the model in {} was trained \
             against ({} items, fingerprint {}, drawn from {} with seed {}{}), got another ({} \
             items, fingerprint {}): pass the training run's --data and --seed (another split \
             would hold items the model trained on)",
            data.display(),
            drawn.seed,
            model.display(),
            self.items,
            self.fingerprint,
            self.data.display(),
            self.seed,
            if self.quick { ", quick" } else { "" },
            drawn.items,
            drawn.fingerprint,
        ))
    }
}

//! Seeded, stratified train/validation/test splits.

use std::collections::BTreeMap;
use std::path::Path;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// Three disjoint parts of a data set.
#[derive(Debug, Clone)]
pub struct Split<T> {
    /// What the model learns from.
    pub train: Vec<T>,
    /// What picks the best epoch and stops training early.
    pub valid: Vec<T>,
    /// What the final figures are measured on.
    pub test: Vec<T>,
}

impl<T> Split<T> {
    /// Keeps at most `train`, `valid` and `test` items of the parts: the small subset that a
    /// quick run proves the pipeline on.
    pub fn truncate(&mut self, [train, valid, test]: [usize; 3]) {
        self.train.truncate(train);
        self.valid.truncate(valid);
        self.test.truncate(test);
    }
}

/// What [`split`] found when a part came out empty: the data is too small (or too repetitive)
/// to train on one part, pick the best epoch on another and measure on a third.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooSmall {
    /// The first empty part: `training`, `validation` or `test`.
    pub empty_part: &'static str,
    /// Items split.
    pub items: usize,
    /// Distinct groups among them.
    pub groups: usize,
    /// Groups in the stratum that has the most.
    pub largest_stratum: usize,
}

impl TooSmall {
    /// The error for the data file `data`: which part came out empty, what the program needs
    /// (`expected`) and what the file holds (`got`).
    pub fn error(&self, data: &Path, expected: &str, got: &str) -> String {
        format!(
            "--data {}: too small to split into training, validation and test sets (the {} set \
             came out empty): expected {expected}, got {got}",
            data.display(),
            self.empty_part
        )
    }
}

/// Splits `items` into train/validation/test with the fractions `valid` and `test`, shuffled
/// with `seed`. Items with the same `group` key always land in the same part (so a sentence
/// that occurs twice cannot be in both train and test); groups are drawn within each `stratum`
/// separately, so every stratum (e.g. each label) keeps its proportions: a stratum of `n`
/// groups gives `round(n * test)` of them to test and `round(n * valid)` to validation.
///
/// Fails when a part comes out empty (too few groups in every stratum), since a model cannot
/// be trained, stopped early or measured on nothing.
pub fn split<T, S: Ord, G: Ord>(
    items: Vec<T>,
    valid: f64,
    test: f64,
    seed: u64,
    stratum: impl Fn(&T) -> S,
    group: impl Fn(&T) -> G,
) -> Result<Split<T>, TooSmall> {
    // stratum -> group -> items, in a deterministic order before shuffling.
    let mut strata: BTreeMap<S, BTreeMap<G, Vec<T>>> = BTreeMap::new();
    for item in items {
        strata
            .entry(stratum(&item))
            .or_default()
            .entry(group(&item))
            .or_default()
            .push(item);
    }
    let item_count = strata
        .values()
        .flat_map(BTreeMap::values)
        .map(Vec::len)
        .sum();
    let groups = strata.values().map(BTreeMap::len).sum();
    let largest_stratum = strata.values().map(BTreeMap::len).max().unwrap_or(0);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut parts = Split {
        train: Vec::new(),
        valid: Vec::new(),
        test: Vec::new(),
    };
    for (_, groups) in strata {
        let mut groups: Vec<Vec<T>> = groups.into_values().collect();
        groups.shuffle(&mut rng);
        let n = groups.len();
        let n_test = (n as f64 * test).round() as usize;
        let n_valid = (n as f64 * valid).round() as usize;
        for (i, group) in groups.into_iter().enumerate() {
            let part = if i < n_test {
                &mut parts.test
            } else if i < n_test + n_valid {
                &mut parts.valid
            } else {
                &mut parts.train
            };
            part.extend(group);
        }
    }
    parts.train.shuffle(&mut rng);
    let empty_part = [
        ("training", parts.train.is_empty()),
        ("validation", parts.valid.is_empty()),
        ("test", parts.test.is_empty()),
    ]
    .into_iter()
    .find_map(|(name, empty)| empty.then_some(name));
    match empty_part {
        None => Ok(parts),
        Some(empty_part) => Err(TooSmall {
            empty_part,
            items: item_count,
            groups,
            largest_stratum,
        }),
    }
}

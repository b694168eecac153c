//! Seeded, stratified train/validation/test splits.

use std::collections::BTreeMap;

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

/// Splits `items` into train/validation/test with the fractions `valid` and `test`, shuffled
/// with `seed`. Items with the same `group` key always land in the same part (so a sentence
/// that occurs twice cannot be in both train and test); groups are drawn within each `stratum`
/// separately, so every stratum (e.g. each label) keeps its proportions.
pub fn split<T, S: Ord, G: Ord>(
    items: Vec<T>,
    valid: f64,
    test: f64,
    seed: u64,
    stratum: impl Fn(&T) -> S,
    group: impl Fn(&T) -> G,
) -> Split<T> {
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
    parts
}

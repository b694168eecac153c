//! An ensemble of forecasters: members trained alike (same data, split and early stopping)
//! from consecutive seeds, each saved in a directory of its own, whose outputs are averaged.
//! On a short series the seed (initial weights, batch order) moves a single network's
//! forecast a lot; the mean of several members keeps what they agree on.

use std::path::{Path, PathBuf};

use burn::tensor::Tensor;

/// The most members `--ensemble` takes: they train one after another, each saved in a
/// directory of its own; more would not finish (and their seeds alone would not fit in memory
/// long before `usize::MAX`).
pub const MAX_MEMBERS: usize = 1000;

/// Parses `--ensemble`: an integer from 1 to [`MAX_MEMBERS`].
pub fn parse_members(value: &str) -> Result<usize, String> {
    match crate::cli::parse_positive(value) {
        Ok(n) if n <= MAX_MEMBERS => Ok(n),
        _ => Err(format!(
            "expected an integer from 1 to {MAX_MEMBERS} (members trained one after another), \
             got {value}"
        )),
    }
}

/// The seeds of an ensemble of `members` from `seed`: `seed`, `seed + 1`, ... (wrapping past
/// `u64::MAX`).
pub fn member_seeds(seed: u64, members: usize) -> Vec<u64> {
    (0..members as u64).map(|k| seed.wrapping_add(k)).collect()
}

/// Where the member trained from `seed` is saved in the model directory `dir`:
/// `dir/seed-SEED` (its `model.bpk`, `config.json` and burn-train's `training/`).
pub fn member_dir(dir: &Path, seed: u64) -> PathBuf {
    dir.join(format!("seed-{seed}"))
}

/// The ensemble's output: the element-wise mean of the members' `outputs`, each
/// `[batch, horizon]` in the model's output space. `None` when there is no member.
pub fn mean_output(outputs: Vec<Tensor<2>>) -> Option<Tensor<2>> {
    let members = outputs.len();
    outputs
        .into_iter()
        .reduce(|sum, output| sum + output)
        .map(|sum| sum.div_scalar(members as f32))
}

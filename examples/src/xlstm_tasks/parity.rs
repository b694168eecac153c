//! Parity: a bit string → whether its number of ones is odd. A two-state automaton solves it
//! at every length; a recurrence whose state only decays and adds (no state tracking) cannot
//! carry the count's parity past the lengths it was trained on.

use rand::RngExt;
use rand::rngs::StdRng;

use super::task::Example;

/// Random bits (`length` of them, at least 1) with the parity of their ones as the target of
/// the last position.
pub fn example(length: usize, rng: &mut StdRng) -> Example {
    let tokens: Vec<usize> = (0..length.max(1))
        .map(|_| usize::from(rng.random_bool(0.5)))
        .collect();
    let ones: usize = tokens.iter().sum();
    Example {
        targets: vec![(tokens.len() - 1, ones % 2)],
        tokens,
    }
}

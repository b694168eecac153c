//! Modular arithmetic without brackets: digits 0–4 joined by `+` and `−` (`3 + 4 − 1 + 0`)
//! → the value mod 5. Delétang et al. (2023) also allow `×`; with `+` and `−` only the value
//! is the same read left to right or by precedence, and the task stays a five-state
//! automaton over the numbers and the operator before each.

use rand::RngExt;
use rand::rngs::StdRng;

use super::task::Example;

/// The numbers are taken modulo this, and the targets are its residues.
pub const MODULUS: usize = 5;
/// Token id of `+` (the digits are ids 0–4).
pub const PLUS: usize = MODULUS;
/// Token id of `−`.
pub const MINUS: usize = MODULUS + 1;
/// Number of token ids: the digits, `+` and `−`.
pub const VOCAB: usize = MODULUS + 2;

/// A random expression of `length` tokens (an even length one less, so that it ends with a
/// number; at least 1) with its value mod 5 as the target of the last position.
pub fn example(length: usize, rng: &mut StdRng) -> Example {
    let numbers = length.max(1).div_ceil(2);
    let mut tokens = Vec::with_capacity(2 * numbers - 1);
    let mut value = rng.random_range(0..MODULUS);
    tokens.push(value);
    for _ in 1..numbers {
        let number = rng.random_range(0..MODULUS);
        if rng.random_bool(0.5) {
            tokens.extend([PLUS, number]);
            value = (value + number) % MODULUS;
        } else {
            tokens.extend([MINUS, number]);
            value = (value + MODULUS - number) % MODULUS;
        }
    }
    Example {
        targets: vec![(tokens.len() - 1, value)],
        tokens,
    }
}

/// The value of `tokens` (an expression as `example` writes it) mod 5, evaluated left to
/// right; `None` if `tokens` is not such an expression.
pub fn evaluate(tokens: &[usize]) -> Option<usize> {
    let (&first, rest) = tokens.split_first()?;
    if first >= MODULUS || rest.len() % 2 != 0 {
        return None;
    }
    rest.chunks(2).try_fold(first, |value, pair| match pair {
        [PLUS, n] if *n < MODULUS => Some((value + n) % MODULUS),
        [MINUS, n] if *n < MODULUS => Some((value + MODULUS - n) % MODULUS),
        _ => None,
    })
}

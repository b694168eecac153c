//! Multi-query associative recall (MQAR; Arora et al. 2023, "Zoology"), in small: `pairs`
//! key-value pairs, then blanks with `queries` keys among them; at each query the model must
//! output the value that followed that key. A matrix memory written with key-value outer
//! products (mLSTM) is built for this; a vector state must squeeze every pair into its units.

use rand::RngExt;
use rand::rngs::StdRng;
use rand::seq::{SliceRandom, index};

use super::task::Example;

/// The sizes of an MQAR task. Token ids: keys `0..keys`, values `keys..keys + values`, then
/// the blank; classes: the values, `0..values`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mqar {
    /// Key-value pairs at the start of each sequence (distinct keys).
    pub pairs: usize,
    /// Number of different keys.
    pub keys: usize,
    /// Number of different values.
    pub values: usize,
    /// Queries after the pairs, each a random one of the sequence's keys.
    pub queries: usize,
    /// Training sequence length.
    pub seq: usize,
}

impl Default for Mqar {
    /// 4 pairs of 16 keys and 16 values, 8 queries, 64 tokens.
    fn default() -> Self {
        Self {
            pairs: 4,
            keys: 16,
            values: 16,
            queries: 8,
            seq: 64,
        }
    }
}

impl Mqar {
    /// Number of token ids: keys, values and the blank.
    pub fn vocab_size(&self) -> usize {
        self.keys + self.values + 1
    }

    /// The blank's token id.
    pub fn blank(&self) -> usize {
        self.keys + self.values
    }

    /// The shortest sequence: the pairs and the queries.
    pub fn min_length(&self) -> usize {
        2 * self.pairs + self.queries
    }

    /// Checks that the pairs have distinct keys and the training sequence holds them and the
    /// queries.
    pub fn validate(&self) -> Result<(), String> {
        if self.pairs == 0 || self.pairs > self.keys {
            return Err(format!(
                "--pairs: expected 1 to {} (the number of keys), got {}",
                self.keys, self.pairs
            ));
        }
        if self.seq < self.min_length() {
            return Err(format!(
                "--pairs: {} pairs and {} queries need at least {} tokens, got a sequence of {}",
                self.pairs,
                self.queries,
                self.min_length(),
                self.seq
            ));
        }
        Ok(())
    }

    /// A random sequence of `length` tokens (at least [`min_length`](Self::min_length)):
    /// the pairs, then blanks with the queries at random positions, each query's value its
    /// target.
    pub fn example(&self, length: usize, rng: &mut StdRng) -> Example {
        let length = length.max(self.min_length());
        let mut keys: Vec<usize> = (0..self.keys).collect();
        keys.shuffle(rng);
        keys.truncate(self.pairs);
        let values: Vec<usize> = (0..self.pairs)
            .map(|_| rng.random_range(0..self.values))
            .collect();
        let mut tokens = vec![self.blank(); length];
        for (i, (&key, &value)) in keys.iter().zip(&values).enumerate() {
            tokens[2 * i] = key;
            tokens[2 * i + 1] = self.keys + value;
        }
        let start = 2 * self.pairs;
        let mut positions: Vec<usize> = index::sample(rng, length - start, self.queries)
            .into_iter()
            .map(|p| start + p)
            .collect();
        positions.sort_unstable();
        let targets = positions
            .into_iter()
            .map(|position| {
                let pair = rng.random_range(0..self.pairs);
                tokens[position] = keys[pair];
                (position, values[pair])
            })
            .collect();
        Example { tokens, targets }
    }
}

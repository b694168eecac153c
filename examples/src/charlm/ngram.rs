//! The baseline a character model has to beat: an interpolated Kneser–Ney n-gram model over
//! characters (Kneser & Ney 1995; the interpolated form of Chen & Goodman 1999, one discount
//! per order).

use std::collections::HashMap;

/// An n-gram key: up to 6 ids of 21 bits each (any vocabulary of Unicode characters), each
/// stored plus one so that keys of different lengths differ.
type Key = u128;

const BITS: u32 = 21;

fn key(ids: &[usize]) -> Key {
    ids.iter()
        .fold(0, |key, &id| (key << BITS) | (id as Key + 1))
}

/// Counts of one order: of each n-gram, and of each context (its first `n - 1` ids) the sum
/// over the next id and the number of distinct next ids.
#[derive(Debug, Default)]
struct OrderCounts {
    ngrams: HashMap<Key, u32>,
    contexts: HashMap<Key, (u32, u32)>,
    discount: f64,
}

impl OrderCounts {
    /// The order's counts from `ngrams` (n-gram → count), with the discount
    /// `n1 / (n1 + 2 n2)` of Ney, Essen & Kneser (1994) (`n1`, `n2`: n-grams counted once,
    /// twice); 0.5 when no n-gram is counted once.
    fn new(ngrams: HashMap<Key, u32>) -> Self {
        let mut contexts: HashMap<Key, (u32, u32)> = HashMap::new();
        let (mut n1, mut n2) = (0u64, 0u64);
        for (&gram, &count) in &ngrams {
            let entry = contexts.entry(gram >> BITS).or_default();
            entry.0 += count;
            entry.1 += 1;
            match count {
                1 => n1 += 1,
                2 => n2 += 1,
                _ => {}
            }
        }
        let discount = if n1 == 0 {
            0.5
        } else {
            n1 as f64 / (n1 + 2 * n2) as f64
        };
        Self {
            ngrams,
            contexts,
            discount,
        }
    }
}

/// An interpolated Kneser–Ney model of `order` over a vocabulary of `vocab_size` ids.
///
/// `P_n(w | h) = max(c(h w) - D_n, 0) / c(h •) + D_n N1+(h •) / c(h •) · P_{n-1}(w | h')`,
/// with `h'` the context `h` without its first id, `c` the raw counts at the highest order and
/// the continuation counts `N1+(• h w)` (distinct ids seen before the n-gram) below it, and
/// `P_0(w) = 1 / vocab_size`. A context never seen at an order leaves the probability to the
/// order below. Every distribution sums to 1 over the vocabulary.
#[derive(Debug)]
pub struct KneserNey {
    order: usize,
    vocab_size: usize,
    /// Counts of orders 1..=order (index 0 is order 1).
    orders: Vec<OrderCounts>,
}

impl KneserNey {
    /// Counts the n-grams of `ids` (all below `vocab_size`) up to `order` (1 to 6).
    ///
    /// # Panics
    /// If `order` is not in 1..=6 or `vocab_size` is 2^21 or more.
    pub fn train(ids: &[usize], order: usize, vocab_size: usize) -> Self {
        assert!(
            (1..=6).contains(&order),
            "order: expected 1 to 6, got {order}"
        );
        assert!(vocab_size < 1 << BITS, "vocab_size: at most 2^21 - 1");
        let raw = |n: usize| {
            let mut counts: HashMap<Key, u32> = HashMap::new();
            for gram in ids.windows(n) {
                *counts.entry(key(gram)).or_default() += 1;
            }
            counts
        };
        let mut orders = Vec::with_capacity(order);
        let mut above = raw(order);
        for n in (1..order).rev() {
            // Continuation counts: each distinct (n + 1)-gram adds one to its last n ids.
            let mut continuation: HashMap<Key, u32> = HashMap::new();
            let mask: Key = (1 << (BITS * n as u32)) - 1;
            for gram in above.keys() {
                *continuation.entry(gram & mask).or_default() += 1;
            }
            orders.push(OrderCounts::new(std::mem::replace(
                &mut above,
                continuation,
            )));
        }
        orders.push(OrderCounts::new(above));
        orders.reverse();
        Self {
            order,
            vocab_size,
            orders,
        }
    }

    /// The probability of `next` after `context` (only its last `order - 1` ids are read).
    pub fn probability(&self, context: &[usize], next: usize) -> f64 {
        let context = &context[context.len().saturating_sub(self.order - 1)..];
        let mut p = 1.0 / self.vocab_size as f64;
        for n in 1..=context.len() + 1 {
            let history = &context[context.len() + 1 - n..];
            let counts = &self.orders[n - 1];
            let Some(&(total, distinct)) = counts.contexts.get(&key(history)) else {
                continue;
            };
            let count = counts
                .ngrams
                .get(&(key(history) << BITS | (next as Key + 1)));
            let (total, distinct) = (total as f64, distinct as f64);
            let discounted = count.map_or(0.0, |&c| (c as f64 - counts.discount).max(0.0));
            p = discounted / total + counts.discount * distinct / total * p;
        }
        p
    }

    /// Bits per character of the ids at `positions` of `ids`, each predicted from the ids
    /// before it in `ids`.
    pub fn bits_per_char(&self, ids: &[usize], positions: impl Iterator<Item = usize>) -> f64 {
        let (mut bits, mut n) = (0.0, 0usize);
        for i in positions {
            let context = &ids[i.saturating_sub(self.order - 1)..i];
            bits -= self.probability(context, ids[i]).log2();
            n += 1;
        }
        bits / n.max(1) as f64
    }
}

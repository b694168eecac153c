//! Choosing the next token from a distribution: greedy, or sampled with temperature and top-k.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rnn_core::RnnError;
use rnn_core::validate::check_positive;

/// How [`SequenceGenerator::generate`](crate::SequenceGenerator::generate) picks each token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    /// The most likely token (the lowest id among ties).
    Greedy,
    /// A random token from the softmax of `logits / temperature`, restricted to the `top_k`
    /// most likely tokens when set; `seed` makes the draw reproducible.
    Random {
        /// > 0; below 1 sharpens the distribution, above 1 flattens it.
        temperature: f64,
        /// Keep only the k most likely tokens (k ≥ 1); `None` keeps all.
        top_k: Option<usize>,
        /// Seed of the random generator.
        seed: u64,
    },
}

impl Sampling {
    /// Checks the temperature is positive and finite and `top_k` ≥ 1.
    pub fn validate(&self) -> Result<(), RnnError> {
        if let Sampling::Random {
            temperature, top_k, ..
        } = *self
        {
            if !(temperature.is_finite() && temperature > 0.0) {
                return Err(RnnError::new(
                    "sampling.temperature",
                    "a finite value > 0",
                    temperature.to_string(),
                ));
            }
            check_positive("sampling.top_k", top_k.unwrap_or(1))?;
        }
        Ok(())
    }

    /// A chooser with its own random generator, seeded with `seed` (0 for greedy), to pick
    /// tokens one at a time outside the heads' decoders (e.g. continuing a prompt). Fails like
    /// [`validate`](Self::validate).
    pub fn sampler(&self) -> Result<Sampler, RnnError> {
        self.validate()?;
        let seed = match self {
            Sampling::Greedy => 0,
            Sampling::Random { seed, .. } => *seed,
        };
        Ok(Sampler {
            sampling: *self,
            rng: StdRng::seed_from_u64(seed),
        })
    }
}

/// [`Sampling`] with its random state: the same seed picks the same tokens from the same
/// rows.
#[derive(Debug)]
pub struct Sampler {
    sampling: Sampling,
    rng: StdRng,
}

impl Sampler {
    /// Picks a token from one row of log-probabilities (`log_softmax` of a step's logits).
    /// Fails on an empty row, on a NaN or `+inf` entry (a NaN compares as neither larger nor
    /// smaller, so the argmax would keep an arbitrary token and the draw fall through to the
    /// last candidate) and on a row with no finite entry (nothing to draw from).
    pub fn choose(&mut self, log_probs: &[f32]) -> Result<usize, RnnError> {
        check_row(log_probs)?;
        Ok(self.pick(log_probs))
    }

    /// [`choose`](Self::choose) for a row already checked: the decoding loop checks each
    /// step's rows once, naming the step and example (a `log_softmax` row without NaN has no
    /// `+inf` and a finite entry).
    pub(crate) fn pick(&mut self, log_probs: &[f32]) -> usize {
        let argmax = |row: &[f32]| {
            row.iter()
                .enumerate()
                .fold(0, |best, (i, &lp)| if lp > row[best] { i } else { best })
        };
        match self.sampling {
            Sampling::Greedy => argmax(log_probs),
            Sampling::Random {
                temperature, top_k, ..
            } => {
                let mut order: Vec<usize> = (0..log_probs.len()).collect();
                order.sort_by(|&a, &b| log_probs[b].total_cmp(&log_probs[a]));
                order.truncate(top_k.unwrap_or(order.len()));
                let best = log_probs[order[0]] as f64;
                let weights: Vec<f64> = order
                    .iter()
                    .map(|&i| ((log_probs[i] as f64 - best) / temperature).exp())
                    .collect();
                let mut target = self.rng.random::<f64>() * weights.iter().sum::<f64>();
                for (&i, w) in order.iter().zip(&weights) {
                    if target < *w {
                        return i;
                    }
                    target -= w;
                }
                order[order.len() - 1]
            }
        }
    }
}

/// Checks that `log_probs` is a row [`Sampler::choose`] can pick from.
fn check_row(log_probs: &[f32]) -> Result<(), RnnError> {
    let expected = "a non-empty row of log-probabilities (no NaN or +inf, one finite at least)";
    if log_probs.is_empty() {
        return Err(RnnError::new("log_probs", expected, "an empty row"));
    }
    if let Some(i) = log_probs
        .iter()
        .position(|lp| lp.is_nan() || *lp == f32::INFINITY)
    {
        return Err(RnnError::new(
            "log_probs",
            expected,
            format!("{} at index {i}", log_probs[i]),
        ));
    }
    if log_probs.iter().all(|lp| *lp == f32::NEG_INFINITY) {
        return Err(RnnError::new(
            "log_probs",
            expected,
            format!("-inf in all {} entries", log_probs.len()),
        ));
    }
    Ok(())
}

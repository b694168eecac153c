//! Continuing a prompt with a saved character model: the prompt read in one pass, then one
//! character at a time drawn with temperature and top-k ([`Sampling`]) and fed back.

use std::path::Path;

use burn::tensor::{Device, Int, Tensor, TensorData};
use rnn_tasks::Sampling;
use rnn_tasks::rnn_core::log_softmax;

use super::corpus::CharVocab;
use super::model::{CharLm, CharLmConfig};
use crate::backend::Backend;
use crate::files::load_model;

/// A saved model with its vocabulary, ready to write.
pub struct CharGenerator {
    model: CharLm,
    vocab: CharVocab,
    device: Device,
}

impl CharGenerator {
    /// Loads the model a training run wrote to `dir` (`model.bpk`, `config.json`,
    /// `vocab.json`) onto `backend`'s device.
    pub fn load(dir: &Path, backend: Backend) -> Result<Self, String> {
        let device = backend.device();
        let (model, config) = load_model(dir, |config: &CharLmConfig| {
            config.try_init(&device).map_err(|e| e.to_string())
        })?;
        let vocab = CharVocab::load_saved(dir, "vocab.json", "vocab_size", config.vocab_size)?;
        Ok(Self {
            model,
            vocab,
            device,
        })
    }

    /// `length` characters that continue `prompt` (characters the model does not know are
    /// read as the unknown symbol), each drawn by `sampling`.
    pub fn continue_text(
        &self,
        prompt: &str,
        length: usize,
        sampling: &Sampling,
    ) -> Result<String, String> {
        if prompt.is_empty() {
            return Err("--prompt: expected at least one character, got an empty prompt".into());
        }
        let mut sampler = sampling.sampler().map_err(|e| e.to_string())?;
        let ids = self.vocab.encode(prompt);
        let out = self.model.forward(self.tensor(&ids), None);
        let (mut logits, mut state) = (out.logits, out.state);
        // Not `with_capacity(length)`: any length is allowed, and a huge one must not fail
        // to allocate before the first character.
        let mut generated = Vec::new();
        for step in 0..length {
            let [_, seq, vocab] = logits.dims();
            let last = logits
                .slice([0..1, seq - 1..seq, 0..vocab])
                .reshape([1, vocab]);
            let row: Vec<f32> = log_softmax(last, 1).into_data().iter::<f32>().collect();
            if row.iter().any(|p| p.is_nan()) {
                return Err(format!(
                    "the model's logits are NaN at generated character {step}"
                ));
            }
            let id = sampler.choose(&row).map_err(|e| e.to_string())?;
            generated.push(id);
            if step + 1 == length {
                break;
            }
            let out = self.model.forward(self.tensor(&[id]), Some(state));
            (logits, state) = (out.logits, out.state);
        }
        Ok(self.vocab.decode(&generated))
    }

    /// `ids` as a `[1, len]` tensor.
    fn tensor(&self, ids: &[usize]) -> Tensor<2, Int> {
        let data: Vec<i64> = ids.iter().map(|&id| id as i64).collect();
        Tensor::from_data(TensorData::new(data, [1, ids.len()]), &self.device)
    }
}

//! One update of truncated backpropagation through time: the next chunk of every stream,
//! read from the state the previous chunk ended in (detached; zero at the start of a pass),
//! the mean cross-entropy, the global gradient norm clipped, an Adam step.

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use rnn_tasks::clip_grad_norm;
use rnn_tasks::rnn_core::RnnState;

use super::model::{CharLm, detach};
use super::streams::Streams;

/// The optimiser and the carried state of a training run.
pub struct Tbptt {
    optimizer: ModuleOptimizer,
    state: Option<RnnState<3>>,
    updates: usize,
    learning_rate: f64,
    clip_norm: f64,
}

impl Tbptt {
    /// A run that has made no update yet: Adam at `learning_rate` (with PyTorch's ε, 1e-8,
    /// so that `examples/scripts/charlm_torch.py` trains with the same optimiser), the global
    /// gradient norm clipped to `clip_norm`.
    pub fn new(learning_rate: f64, clip_norm: f64) -> Self {
        Self {
            optimizer: AdamConfig::new().with_epsilon(1e-8).init(),
            state: None,
            updates: 0,
            learning_rate,
            clip_norm,
        }
    }

    /// Sets the learning rate of the updates to come.
    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    /// Updates made so far.
    pub fn updates(&self) -> usize {
        self.updates
    }

    /// Trains `model` (on an autodiff device) on chunk `updates % streams.chunks()` of
    /// `streams`; returns the updated model and the chunk's mean loss in nats per character,
    /// before the update.
    pub fn update(&mut self, model: CharLm, streams: &Streams) -> (CharLm, f64) {
        let k = self.updates % streams.chunks();
        if k == 0 {
            // A new pass over the streams starts from the zero state.
            self.state = None;
        }
        let (inputs, targets) = streams.chunk(k).tensors(&model.embedding.weight.device());
        let targets_count = targets.dims().iter().product::<usize>();
        let out = model.forward(inputs, self.state.take());
        self.state = Some(detach(out.state));
        let loss = CharLm::total_nll(out.logits, targets) / targets_count as f32;
        let loss_value = loss.clone().into_scalar::<f32>() as f64;
        let mut grads = GradientsParams::from_grads(loss.backward(), &model);
        clip_grad_norm(&model, &mut grads, self.clip_norm);
        let model = self.optimizer.step(self.learning_rate, model, grads);
        self.updates += 1;
        (model, loss_value)
    }
}

//! The forecaster as a burn-train model: windows of the series in, the next `horizon` values
//! out, all at once from the encoder's final state (a [`SequenceClassifier`] whose
//! `num_classes` outputs are the horizon's values), trained on the mean squared error of the
//! observed targets.

use burn::data::dataloader::batcher::Batcher;
use burn::module::Module;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::{Device, Tensor, TensorData};
use burn::train::{InferenceStep, RegressionOutput, TrainOutput, TrainStep};
use rnn_tasks::{SequenceClassifier, SequenceClassifierConfig};

use super::windows::FEATURES;

/// A window with the values to predict after it.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastItem {
    /// `[window, FEATURES]` row-major (see [`Encoding::encode`](super::windows::Encoding::encode)).
    pub inputs: Vec<f32>,
    /// `[horizon]` the values after the window, encoded like the inputs (0 where masked).
    pub targets: Vec<f32>,
    /// `[horizon]` 1 where the target counts in the loss, 0 where it is missing or in another
    /// part of the split.
    pub mask: Vec<f32>,
}

/// A batch of windows of the same length.
#[derive(Debug, Clone)]
pub struct ForecastBatch {
    /// `[batch, window, FEATURES]`.
    pub inputs: Tensor<3>,
    /// `[batch, horizon]`.
    pub targets: Tensor<2>,
    /// `[batch, horizon]`, 1 or 0.
    pub mask: Tensor<2>,
}

/// Stacks [`ForecastItem`]s into a [`ForecastBatch`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ForecastBatcher;

impl Batcher<ForecastItem, ForecastBatch> for ForecastBatcher {
    fn batch(&self, items: Vec<ForecastItem>, device: &Device) -> ForecastBatch {
        let (batch, window, horizon) = (
            items.len(),
            items[0].inputs.len() / FEATURES,
            items[0].targets.len(),
        );
        let stack = |part: fn(&ForecastItem) -> &Vec<f32>| -> Vec<f32> {
            items.iter().flat_map(|item| part(item).clone()).collect()
        };
        ForecastBatch {
            inputs: Tensor::from_data(
                TensorData::new(stack(|i| &i.inputs), [batch, window, FEATURES]),
                device,
            ),
            targets: Tensor::from_data(
                TensorData::new(stack(|i| &i.targets), [batch, horizon]),
                device,
            ),
            mask: Tensor::from_data(
                TensorData::new(stack(|i| &i.mask), [batch, horizon]),
                device,
            ),
        }
    }
}

/// The forecaster under training.
#[derive(Module, Debug)]
pub struct ForecastModel {
    /// Recurrent encoder over the window, its final state through an MLP to `horizon` values.
    pub regressor: SequenceClassifier,
    /// With `--highway`: a linear map from the window's values (the first input feature) to
    /// the `horizon` outputs, added to the network's: the autoregressive component of LSTNet
    /// (Lai et al., 2018), a linear forecaster beside the nonlinear one. Starts at zero.
    pub highway: Option<Linear>,
}

impl ForecastModel {
    /// A model of `config`, with a highway from a window of `highway` points if given.
    pub fn init(
        config: &SequenceClassifierConfig,
        highway: Option<usize>,
        device: &Device,
    ) -> Result<Self, String> {
        let input = &config.input;
        if input.vocab_size.is_some() || input.size != FEATURES {
            return Err(format!(
                "input: expected {FEATURES} features per point (a value and a missing flag), got \
                 {}",
                match input.vocab_size {
                    Some(vocab) => format!("token ids of a vocabulary of {vocab}"),
                    None => format!("{} features", input.size),
                }
            ));
        }
        Ok(Self {
            regressor: config.try_init(device).map_err(|e| e.to_string())?,
            highway: highway.map(|window| {
                LinearConfig::new(window, config.num_classes)
                    .with_initializer(Initializer::Zeros)
                    .init(device)
            }),
        })
    }

    /// `[batch, horizon]` encoded forecasts of `inputs: [batch, window, FEATURES]`.
    pub fn forecast(&self, inputs: Tensor<3>) -> Tensor<2> {
        let network = self.regressor.forward(inputs.clone(), None).logits;
        match &self.highway {
            Some(highway) => {
                let [batch, window, _] = inputs.dims();
                network + highway.forward(inputs.narrow(2, 0, 1).reshape([batch, window]))
            }
            None => network,
        }
    }

    /// The forecasts of `batch` and their masked mean squared error.
    pub fn regress(&self, batch: ForecastBatch) -> RegressionOutput {
        let output = self.forecast(batch.inputs);
        let loss = masked_mean_squared_error(output.clone(), batch.targets.clone(), batch.mask);
        RegressionOutput {
            loss,
            output,
            targets: batch.targets,
        }
    }
}

/// The mean of `(predictions - targets)²` over the entries where `mask` is 1: a missing target
/// contributes nothing, rather than a made-up value. Returns a scalar `[1]`.
pub fn masked_mean_squared_error(
    predictions: Tensor<2>,
    targets: Tensor<2>,
    mask: Tensor<2>,
) -> Tensor<1> {
    let count = mask.clone().sum().clamp_min(1.0);
    ((predictions - targets).powi_scalar(2) * mask).sum() / count
}

impl TrainStep for ForecastModel {
    type Input = ForecastBatch;
    type Output = RegressionOutput;

    fn step(&self, batch: ForecastBatch) -> TrainOutput<RegressionOutput> {
        let output = self.regress(batch);
        TrainOutput::new(self, output.loss.backward(), output)
    }
}

impl InferenceStep for ForecastModel {
    type Input = ForecastBatch;
    type Output = RegressionOutput;

    fn step(&self, batch: ForecastBatch) -> RegressionOutput {
        self.regress(batch)
    }
}

//! Training with burn-train, shared by the examples: Adam with gradient clipping, loss (and
//! accuracy, for classifiers) per epoch, checkpoints, early stopping on a validation metric,
//! a time budget, and the best epoch's weights at the end.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::InMemDataset;
use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::AdamConfig;
use burn::train::checkpoint::{CheckpointingAction, CheckpointingStrategy};
use burn::train::metric::store::{Aggregate, Direction, EventStoreClient, Split};
use burn::train::metric::{AccuracyInput, AccuracyMetric, Adaptor, LossInput, LossMetric, Metric};
use burn::train::{
    EarlyStoppingStrategy, InferenceStep, Learner, LearnerModel, SupervisedTraining, TrainStep,
};

use crate::quiet::QuietRenderer;

/// The validation metric that picks the best epoch and stops training.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Monitor {
    /// Highest validation accuracy.
    Accuracy,
    /// Lowest validation loss.
    Loss,
}

impl Monitor {
    fn name(self) -> String {
        match self {
            Monitor::Accuracy => AccuracyMetric::new().name().to_string(),
            Monitor::Loss => LossMetric::new().name().to_string(),
        }
    }

    fn direction(self) -> Direction {
        match self {
            Monitor::Accuracy => Direction::Highest,
            Monitor::Loss => Direction::Lowest,
        }
    }
}

/// How to train.
#[derive(Debug, Clone)]
pub struct TrainingPlan {
    /// Where checkpoints and metric logs go (`DIR/checkpoint/model-EPOCH.bpk`).
    pub directory: PathBuf,
    /// The most epochs.
    pub epochs: usize,
    /// Adam's learning rate (constant).
    pub learning_rate: f64,
    /// Each parameter's gradient is clipped to this norm on its own (burn-optim's
    /// `GradientClipping::Norm`; PyTorch's `clip_grad_norm_` clips the global norm).
    pub clip_norm: f32,
    /// The metric whose best validation value picks the epoch kept.
    pub monitor: Monitor,
    /// Stop after this many epochs without improvement of the monitored metric.
    pub patience: usize,
    /// Stop before an epoch that would end after this much training time.
    pub time_budget: Option<Duration>,
    /// A target id that accuracy ignores (padding of sequence targets).
    pub pad_token: Option<usize>,
}

impl TrainingPlan {
    /// The plan of an example run that writes to `out`: burn-train's logs and checkpoints under
    /// `out/training`, at most `epochs` epochs (one when `quick`, which only proves the
    /// pipeline), each parameter's gradient clipped to norm 1, early stopping on `monitor` after
    /// `patience` epochs without improvement; no time budget and no padding, for a run to set
    /// where it has them.
    pub fn new(
        out: &Path,
        quick: bool,
        epochs: usize,
        learning_rate: f64,
        monitor: Monitor,
        patience: usize,
    ) -> Self {
        Self {
            directory: out.join("training"),
            epochs: if quick { 1 } else { epochs },
            learning_rate,
            clip_norm: 1.0,
            monitor,
            patience,
            time_budget: None,
            pad_token: None,
        }
    }
}

/// A data loader over `items` in batches of `batch_size` made by `batcher`, reshuffled every
/// epoch from the seed `shuffle` when given (training), in order otherwise (validation).
pub fn loader<I, O>(
    batcher: impl Batcher<I, O> + 'static,
    items: Vec<I>,
    batch_size: usize,
    shuffle: Option<u64>,
) -> Arc<dyn DataLoader<O>>
where
    I: Send + Sync + Clone + std::fmt::Debug + 'static,
    O: Send + Clone + std::fmt::Debug + 'static,
{
    let builder = DataLoaderBuilder::new(batcher).batch_size(batch_size);
    let builder = match shuffle {
        Some(seed) => builder.shuffle(seed),
        None => builder,
    };
    builder.build(InMemDataset::new(items))
}

/// What [`fit`] returns.
pub struct Trained<M> {
    /// The weights of the best epoch (validation mode).
    pub model: M,
    /// The epoch those weights are from (1-based).
    pub best_epoch: usize,
    /// Epochs run.
    pub epochs_run: usize,
    /// Wall time of the training.
    pub elapsed: Duration,
}

/// Trains the classifier `model` with burn-train's [`SupervisedTraining`], measuring loss and
/// accuracy: a terminal gets burn-train's live dashboard, any other output one line per
/// epoch. Returns the best epoch's weights.
pub fn fit<M>(
    model: M,
    train: Arc<dyn DataLoader<<M as TrainStep>::Input>>,
    valid: Arc<dyn DataLoader<<M as InferenceStep>::Input>>,
    plan: &TrainingPlan,
) -> Result<Trained<M>, String>
where
    M: LearnerModel,
    <M as TrainStep>::Output: Adaptor<AccuracyInput> + Adaptor<LossInput>,
    <M as InferenceStep>::Output: Adaptor<AccuracyInput> + Adaptor<LossInput>,
{
    let accuracy = || match plan.pad_token {
        Some(pad) => AccuracyMetric::new().with_pad_token(pad),
        None => AccuracyMetric::new(),
    };
    fit_with_metrics(model, train, valid, plan, |training| {
        training
            .metric_train_numeric(accuracy())
            .metric_valid_numeric(accuracy())
    })
}

/// [`fit`] for a model whose outputs have no classes to be accurate about (a regression):
/// the loss is the only metric, so the plan must monitor it.
pub fn fit_on_loss<M>(
    model: M,
    train: Arc<dyn DataLoader<<M as TrainStep>::Input>>,
    valid: Arc<dyn DataLoader<<M as InferenceStep>::Input>>,
    plan: &TrainingPlan,
) -> Result<Trained<M>, String>
where
    M: LearnerModel,
    <M as TrainStep>::Output: Adaptor<LossInput>,
    <M as InferenceStep>::Output: Adaptor<LossInput>,
{
    if plan.monitor != Monitor::Loss {
        return Err(format!(
            "a training plan without accuracy: expected to monitor the loss, got {:?}",
            plan.monitor
        ));
    }
    fit_with_metrics(model, train, valid, plan, |training| training)
}

/// [`fit`] with the loss and the metrics that `add_metrics` registers.
fn fit_with_metrics<M>(
    model: M,
    train: Arc<dyn DataLoader<<M as TrainStep>::Input>>,
    valid: Arc<dyn DataLoader<<M as InferenceStep>::Input>>,
    plan: &TrainingPlan,
    add_metrics: impl FnOnce(SupervisedTraining<M>) -> SupervisedTraining<M>,
) -> Result<Trained<M>, String>
where
    M: LearnerModel,
    <M as TrainStep>::Output: Adaptor<LossInput>,
    <M as InferenceStep>::Output: Adaptor<LossInput>,
{
    let best = Arc::new(Mutex::new(BestEpoch::new(plan.monitor)));
    let epochs_run = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    // A terminal gets burn-train's dashboard, which lines printed by the monitor would garble.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let monitor = EpochMonitor {
        print: !terminal,
        best: best.clone(),
        patience: plan.patience,
        time_budget: plan.time_budget,
        epochs_run: epochs_run.clone(),
        start,
        last: Arc::new(Mutex::new(start)),
    };
    let optimizer = AdamConfig::new()
        .with_grad_clipping(Some(GradientClippingConfig::Norm(plan.clip_norm)))
        .init();
    let mut training = add_metrics(SupervisedTraining::new(&plan.directory, train, valid))
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new())
        .with_default_checkpointers()
        .with_checkpointing_strategy(KeepBest(best.clone()))
        .early_stopping(monitor)
        .num_epochs(plan.epochs);
    if !terminal {
        training = training.renderer(Box::new(QuietRenderer));
    }
    let result = training.launch(Learner::new(model, optimizer, plan.learning_rate));
    if let Some(error) = result.error {
        return Err(format!("training failed: {error:?}"));
    }
    let best_epoch = best.lock().expect("best epoch").outcome()?;
    let epochs_run = epochs_run.load(Ordering::SeqCst);
    let model = match best_epoch {
        0 => result.model,
        epoch => load_module(result.model, &checkpoint_path(&plan.directory, epoch))?,
    };
    Ok(Trained {
        model,
        best_epoch,
        epochs_run,
        elapsed: start.elapsed(),
    })
}

/// Where [`fit`] keeps the weights of `epoch`.
pub fn checkpoint_path(directory: &Path, epoch: usize) -> PathBuf {
    directory
        .join("checkpoint")
        .join(format!("model-{epoch}.bpk"))
}

/// Loads the weights at `path` (a burnpack file) into `module`, with an error naming the file.
pub fn load_module<M: Module>(module: M, path: &Path) -> Result<M, String> {
    module
        .try_load_file(path)
        .map_err(|e| format!("{}: cannot load the model: {e:?}", path.display()))
}

/// The best epoch so far by the monitored validation metric, shared by the checkpointing
/// and the early-stopping strategies (burn-train runs the former first at each epoch's end).
struct BestEpoch {
    monitor: Monitor,
    best: Option<f64>,
    epoch: usize,
    /// The first epoch whose validation value was not finite, with the value: training
    /// diverged, and stops.
    diverged: Option<(usize, f64)>,
}

impl BestEpoch {
    fn new(monitor: Monitor) -> Self {
        Self {
            monitor,
            best: None,
            epoch: 0,
            diverged: None,
        }
    }

    /// Reads `epoch`'s validation value; returns whether it is the best so far.
    fn update(&mut self, epoch: usize, store: &EventStoreClient) -> bool {
        let value = store.find_metric(&self.monitor.name(), epoch, Aggregate::Mean, &Split::Valid);
        self.record(epoch, value)
    }

    /// Records `epoch`'s validation `value`; returns whether it is the best so far.
    fn record(&mut self, epoch: usize, value: Option<f64>) -> bool {
        if let Some(v) = value.filter(|v| !v.is_finite()) {
            self.diverged.get_or_insert((epoch, v));
        }
        let improved = improves(value, self.best, self.monitor.direction());
        if improved {
            self.best = value;
            self.epoch = epoch;
        }
        improved
    }

    /// The best epoch, or the error of a training that diverged.
    fn outcome(&self) -> Result<usize, String> {
        match self.diverged {
            Some((epoch, value)) => Err(format!(
                "training diverged: validation {} {value} at epoch {epoch}",
                self.monitor.name().to_lowercase()
            )),
            None => Ok(self.epoch),
        }
    }
}

/// Whether a validation `value` beats the `best` so far in `direction`: a value that is not
/// finite never does (a NaN loss would otherwise be the first epoch's best, and its weights
/// kept).
fn improves(value: Option<f64>, best: Option<f64>, direction: Direction) -> bool {
    match (value.filter(|v| v.is_finite()), best) {
        (Some(v), Some(best)) => match direction {
            Direction::Highest => v > best,
            Direction::Lowest => v < best,
        },
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// Keeps at most two checkpoints: the best epoch's and the last one's.
struct KeepBest(Arc<Mutex<BestEpoch>>);

impl CheckpointingStrategy for KeepBest {
    fn checkpointing(
        &mut self,
        epoch: usize,
        store: &EventStoreClient,
    ) -> Vec<CheckpointingAction> {
        let mut best = self.0.lock().expect("best epoch");
        let previous_best = best.epoch;
        best.update(epoch, store);
        let mut actions = vec![CheckpointingAction::Save];
        // The previous epoch's checkpoint goes unless it is the best one...
        if epoch > 1 && epoch - 1 != best.epoch {
            actions.push(CheckpointingAction::Delete(epoch - 1));
        }
        // ... and an older best goes once this epoch beats it.
        if best.epoch == epoch && previous_best != 0 && previous_best != epoch - 1 {
            actions.push(CheckpointingAction::Delete(previous_best));
        }
        actions
    }
}

/// Early stopping on the best epoch's age and a time budget; prints one line per epoch when
/// `print`.
#[derive(Clone)]
struct EpochMonitor {
    print: bool,
    best: Arc<Mutex<BestEpoch>>,
    patience: usize,
    time_budget: Option<Duration>,
    epochs_run: Arc<AtomicUsize>,
    start: Instant,
    last: Arc<Mutex<Instant>>,
}

impl EarlyStoppingStrategy for EpochMonitor {
    fn should_stop(&mut self, epoch: usize, store: &EventStoreClient) -> bool {
        let metric =
            |name: &str, split: &Split| store.find_metric(name, epoch, Aggregate::Mean, split);
        let (loss, accuracy) = (Monitor::Loss.name(), Monitor::Accuracy.name());
        let now = Instant::now();
        let epoch_time = now - std::mem::replace(&mut *self.last.lock().expect("clock"), now);
        self.epochs_run.store(epoch, Ordering::SeqCst);
        let best = self.best.lock().expect("best epoch");
        let show = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
        let say = |line: String| {
            if self.print {
                println!("{line}");
            }
        };
        // A regression has no accuracy to show.
        let part = |split: Split| match metric(&accuracy, &split) {
            Some(a) => format!(
                "loss {} accuracy {:.4}",
                show(metric(&loss, &split)),
                a / 100.0
            ),
            None => format!("loss {}", show(metric(&loss, &split))),
        };
        say(format!(
            "epoch {epoch:>3}: train {} | valid {} | {:.1} s{}",
            part(Split::Train),
            part(Split::Valid),
            epoch_time.as_secs_f64(),
            if best.epoch == epoch { " (best)" } else { "" },
        ));
        if best.diverged.is_some() {
            say(format!(
                "stopping: validation {} is not finite",
                best.monitor.name().to_lowercase()
            ));
            return true;
        }
        if epoch >= best.epoch.saturating_add(self.patience) {
            say(format!(
                "stopping: no better validation {} since epoch {}",
                best.monitor.name().to_lowercase(),
                best.epoch
            ));
            return true;
        }
        if let Some(budget) = self.time_budget
            && (now - self.start) + epoch_time > budget
        {
            say(format!(
                "stopping: another epoch would end after the time budget of {} s",
                budget.as_secs()
            ));
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_that_is_not_finite_never_improves() {
        for direction in [Direction::Lowest, Direction::Highest] {
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                assert!(!improves(Some(bad), None, direction));
                assert!(!improves(Some(bad), Some(1.0), direction));
            }
            assert!(improves(Some(1.0), None, direction));
            assert!(!improves(None, Some(1.0), direction));
        }
        assert!(improves(Some(0.5), Some(1.0), Direction::Lowest));
        assert!(improves(Some(1.5), Some(1.0), Direction::Highest));
    }

    /// A NaN validation loss is never the best epoch (whose weights would be kept) and ends
    /// training with an error naming it, even after better epochs.
    #[test]
    fn a_validation_value_that_is_not_finite_is_a_divergence() {
        let mut best = BestEpoch::new(Monitor::Loss);
        assert!(best.record(1, Some(2.0)));
        assert!(best.record(2, Some(1.0)));
        assert_eq!(best.outcome(), Ok(2));
        assert!(!best.record(3, Some(f64::NAN)));
        assert_eq!(
            best.outcome(),
            Err("training diverged: validation loss NaN at epoch 3".to_string())
        );
        let mut first = BestEpoch::new(Monitor::Loss);
        assert!(!first.record(1, Some(f64::INFINITY)));
        assert_eq!(first.epoch, 0);
        assert!(first.outcome().is_err());
    }
}

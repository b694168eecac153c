//! A data loader whose batches are formed anew every epoch: burn's loaders shuffle the order
//! of fixed items, so batches made once (length buckets) would hold the same examples every
//! epoch, where a PyTorch training loop draws new ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::data::dataset::DatasetError;
use burn::tensor::Device;

/// How the batches of an epoch are formed: from the items and the epoch's number (0, 1, ...),
/// each batch a list of item indices.
pub type MakeBatches<I> = dyn Fn(&[I], u64) -> Vec<Vec<usize>> + Send + Sync;

/// Batches of `items` formed by `make` at the start of each epoch (each call of
/// [`DataLoader::iter`]), turned into `O` by `batcher`. Its items are the examples, so
/// burn-train's progress counts examples.
pub struct EpochBatches<I, O> {
    items: Arc<Vec<I>>,
    make: Arc<MakeBatches<I>>,
    batcher: Arc<dyn Batcher<I, O>>,
    /// Epochs started, shared by the loaders [`to_device`](DataLoader::to_device) makes.
    epochs: Arc<AtomicU64>,
    device: Device,
}

impl<I, O> EpochBatches<I, O> {
    /// A loader over `items`, on the default device until burn-train moves it.
    pub fn new(
        items: Vec<I>,
        make: impl Fn(&[I], u64) -> Vec<Vec<usize>> + Send + Sync + 'static,
        batcher: impl Batcher<I, O> + 'static,
    ) -> Self {
        Self {
            items: Arc::new(items),
            make: Arc::new(make),
            batcher: Arc::new(batcher),
            epochs: Arc::new(AtomicU64::new(0)),
            device: Device::default(),
        }
    }
}

impl<I, O> DataLoader<O> for EpochBatches<I, O>
where
    I: Clone + Send + Sync + 'static,
    O: Send + 'static,
{
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<O> + 'a> {
        let epoch = self.epochs.fetch_add(1, Ordering::Relaxed);
        Box::new(EpochIterator {
            loader: self,
            batches: (self.make)(&self.items, epoch).into_iter(),
            processed: 0,
        })
    }

    fn num_items(&self) -> usize {
        self.items.len()
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<O>> {
        Arc::new(Self {
            items: self.items.clone(),
            make: self.make.clone(),
            batcher: self.batcher.clone(),
            epochs: self.epochs.clone(),
            device: device.clone(),
        })
    }

    /// The items `start..end`, batched as `make` batches them, with an epoch count of its own.
    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<O>> {
        Arc::new(Self {
            items: Arc::new(self.items[start..end].to_vec()),
            make: self.make.clone(),
            batcher: self.batcher.clone(),
            epochs: Arc::new(AtomicU64::new(self.epochs.load(Ordering::Relaxed))),
            device: self.device.clone(),
        })
    }
}

struct EpochIterator<'a, I, O> {
    loader: &'a EpochBatches<I, O>,
    batches: std::vec::IntoIter<Vec<usize>>,
    processed: usize,
}

impl<I: Clone, O> Iterator for EpochIterator<'_, I, O> {
    type Item = Result<O, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = self.batches.next()?;
        self.processed += batch.len();
        let items = batch
            .iter()
            .map(|&i| self.loader.items[i].clone())
            .collect();
        Some(Ok(self.loader.batcher.batch(items, &self.loader.device)))
    }
}

impl<I: Clone, O> DataLoaderIterator<O> for EpochIterator<'_, I, O> {
    fn progress(&self) -> Progress {
        Progress::new(self.processed, self.loader.items.len(), None)
    }
}

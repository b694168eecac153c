//! Batches for truncated backpropagation through time: a text cut into `batch` contiguous
//! streams, read `chunk` characters at a time, so that each batch continues the streams of
//! the one before and the model's state can be carried over.

use burn::tensor::{Device, Int, Tensor, TensorData};

/// A text's ids as `batch` streams of equal length.
///
/// The model reads `ids[p]` and predicts `ids[p + 1]`: the text has `ids.len() - 1` targets,
/// of which the first `batch * stream_length` are used (the rest, fewer than `batch`, are
/// dropped). Stream `s` holds the positions `s * stream_length .. (s + 1) * stream_length`;
/// chunk `k` is positions `k * chunk ..` of every stream, `chunk` long, or shorter for the
/// last chunk.
#[derive(Debug, Clone)]
pub struct Streams<'a> {
    ids: &'a [usize],
    batch: usize,
    chunk: usize,
    stream_length: usize,
}

/// One chunk of every stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamChunk {
    /// `batch` rows of the ids read.
    pub inputs: Vec<Vec<usize>>,
    /// `batch` rows of the ids to predict: each input's next id.
    pub targets: Vec<Vec<usize>>,
}

impl StreamChunk {
    /// The inputs and targets as `[batch, length]` tensors.
    pub fn tensors(&self, device: &Device) -> (Tensor<2, Int>, Tensor<2, Int>) {
        let tensor = |rows: &[Vec<usize>]| {
            let shape = [rows.len(), rows[0].len()];
            let ids: Vec<i64> = rows.iter().flatten().map(|&id| id as i64).collect();
            Tensor::from_data(TensorData::new(ids, shape), device)
        };
        (tensor(&self.inputs), tensor(&self.targets))
    }
}

impl<'a> Streams<'a> {
    /// Cuts `ids` into `batch` streams read `chunk` at a time. `None` when the text holds
    /// fewer than `batch` targets (`ids.len() <= batch`): some stream would be empty.
    pub fn new(ids: &'a [usize], batch: usize, chunk: usize) -> Option<Self> {
        let stream_length = ids.len().saturating_sub(1) / batch.max(1);
        (stream_length >= 1 && chunk >= 1).then_some(Self {
            ids,
            batch,
            chunk,
            stream_length,
        })
    }

    /// Targets per stream.
    pub fn stream_length(&self) -> usize {
        self.stream_length
    }

    /// Targets in all streams: `batch * stream_length`.
    pub fn targets(&self) -> usize {
        self.batch * self.stream_length
    }

    /// Chunks in one pass over the streams (the last may be shorter than `chunk`).
    pub fn chunks(&self) -> usize {
        self.stream_length.div_ceil(self.chunk)
    }

    /// Chunk `k` of every stream.
    ///
    /// # Panics
    /// If `k` is not in `0..chunks()`.
    pub fn chunk(&self, k: usize) -> StreamChunk {
        assert!(k < self.chunks(), "chunk {k} of {}", self.chunks());
        let from = k * self.chunk;
        let to = (from + self.chunk).min(self.stream_length);
        let rows = |shift: usize| {
            (0..self.batch)
                .map(|s| {
                    let start = s * self.stream_length + shift;
                    self.ids[start + from..start + to].to_vec()
                })
                .collect()
        };
        StreamChunk {
            inputs: rows(0),
            targets: rows(1),
        }
    }

    /// The positions of the targets used, in the text (`1..=targets()`): what the n-gram
    /// baseline is scored on, so that both models predict the same characters.
    pub fn target_positions(&self) -> std::ops::RangeInclusive<usize> {
        1..=self.targets()
    }
}

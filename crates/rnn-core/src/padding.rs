//! Variable-length batches: validated lengths turned, once per forward, into masks and the
//! per-example time reversal used by backward directions.

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

use crate::error::{RnnError, check_lengths};

/// The valid lengths of a padded, time-major batch, prepared once per forward pass.
#[derive(Debug, Clone)]
pub(crate) struct Padding {
    /// Valid length of each example.
    pub lengths: Vec<usize>,
    /// Longest valid length: steps past it are not computed.
    pub max_len: usize,
    /// `[seq, batch, 1]`: true where a step is valid, false in the padding.
    pub keep: Tensor<3, Bool>,
    /// `[seq, batch]`: for each example, its valid part reversed, the padding left in place.
    reverse_index: Tensor<2, Int>,
}

impl Padding {
    /// Checks `lengths` against a batch of `batch` sequences of `seq` steps.
    ///
    /// Returns `None` when every sequence is full length (no masking needed).
    pub fn new(
        lengths: &[usize],
        seq: usize,
        batch: usize,
        device: &Device,
    ) -> Result<Option<Self>, RnnError> {
        check_lengths("lengths", lengths, batch, seq)?;
        if lengths.iter().all(|&l| l == seq) {
            return Ok(None);
        }
        let mut keep = Vec::with_capacity(seq * batch);
        let mut reverse = Vec::with_capacity(seq * batch);
        for t in 0..seq {
            for &len in lengths {
                keep.push(t < len);
                reverse.push(if t < len {
                    (len - 1 - t) as i64
                } else {
                    t as i64
                });
            }
        }
        Ok(Some(Self {
            lengths: lengths.to_vec(),
            max_len: *lengths.iter().max().expect("batch is not empty"),
            keep: Tensor::from_data(TensorData::new(keep, [seq, batch, 1]), device),
            reverse_index: Tensor::from_data(TensorData::new(reverse, [seq, batch]), device),
        }))
    }
}

/// Reverses time-major `[seq, batch, features]` in time: each example's valid part when
/// `padding` is given (the padding stays in place), the whole sequence otherwise.
pub(crate) fn reverse_time(x: Tensor<3>, padding: Option<&Padding>) -> Tensor<3> {
    match padding {
        None => x.flip([0]),
        Some(p) => {
            let [seq, batch, features] = x.dims();
            let index = p
                .reverse_index
                .clone()
                .unsqueeze_dim::<3>(2)
                .expand([seq, batch, features]);
            x.gather(0, index)
        }
    }
}

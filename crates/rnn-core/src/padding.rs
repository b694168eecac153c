//! Variable-length batches: validated lengths ([`Lengths`]) turned, once, into masks and the
//! per-example time reversal used by backward directions.

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

use crate::error::{RnnError, check_lengths};

/// The valid lengths of a padded batch of `batch` sequences of `seq` steps, validated and
/// prepared once (masks and the time reversal of backward directions), for any number of
/// layers: [`Recurrent::forward`](crate::Recurrent::forward),
/// [`Bidirectional::forward`](crate::Bidirectional::forward). Padded examples give exactly
/// what they give alone, unpadded.
#[derive(Debug, Clone)]
pub struct Lengths {
    lengths: Vec<usize>,
    seq: usize,
    /// Where the masks live.
    device: Device,
    /// `None` when every sequence is full length (nothing to mask).
    padding: Option<Padding>,
}

impl Lengths {
    /// Checks `lengths` (one per example, each in `1..=seq`) and prepares them on `device`.
    pub fn new(lengths: &[usize], seq: usize, device: &Device) -> Result<Self, RnnError> {
        Self::try_for_batch("lengths", lengths, lengths.len(), seq, device)
    }

    /// [`new`](Self::new) for a batch of `batch` sequences (one length per example), with
    /// `argument` naming the lengths in errors (`source_lengths`, ...).
    pub fn try_for_batch(
        argument: &str,
        lengths: &[usize],
        batch: usize,
        seq: usize,
        device: &Device,
    ) -> Result<Self, RnnError> {
        check_lengths(argument, lengths, batch, seq)?;
        Ok(Self {
            padding: Padding::new(lengths, seq, batch, device),
            lengths: lengths.to_vec(),
            seq,
            device: device.clone(),
        })
    }

    /// The valid length of each example.
    pub fn lengths(&self) -> &[usize] {
        &self.lengths
    }

    /// Whether any example is shorter than the sequence (its steps past its length are
    /// padding).
    pub fn is_padded(&self) -> bool {
        self.padding.is_some()
    }

    /// Checks the lengths were made for a batch of `batch` sequences of `seq` steps on
    /// `device` (the input's, autodiff or not); `argument` names them in the error.
    pub(crate) fn check(
        &self,
        argument: &str,
        batch: usize,
        seq: usize,
        device: &Device,
    ) -> Result<(), RnnError> {
        if !crate::validate::same_device(&self.device, device) {
            return Err(RnnError::new(
                argument,
                format!("lengths prepared on the input's device ({device:?})"),
                format!("lengths prepared on {:?}", self.device),
            ));
        }
        if self.lengths.len() != batch || self.seq != seq {
            return Err(RnnError::new(
                argument,
                format!("lengths of {batch} sequences of {seq} steps (the input's)"),
                format!(
                    "lengths of {} sequences of {} steps",
                    self.lengths.len(),
                    self.seq
                ),
            ));
        }
        Ok(())
    }

    /// The masks, when anything is padded.
    pub(crate) fn padding(&self) -> Option<&Padding> {
        self.padding.as_ref()
    }
}

/// The masks of a padded, time-major batch.
#[derive(Debug, Clone)]
pub(crate) struct Padding {
    /// Valid length of each example.
    pub lengths: Vec<usize>,
    /// Longest valid length: steps past it are not computed.
    pub max_len: usize,
    /// `[seq, batch, 1]`: true where a step is valid, false in the padding.
    pub keep: Tensor<3, Bool>,
    /// `[seq * batch]`: the row (`t * batch + b`) of a time-major `[seq * batch, features]`
    /// that each row takes to reverse each example's valid part, the padding left in place.
    reverse_rows: Tensor<1, Int>,
}

impl Padding {
    /// The masks of valid `lengths` (checked by [`Lengths::try_for_batch`]) of a batch of
    /// `batch` sequences of `seq` steps; `None` when every sequence is full length (no masking
    /// needed).
    fn new(lengths: &[usize], seq: usize, batch: usize, device: &Device) -> Option<Self> {
        if lengths.iter().all(|&l| l == seq) {
            return None;
        }
        let mut keep = Vec::with_capacity(seq * batch);
        let mut reverse = Vec::with_capacity(seq * batch);
        for t in 0..seq {
            for (b, &len) in lengths.iter().enumerate() {
                keep.push(t < len);
                let from = if t < len { len - 1 - t } else { t };
                reverse.push((from * batch + b) as i64);
            }
        }
        Some(Self {
            lengths: lengths.to_vec(),
            max_len: *lengths.iter().max().expect("batch is not empty"),
            keep: Tensor::from_data(TensorData::new(keep, [seq, batch, 1]), device),
            reverse_rows: Tensor::from_data(TensorData::new(reverse, [seq * batch]), device),
        })
    }
}

/// Reverses time-major `[seq, batch, features]` in time: each example's valid part when
/// `padding` is given (the padding stays in place), the whole sequence otherwise.
pub(crate) fn reverse_time(x: Tensor<3>, padding: Option<&Padding>) -> Tensor<3> {
    match padding {
        None => x.flip([0]),
        // Whole rows selected: Burn's `gather` reads an index per element, many times slower
        // on the CPU backends (BENCHMARKS.md, 2026-12-06 18:30).
        Some(p) => {
            let [seq, batch, features] = x.dims();
            x.reshape([seq * batch, features])
                .select(0, p.reverse_rows.clone())
                .reshape([seq, batch, features])
        }
    }
}

/// Zeroes the padding of time-major `input: [seq, batch, features]`: its values never count,
/// but a NaN or an infinity there would make NaN gradients (`0 · ∞`) where the padded steps'
/// zero gradients meet the weights.
pub(crate) fn zero_padding(input: Tensor<3>, padding: Option<&Padding>) -> Tensor<3> {
    match padding {
        Some(p) => {
            let dims = input.dims();
            input.mask_fill(p.keep.clone().bool_not().expand(dims), 0.0)
        }
        None => input,
    }
}

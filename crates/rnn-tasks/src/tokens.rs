//! Token ids: validation against a vocabulary and padding of variable-length batches.

use burn::tensor::{Device, Int, Tensor, TensorData};
use rnn_core::RnnError;

/// Checks every id in `tokens` is in `0..vocab_size`; `argument` names them in the error.
///
/// Reads the ids back from the device (one small transfer).
pub fn check_tokens<const D: usize>(
    argument: &str,
    tokens: &Tensor<D, Int>,
    vocab_size: usize,
) -> Result<(), RnnError> {
    let data = tokens.clone().into_data();
    if let Some(bad) = data
        .iter::<i64>()
        .find(|&id| id < 0 || id as u64 >= vocab_size as u64)
    {
        return Err(RnnError::new(
            argument,
            format!("token ids in 0..{vocab_size} (the vocabulary size)"),
            format!("id {bad}"),
        ));
    }
    Ok(())
}

/// A batch of token sequences padded to a common length.
#[derive(Debug, Clone)]
pub struct PaddedTokens {
    /// `[batch, longest]` token ids, `pad` past each sequence's end.
    pub tokens: Tensor<2, Int>,
    /// The length of each sequence.
    pub lengths: Vec<usize>,
}

impl PaddedTokens {
    /// Pads `sequences` with `pad` to the longest one's length.
    ///
    /// # Panics
    /// If `sequences` is empty or one of them is (a head cannot run an empty sequence).
    pub fn new(sequences: &[Vec<usize>], pad: usize, device: &Device) -> Self {
        assert!(
            !sequences.is_empty(),
            "sequences: expected at least one, got 0"
        );
        if let Some(i) = sequences.iter().position(Vec::is_empty) {
            panic!("sequences[{i}]: expected at least one token, got an empty sequence");
        }
        let longest = sequences.iter().map(Vec::len).max().unwrap_or(0);
        let ids: Vec<i64> = sequences
            .iter()
            .flat_map(|s| {
                s.iter()
                    .copied()
                    .chain(std::iter::repeat(pad))
                    .take(longest)
                    .map(|id| id as i64)
            })
            .collect();
        Self {
            tokens: Tensor::from_data(TensorData::new(ids, [sequences.len(), longest]), device),
            lengths: sequences.iter().map(Vec::len).collect(),
        }
    }
}

/// Ids `[n]` as a 1-D int tensor.
pub(crate) fn from_ids(ids: &[usize], device: &Device) -> Tensor<1, Int> {
    let ids: Vec<i64> = ids.iter().map(|&id| id as i64).collect();
    let n = ids.len();
    Tensor::from_data(TensorData::new(ids, [n]), device)
}

//! What a head needs of its recurrent encoder, so that the classifier and the tagger run over
//! any cell: the configured [`AnyRnn`], or a stacked [`Rnn`] of a cell defined elsewhere.

use burn::module::{Module, ModuleDisplay};
use burn::tensor::Tensor;
use rnn_core::{
    AnyRnn, Cell, CellState, Lengths, MergeMode, Rnn, RnnError, RnnLayer, RnnOutput, RnnState,
};

/// A recurrent network a head reads its sequence through: implemented for [`AnyRnn`] (what
/// the heads' configs build) and for [`Rnn<C>`] over every [`Cell`] `C`, built-in or not.
///
/// The head is batch-first whatever the network's own layout.
pub trait SequenceEncoder: Module + ModuleDisplay {
    /// The network's state, parts `[num_layers * num_directions, batch, size]`, the hidden
    /// state `h` first ([`RnnState<3>`](rnn_core::RnnState) for the built-in cells).
    type State: CellState<3>;

    /// Size of the input features.
    fn input_size(&self) -> usize;

    /// Size of the output features (the last layer's directions merged).
    fn output_size(&self) -> usize;

    /// How the last layer merges its two directions; `None` when it runs one way.
    fn last_merge(&self) -> Option<MergeMode>;

    /// Runs the network from the zero state over `input: [batch, seq, input]` whose examples
    /// have the valid `lengths` (`None`: all full length).
    ///
    /// Returns the outputs `[batch, seq, output]`, zero past each length, and the final state.
    fn try_encode(
        &self,
        input: Tensor<3>,
        lengths: Option<&Lengths>,
    ) -> Result<RnnOutput<Self::State>, RnnError>;
}

impl<C: Cell> SequenceEncoder for Rnn<C> {
    type State = C::State<3>;

    fn input_size(&self) -> usize {
        Rnn::input_size(self)
    }

    fn output_size(&self) -> usize {
        Rnn::output_size(self)
    }

    fn last_merge(&self) -> Option<MergeMode> {
        match self.layers.last() {
            Some(RnnLayer::Bidirectional(b)) => Some(b.merge),
            _ => None,
        }
    }

    fn try_encode(
        &self,
        input: Tensor<3>,
        lengths: Option<&Lengths>,
    ) -> Result<RnnOutput<Self::State>, RnnError> {
        // A network built time-major reads (and writes) the head's batch transposed.
        let layout = |x: Tensor<3>| {
            if self.batch_first {
                x
            } else {
                x.swap_dims(0, 1)
            }
        };
        let out = self.try_forward_lengths(layout(input), None, lengths)?;
        Ok(RnnOutput {
            output: layout(out.output),
            state: out.state,
        })
    }
}

impl SequenceEncoder for AnyRnn {
    type State = RnnState<3>;

    fn input_size(&self) -> usize {
        AnyRnn::input_size(self)
    }

    fn output_size(&self) -> usize {
        AnyRnn::output_size(self)
    }

    fn last_merge(&self) -> Option<MergeMode> {
        rnn_core::with_any_rnn!(self, r => r.last_merge())
    }

    fn try_encode(
        &self,
        input: Tensor<3>,
        lengths: Option<&Lengths>,
    ) -> Result<RnnOutput<Self::State>, RnnError> {
        let out = rnn_core::with_any_rnn!(self, r => {
            let out = r.try_encode(input, lengths)?;
            RnnOutput {
                output: out.output,
                state: RnnState::from_parts(out.state.into_parts()),
            }
        });
        Ok(out)
    }
}

/// The last layer's part of one part of `encoder`'s final state, its directions merged as
/// the encoder merges its outputs: `[num_layers * num_directions, batch, size]` →
/// `[batch, merged size]` (for the default concatenation, forward then backward:
/// `[batch, 2 * size]`).
pub(crate) fn last_layer(encoder: &impl SequenceEncoder, part: Tensor<3>) -> Tensor<2> {
    let rows = part.dims()[0];
    let row = |row: usize| part.clone().narrow(0, row, 1).squeeze_dim::<2>(0);
    match encoder.last_merge() {
        Some(merge) => merge.merge(row(rows - 2), row(rows - 1)),
        None => row(rows - 1),
    }
}

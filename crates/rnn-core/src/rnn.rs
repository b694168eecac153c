//! Stacked (and optionally bidirectional) recurrent layers with PyTorch's semantics.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig};
use burn::tensor::{Device, Tensor, TensorCreationOptions};

use crate::arguments::{check_cells, check_features, check_input};
use crate::cell::step_unchecked;
use crate::error::RnnError;
use crate::fused::OutputLayout;
use crate::padding::zero_padding;
use crate::state::{stack, unstack};
use crate::validate::{check_dropout, check_positive, check_proj_size};
use crate::{
    Bidirectional, Cell, CellConfig, CellState, ElmanCell, ForgetGate, GruCell, Lengths, LstmCell,
    MergeMode, MinGruCell, MinLstmCell, MlstmCell, Nonlinearity, Recurrent, RnnState, SlstmCell,
};

/// A stacked LSTM (`torch.nn.LSTM`).
pub type Lstm = Rnn<LstmCell>;
/// A stacked GRU (`torch.nn.GRU`).
pub type Gru = Rnn<GruCell>;
/// A stacked Elman RNN (`torch.nn.RNN`).
pub type Elman = Rnn<ElmanCell>;
/// A stacked minGRU (Feng et al. 2024).
pub type MinGru = Rnn<MinGruCell>;
/// A stacked minLSTM (Feng et al. 2024).
pub type MinLstm = Rnn<MinLstmCell>;
/// A stacked sLSTM (xLSTM, Beck et al. 2024).
pub type Slstm = Rnn<SlstmCell>;
/// A stacked mLSTM (xLSTM, Beck et al. 2024).
pub type Mlstm = Rnn<MlstmCell>;

/// Configuration of a stacked recurrent network; the cell type is chosen at
/// [`init`](RnnConfig::init): `let lstm: Lstm = RnnConfig::new(8, 16).init(&device);`
#[derive(Config, Debug)]
pub struct RnnConfig {
    /// Size of the input features.
    pub input_size: usize,
    /// Number of hidden units of each direction (the size of its hidden state, unless
    /// projected).
    pub hidden_size: usize,
    /// Size of the projection of each LSTM cell's hidden state (PyTorch's `proj_size`): when
    /// positive, `h` (the outputs and `h_n`) has this many values per direction instead of
    /// `hidden_size`, and must be fewer. 0 (the default): no projection. LSTM only.
    #[config(default = 0)]
    pub proj_size: usize,
    /// Number of stacked layers.
    #[config(default = 1)]
    pub num_layers: usize,
    /// Whether each layer runs in both directions.
    #[config(default = false)]
    pub bidirectional: bool,
    /// How a bidirectional layer combines its two directions (PyTorch: concat).
    #[config(default = "MergeMode::Concat")]
    pub merge: MergeMode,
    /// Dropout on the outputs of every layer but the last, in training only (PyTorch's `dropout`).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Whether the cells have biases.
    #[config(default = true)]
    pub bias: bool,
    /// Whether inputs and outputs are `[batch, seq, features]` (true) or `[seq, batch, features]`.
    #[config(default = true)]
    pub batch_first: bool,
    /// Nonlinearity of Elman cells; other cells ignore it.
    #[config(default = "Nonlinearity::Tanh")]
    pub nonlinearity: Nonlinearity,
    /// Number of heads of sLSTM and mLSTM cells ([`CellConfig::num_heads`]); 1 for other
    /// cells.
    #[config(default = 1)]
    pub num_heads: usize,
    /// The forget gates of sLSTM and mLSTM cells ([`CellConfig::forget_gate`]).
    #[config(default = "ForgetGate::Sigmoid")]
    pub forget_gate: ForgetGate,
    /// Steps an mLSTM runs at once ([`CellConfig::chunk_size`]).
    #[config(default = 64)]
    pub chunk_size: usize,
}

impl RnnConfig {
    /// Checks sizes and layer count are positive, a projection is smaller than the hidden
    /// size and dropout is in `[0, 1)`.
    pub fn validate(&self) -> Result<(), RnnError> {
        check_positive("input_size", self.input_size)?;
        check_positive("hidden_size", self.hidden_size)?;
        check_proj_size(self.proj_size, self.hidden_size)?;
        check_positive("num_layers", self.num_layers)?;
        check_dropout("dropout", self.dropout)
    }

    /// Size of each direction's hidden state `h` (and of its outputs): `proj_size` for a
    /// projecting LSTM, else `hidden_size`. The cell state `c` keeps `hidden_size` values.
    pub fn state_size(&self) -> usize {
        match self.proj_size {
            0 => self.hidden_size,
            proj => proj,
        }
    }

    /// Size of every layer's output features, and so of the network's outputs
    /// ([`Rnn::output_size`]): the [`state_size`](Self::state_size), or when bidirectional
    /// the two directions merged ([`MergeMode::output_size`]; twice the state size for the
    /// default concatenation).
    pub fn output_size(&self) -> usize {
        if self.bidirectional {
            self.merge.output_size(self.state_size())
        } else {
            self.state_size()
        }
    }

    /// Creates the network, or says which field is invalid (also a projection for a cell type
    /// that has none).
    pub fn try_init<C: Cell>(&self, device: &Device) -> Result<Rnn<C>, RnnError> {
        self.validate()?;
        let layer_output = self.output_size();
        let layers = (0..self.num_layers)
            .map(|l| {
                let input_size = if l == 0 {
                    self.input_size
                } else {
                    layer_output
                };
                let cell = CellConfig::new(input_size, self.hidden_size)
                    .with_proj_size(self.proj_size)
                    .with_bias(self.bias)
                    .with_nonlinearity(self.nonlinearity)
                    .with_num_heads(self.num_heads)
                    .with_forget_gate(self.forget_gate)
                    .with_chunk_size(self.chunk_size);
                Ok(if self.bidirectional {
                    RnnLayer::Bidirectional(Bidirectional::new(
                        cell.try_init(device)?,
                        cell.try_init(device)?,
                        self.merge,
                    ))
                } else {
                    RnnLayer::Unidirectional(Recurrent::new(cell.try_init(device)?, false))
                })
            })
            .collect::<Result<_, RnnError>>()?;
        Ok(Rnn {
            layers,
            dropout: DropoutConfig::new(self.dropout).init(),
            batch_first: self.batch_first,
        })
    }

    /// Creates the network.
    ///
    /// # Panics
    /// If the config is invalid (see [`try_init`](Self::try_init)); the message names the field.
    pub fn init<C: Cell>(&self, device: &Device) -> Rnn<C> {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// The lengths [`Rnn::run_checked`] is given: to validate, or validated already.
enum LengthsArg<'a> {
    Slice(&'a [usize]),
    Prepared(&'a Lengths),
}

/// One layer of an [`Rnn`]: a single direction or both.
#[derive(Module, Debug)]
pub enum RnnLayer<C: Cell> {
    /// Forward in time only.
    Unidirectional(Recurrent<C>),
    /// Forward and backward, merged.
    Bidirectional(Bidirectional<C>),
}

impl<C: Cell> RnnLayer<C> {
    /// The layer's cells: `[forward]` or `[forward, backward]`.
    fn cells(&self) -> Vec<&C> {
        match self {
            RnnLayer::Unidirectional(r) => vec![&r.cell],
            RnnLayer::Bidirectional(b) => vec![&b.forward.cell, &b.backward.cell],
        }
    }

    fn cells_mut(&mut self) -> Vec<&mut C> {
        match self {
            RnnLayer::Unidirectional(r) => vec![&mut r.cell],
            RnnLayer::Bidirectional(b) => vec![&mut b.forward.cell, &mut b.backward.cell],
        }
    }
}

/// What [`Rnn::forward`] returns; `S` is the network's state, the cell's `State<3>`
/// ([`RnnState`] for the built-in cells).
#[derive(Debug, Clone)]
pub struct RnnOutput<S = RnnState<3>> {
    /// Outputs of the last layer: `[batch, seq, D * output]` when batch-first (else
    /// `[seq, batch, ..]`), with `D` = 2 for a concatenating bidirectional network, 1 otherwise,
    /// and `output` the hidden size (or the projection size of a projecting LSTM).
    /// Zero past each example's length.
    pub output: Tensor<3>,
    /// Final states (PyTorch's `h_n`, `c_n`): `hidden` is
    /// `[num_layers * num_directions, batch, output]`, `cell` (LSTM)
    /// `[num_layers * num_directions, batch, hidden]`.
    pub state: S,
}

/// A stacked, optionally bidirectional recurrent network over any [`Cell`]: the equivalent of
/// `torch.nn.RNN`/`LSTM`/`GRU`. Create with [`RnnConfig`]; see [`Lstm`], [`Gru`], [`Elman`].
#[derive(Module, Debug)]
pub struct Rnn<C: Cell> {
    /// The layers, first to last.
    pub layers: Vec<RnnLayer<C>>,
    /// Dropout between layers (training only).
    pub dropout: Dropout,
    /// Whether inputs and outputs are batch-first.
    pub batch_first: bool,
}

impl<C: Cell> Rnn<C> {
    /// Size of the input features.
    pub fn input_size(&self) -> usize {
        self.layers[0].cells()[0].input_size()
    }

    /// Number of hidden units of each direction.
    pub fn hidden_size(&self) -> usize {
        self.layers[0].cells()[0].hidden_size()
    }

    /// Size of the projection of each direction's hidden state (PyTorch's `proj_size`); 0
    /// when the cells do not project.
    pub fn proj_size(&self) -> usize {
        match self.state_size() {
            state if state != self.hidden_size() => state,
            _ => 0,
        }
    }

    /// Size of each direction's hidden state `h`: the projection size, else the hidden size.
    pub fn state_size(&self) -> usize {
        self.layers[0].cells()[0].output_size()
    }

    /// Number of stacked layers.
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// 2 when bidirectional, else 1.
    pub fn num_directions(&self) -> usize {
        self.layers[0].cells().len()
    }

    /// The cells in PyTorch's order: layer 0 forward, layer 0 backward, layer 1 forward, ...
    /// (the order of `h_n` and of the `_l{k}` / `_l{k}_reverse` weights).
    pub fn cells(&self) -> Vec<&C> {
        self.layers.iter().flat_map(RnnLayer::cells).collect()
    }

    /// The cells, mutably, in the order of [`cells`](Self::cells).
    pub fn cells_mut(&mut self) -> Vec<&mut C> {
        self.layers
            .iter_mut()
            .flat_map(RnnLayer::cells_mut)
            .collect()
    }

    /// Runs the network.
    ///
    /// - `input`: `[batch, seq, input]` (or `[seq, batch, input]` when not batch-first).
    /// - `state`: initial state, parts `[num_layers * num_directions, batch, hidden]` (`hidden`
    ///   is `[.., proj_size]` for a projecting LSTM); zeros when `None`. An LSTM needs both
    ///   `hidden` and `cell`; others only `hidden`.
    /// - `lengths`: valid length of each example (`1..=seq`), for padded batches; `None` means
    ///   all are full length. Padded examples give exactly what they give alone, unpadded.
    ///
    /// # Panics
    /// On bad arguments, with the message of [`try_forward`](Self::try_forward).
    pub fn forward(
        &self,
        input: Tensor<3>,
        state: Option<C::State<3>>,
        lengths: Option<&[usize]>,
    ) -> RnnOutput<C::State<3>> {
        self.try_forward(input, state, lengths)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`forward`](Self::forward), returning an error naming the bad argument instead of panicking.
    pub fn try_forward(
        &self,
        input: Tensor<3>,
        state: Option<C::State<3>>,
        lengths: Option<&[usize]>,
    ) -> Result<RnnOutput<C::State<3>>, RnnError> {
        self.run_checked(input, state, lengths.map(LengthsArg::Slice))
    }

    /// [`try_forward`](Self::try_forward) with lengths validated and prepared already (for a
    /// head that checked them under its own argument name, or reuses them for several
    /// networks); they must be for this input's batch and sequence length.
    pub fn try_forward_lengths(
        &self,
        input: Tensor<3>,
        state: Option<C::State<3>>,
        lengths: Option<&Lengths>,
    ) -> Result<RnnOutput<C::State<3>>, RnnError> {
        self.run_checked(input, state, lengths.map(LengthsArg::Prepared))
    }

    /// Checks the arguments (the input, the parameters, the state, then the lengths) and runs
    /// the network.
    fn run_checked(
        &self,
        input: Tensor<3>,
        state: Option<C::State<3>>,
        lengths: Option<LengthsArg<'_>>,
    ) -> Result<RnnOutput<C::State<3>>, RnnError> {
        self.check_layers()?;
        let input = if self.batch_first {
            input.swap_dims(0, 1)
        } else {
            input
        };
        let [seq, batch, _] = input.dims();
        check_input(&input, self.batch_first, self.input_size())?;
        self.check_parameters(&input)?;
        if let Some(state) = &state {
            self.check_state(state, batch, &input)?;
        }
        let prepared;
        let lengths = match lengths {
            Some(LengthsArg::Slice(lengths)) => {
                prepared = Lengths::try_for_batch("lengths", lengths, batch, seq, &input.device())?;
                Some(&prepared)
            }
            Some(LengthsArg::Prepared(lengths)) => {
                lengths.check("lengths", batch, seq, &input.device())?;
                Some(lengths)
            }
            None => None,
        };
        let padding = lengths.and_then(Lengths::padding);
        // Later layers read outputs that are zero in the padding.
        let input = zero_padding(input, padding);

        let mut states = state.map(unstack::<_, C::State<2>>).map(Vec::into_iter);
        let mut finals = Vec::with_capacity(self.layers.len() * self.num_directions());
        let mut x = input;
        for (l, layer) in self.layers.iter().enumerate() {
            if l > 0 {
                x = self.dropout.forward(x);
            }
            x = match layer {
                RnnLayer::Unidirectional(r) => {
                    let initial = states.as_mut().and_then(Iterator::next);
                    // The last layer's outputs go to the caller, batch-first or not.
                    let layout = if l + 1 == self.layers.len() && self.batch_first {
                        OutputLayout::BatchMajor
                    } else {
                        OutputLayout::TimeMajor
                    };
                    let (out, last) = r.run(x, initial, padding, layout);
                    finals.push(last);
                    out
                }
                RnnLayer::Bidirectional(b) => {
                    let initial = states.as_mut().and_then(|s| s.next().zip(s.next()));
                    let (out, (last_fwd, last_bwd)) = b.run(x, initial, padding);
                    finals.extend([last_fwd, last_bwd]);
                    out
                }
            };
        }
        Ok(RnnOutput {
            output: if self.batch_first {
                x.swap_dims(0, 1)
            } else {
                x
            },
            state: stack(finals),
        })
    }

    /// Size of the output features: `hidden` (or `proj_size` when projecting), twice that for
    /// a concatenating bidirectional network.
    pub fn output_size(&self) -> usize {
        match &self.layers[self.layers.len() - 1] {
            RnnLayer::Unidirectional(_) => self.state_size(),
            RnnLayer::Bidirectional(b) => b.merge.output_size(self.state_size()),
        }
    }

    /// Shapes of the state's parts, `[num_layers * num_directions, batch, size]`, with the
    /// name of each size (see [`Cell::state_sizes`]).
    fn state_shapes(&self, batch: usize) -> Vec<([usize; 3], &'static str)> {
        let cells = self.num_layers() * self.num_directions();
        let first = self.layers[0].cells()[0];
        first
            .state_sizes()
            .into_iter()
            .map(|(size, name)| ([cells, batch, size], name))
            .collect()
    }

    /// The all-zero initial state for `batch` examples: parts
    /// `[num_layers * num_directions, batch, size]` (`h`: `[.., hidden]`, or `[.., proj_size]`
    /// when projecting; an LSTM's `c`: `[.., hidden]`), made as `options` say: on a `&Device`
    /// in its default float dtype, or `(&device, dtype)` in another.
    pub fn zero_state(
        &self,
        batch: usize,
        options: impl Into<TensorCreationOptions>,
    ) -> C::State<3> {
        let options = options.into();
        let shapes = self.state_shapes(batch).into_iter();
        C::State::from_parts(
            shapes
                .map(|(shape, _)| Tensor::zeros(shape, options.clone()))
                .collect(),
        )
    }

    /// Advances a unidirectional network by one timestep, for decoders that produce their
    /// next input from the previous output.
    ///
    /// - `input`: `[batch, input]`.
    /// - `state`: parts `[num_layers, batch, hidden]` (`hidden`: `[.., proj_size]` when
    ///   projecting); zeros when `None`.
    ///
    /// Returns the last layer's output `[batch, output]` and the next state (same shape as
    /// `state`). Running `step` over a sequence gives exactly what [`forward`](Self::forward)
    /// gives.
    ///
    /// # Panics
    /// On bad arguments, with the message of [`try_step`](Self::try_step).
    pub fn step(&self, input: Tensor<2>, state: Option<C::State<3>>) -> (Tensor<2>, C::State<3>) {
        self.try_step(input, state)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`step`](Self::step), returning an error naming the bad argument instead of panicking.
    pub fn try_step(
        &self,
        input: Tensor<2>,
        state: Option<C::State<3>>,
    ) -> Result<(Tensor<2>, C::State<3>), RnnError> {
        self.check_layers()?;
        if self.num_directions() != 1 {
            return Err(RnnError::new(
                "self",
                "a unidirectional network (a bidirectional one needs the whole sequence)",
                "a bidirectional network",
            ));
        }
        let [batch, features] = input.dims();
        if batch == 0 {
            return Err(RnnError::new("input", "a non-empty batch", "batch size 0"));
        }
        check_features(features, self.input_size())?;
        self.check_parameters(&input)?;
        let state = match state {
            Some(state) => {
                self.check_state(&state, batch, &input)?;
                state
            }
            None => self.zero_state(batch, (&input.device(), input.dtype())),
        };
        let mut next = Vec::with_capacity(self.layers.len());
        let mut x = input;
        let states: Vec<C::State<2>> = unstack(state);
        for (l, (cell, state)) in self.cells().into_iter().zip(states).enumerate() {
            if l > 0 {
                x = self.dropout.forward(x);
            }
            let s = step_unchecked(cell, x, state);
            x = s.output();
            next.push(s);
        }
        Ok((x, stack(next)))
    }

    /// Checks there is a layer and every layer has the first one's directions and merge (the
    /// fields are public: a network assembled by hand), which the state's layout and the
    /// layers' input sizes assume.
    pub(crate) fn check_layers(&self) -> Result<(), RnnError> {
        let Some(first) = self.layers.first() else {
            return Err(RnnError::new("layers", "at least one layer", "none"));
        };
        let kind = |layer: &RnnLayer<C>| match layer {
            RnnLayer::Unidirectional(_) => None,
            RnnLayer::Bidirectional(b) => Some(b.merge),
        };
        let describe = |layer: &RnnLayer<C>| match kind(layer) {
            None => "unidirectional".to_string(),
            Some(merge) => format!("bidirectional, merged by {merge:?}"),
        };
        match self
            .layers
            .iter()
            .enumerate()
            .find(|(_, layer)| kind(layer) != kind(first))
        {
            Some((k, layer)) => Err(RnnError::new(
                format!("layers[{k}]"),
                format!("a layer like layers[0] ({})", describe(first)),
                describe(layer),
            )),
            None => Ok(()),
        }
    }

    /// Checks every cell's parameters (see [`check_cells`]): the first layer's cells read the
    /// input, the others the previous layer's merged output.
    fn check_parameters<const D: usize>(&self, input: &Tensor<D>) -> Result<(), RnnError> {
        let merged = |state: usize| match &self.layers[0] {
            RnnLayer::Unidirectional(_) => state,
            RnnLayer::Bidirectional(b) => b.merge.output_size(state),
        };
        let first = [self.input_size(), self.num_directions()];
        check_cells(&self.cells(), first, merged, input)
    }

    /// Checks an initial `state` for `batch` examples of `input` (its dtype and device).
    fn check_state<const D: usize>(
        &self,
        state: &C::State<3>,
        batch: usize,
        input: &Tensor<D>,
    ) -> Result<(), RnnError> {
        let layout = "[num_layers * num_directions, batch, size]";
        let shapes = self.state_shapes(batch);
        state.check(&shapes, layout, C::NAME, input.dtype(), &input.device())
    }
}

//! Recurrent layers for [Burn](https://burn.dev): Elman RNN, LSTM and GRU, stacked and
//! bidirectional, with initial/final states and variable-length (padded) batches, computing
//! exactly what PyTorch's `torch.nn.RNN`, `LSTM` and `GRU` compute; and the modern cells
//! (minGRU, minLSTM, xLSTM's sLSTM and mLSTM, and the xLSTM blocks in [`xlstm`]), computing
//! what their reference packages compute.
//!
//! The design keeps the cell apart from what drives it (as candle's `RNN` trait and Flax's
//! `nn.RNN(cell)` do):
//! - a [`Cell`] ([`ElmanCell`], [`LstmCell`], [`GruCell`], [`MinGruCell`], [`MinLstmCell`],
//!   [`SlstmCell`], [`MlstmCell`], or one of your own) does one timestep, with all gates fused
//!   into one weight per input side (its [`Cell::Weights`]: [`FusedWeights`] for the classic
//!   cells); its state is its own type ([`Cell::State`], a [`CellState`]: [`RnnState`] for the
//!   classic and minimal cells, [`SlstmState`], [`MlstmState`]), it checks the options and
//!   parameters it has, and it may run a whole sequence at once
//!   ([`Cell::sequence_projected`]: the minimal cells' parallel scan, the mLSTM's chunkwise
//!   form);
//! - [`Recurrent`] runs any cell over a sequence in one direction;
//! - [`Bidirectional`] runs two, and [`Rnn`] stacks layers (dropout, PyTorch-shaped states);
//!   all three run on their own, with [`Lengths`] for padded batches.
//!
//! On the ndarray and flex backends the classic cells and the sLSTM run as fused kernels (a whole sequence
//! in one operation with a hand-written backward through time; each cell's kernel math lives
//! next to its tensor step, `cell/lstm/kernel.rs`, ...); on other backends, and for cells
//! defined elsewhere, step by step with Burn's tensor operations. The kernels use at most
//! [`kernel_threads`] threads over all concurrent calls together (the machine's cores, or the
//! `RNN_KERNEL_THREADS` environment variable, or [`set_kernel_threads`]).
//!
//! Modules run on every Burn backend: the backend is the [`Device`](burn::tensor::Device).
//!
//! ```
//! use burn::tensor::{Device, Distribution, Tensor};
//! use rnn_core::{Gru, Lstm, RnnConfig};
//!
//! let device = Device::default();
//! // A 2-layer LSTM over [batch = 3, seq = 5, features = 8].
//! let lstm: Lstm = RnnConfig::new(8, 16).with_num_layers(2).init(&device);
//! let x = Tensor::<3>::random([3, 5, 8], Distribution::Default, &device);
//! let out = lstm.forward(x.clone(), None, None);
//! assert_eq!(out.output.dims(), [3, 5, 16]);
//! assert_eq!(out.state.hidden.dims(), [2, 3, 16]); // [layers * directions, batch, hidden]
//!
//! // A bidirectional GRU over a padded batch: the examples have 5, 2 and 4 valid steps.
//! let gru: Gru = RnnConfig::new(8, 16).with_bidirectional(true).init(&device);
//! let out = gru.forward(x, None, Some(&[5, 2, 4]));
//! assert_eq!(out.output.dims(), [3, 5, 32]); // forward and backward concatenated
//! ```

#![warn(missing_docs)]

mod activation;
mod any;
mod arguments;
mod bidirectional;
pub mod cell;
mod dropout;
mod error;
// Without the `ndarray` and `flex` features no backend implements the kernels and every
// layer runs the step-by-step driver.
#[cfg_attr(not(any(feature = "ndarray", feature = "flex")), allow(unused))]
mod fused;
mod linear;
mod loss;
mod padding;
#[cfg(feature = "pytorch")]
pub mod pytorch;
mod recurrent;
mod rnn;
mod scan;
mod state;
mod top_k;
pub mod validate;
mod weights;
pub mod xlstm;

pub use activation::{log_softmax, tanh};
pub use any::{AnyRnn, CellKind};
pub use bidirectional::{Bidirectional, MergeMode};
pub use cell::{
    Cell, CellConfig, ElmanCell, ForgetGate, GruCell, LstmCell, MinGruCell, MinLstmCell, MlstmCell,
    MlstmState, Nonlinearity, SlstmCell, SlstmState,
};
pub use dropout::dropout_layer;
pub use error::{RnnError, check_lengths};
pub use fused::dropout::dropout_runs_on_this_thread;
pub use fused::linear::linear_runs_on_this_thread;
pub use fused::log_softmax::log_softmax_runs_on_this_thread;
pub use fused::packed_cache::packed_weights_reused_on_this_thread;
pub use fused::tanh::tanh_runs_on_this_thread;
pub use fused::top_k::top_k_runs_on_this_thread;
pub use fused::{
    KernelIsa, kernel_isa, kernel_runs_on_this_thread, kernel_threads, set_kernel_threads,
};
pub use linear::{linear, linear_layer};
pub use loss::{cross_entropy_in_tensor_ops, weighted_cross_entropy};
pub use padding::Lengths;
pub use recurrent::Recurrent;
pub use rnn::{
    Elman, Gru, Lstm, MinGru, MinLstm, Mlstm, Rnn, RnnConfig, RnnLayer, RnnOutput, Slstm,
};
pub use state::{CellState, RnnState};
pub use top_k::topk_with_indices;
pub use weights::{CellWeights, FusedWeights};

//! The cells compared, in the tables' order, and the network each is stacked into.

use rnn_tasks::CellKind;
use rnn_tasks::rnn_core::RnnConfig;

/// Every cell of the comparison, in the order of the tables: LSTM and GRU (memory mixing
/// through the full recurrent matrix), sLSTM (exponential gating, memory mixing within each
/// head), mLSTM (a matrix memory per head, no recurrence through `h`), minGRU and minLSTM
/// (gates from the input alone, a parallel scan).
pub const CELLS: [CellKind; 6] = [
    CellKind::Lstm,
    CellKind::Gru,
    CellKind::Slstm,
    CellKind::Mlstm,
    CellKind::MinGru,
    CellKind::MinLstm,
];

/// Whether the state's next value depends on the whole previous state through a
/// nonlinearity (the paper's "memory mixing", which state tracking needs).
pub fn mixes_memory(cell: CellKind) -> bool {
    matches!(
        cell,
        CellKind::Lstm | CellKind::Gru | CellKind::Elman | CellKind::Slstm
    )
}

/// The network of `cell` over `input` features: `layers` layers of `hidden` units, in
/// `heads` heads for the xLSTM cells (an mLSTM runs its chunkwise form, 64 steps at a time:
/// the parallel form over the training lengths).
pub fn network(
    cell: CellKind,
    input: usize,
    hidden: usize,
    layers: usize,
    heads: usize,
) -> RnnConfig {
    let has_heads = matches!(cell, CellKind::Slstm | CellKind::Mlstm);
    RnnConfig::new(input, hidden)
        .with_num_layers(layers)
        .with_num_heads(if has_heads { heads } else { 1 })
}

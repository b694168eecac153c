//! The cells compared, their `--cells` names, and the network each is stacked into.

use rnn_tasks::rnn_core::RnnConfig;

/// A recurrent cell of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskCell {
    /// LSTM: memory mixing through the full recurrent matrix.
    Lstm,
    /// GRU: memory mixing likewise.
    Gru,
    /// sLSTM: exponential gating, memory mixing within each head.
    Slstm,
    /// mLSTM: a matrix memory per head, no recurrence through `h` (no memory mixing).
    Mlstm,
    /// minGRU: gates from the input alone, a parallel scan (no memory mixing).
    MinGru,
    /// minLSTM: likewise, with separate forget and input gates.
    MinLstm,
}

impl TaskCell {
    /// Every cell, in the order of the tables.
    pub const ALL: [TaskCell; 6] = [
        TaskCell::Lstm,
        TaskCell::Gru,
        TaskCell::Slstm,
        TaskCell::Mlstm,
        TaskCell::MinGru,
        TaskCell::MinLstm,
    ];

    /// The cell's name in `--cells`.
    pub fn name(self) -> &'static str {
        match self {
            TaskCell::Lstm => "lstm",
            TaskCell::Gru => "gru",
            TaskCell::Slstm => "slstm",
            TaskCell::Mlstm => "mlstm",
            TaskCell::MinGru => "mingru",
            TaskCell::MinLstm => "minlstm",
        }
    }

    /// Whether the state's next value depends on the whole previous state through a
    /// nonlinearity (the paper's "memory mixing", which state tracking needs).
    pub fn mixes_memory(self) -> bool {
        matches!(self, TaskCell::Lstm | TaskCell::Gru | TaskCell::Slstm)
    }

    /// Whether the cell has heads ([`RnnConfig::num_heads`]).
    fn has_heads(self) -> bool {
        matches!(self, TaskCell::Slstm | TaskCell::Mlstm)
    }

    /// The network of this cell over `input` features: `layers` layers of `hidden` units,
    /// in `heads` heads for the xLSTM cells (an mLSTM runs its chunkwise form, 64 steps at a
    /// time: the parallel form over the training lengths).
    pub fn network(self, input: usize, hidden: usize, layers: usize, heads: usize) -> RnnConfig {
        RnnConfig::new(input, hidden)
            .with_num_layers(layers)
            .with_num_heads(if self.has_heads() { heads } else { 1 })
    }
}

/// A cell's name (`lstm`, `gru`, `slstm`, `mlstm`, `mingru` or `minlstm`).
pub fn parse_cell(name: &str) -> Result<TaskCell, String> {
    TaskCell::ALL
        .into_iter()
        .find(|c| c.name() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = TaskCell::ALL.iter().map(|c| c.name()).collect();
            format!("expected one of {}, got {name}", names.join(", "))
        })
}

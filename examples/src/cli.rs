//! Parsers for the flags the example programs share.

use rnn_tasks::{AttentionKind, CellKind, Pooling};

/// `lstm`, `gru` or `elman`.
pub fn parse_cell(name: &str) -> Result<CellKind, String> {
    match name {
        "lstm" => Ok(CellKind::Lstm),
        "gru" => Ok(CellKind::Gru),
        "elman" => Ok(CellKind::Elman),
        other => Err(format!("expected lstm, gru or elman, got {other}")),
    }
}

/// The flag value that [`parse_cell`] reads as `kind`.
pub fn cell_name(kind: CellKind) -> &'static str {
    match kind {
        CellKind::Lstm => "lstm",
        CellKind::Gru => "gru",
        CellKind::Elman => "elman",
    }
}

/// `last`, `mean`, `max` or `attention`.
pub fn parse_pooling(name: &str) -> Result<Pooling, String> {
    match name {
        "last" => Ok(Pooling::Last),
        "mean" => Ok(Pooling::Mean),
        "max" => Ok(Pooling::Max),
        "attention" => Ok(Pooling::Attention),
        other => Err(format!(
            "expected last, mean, max or attention, got {other}"
        )),
    }
}

/// `luong` (Luong's general score), `luong-dot` or `bahdanau`.
pub fn parse_attention(name: &str) -> Result<AttentionKind, String> {
    match name {
        "luong" => Ok(AttentionKind::LuongGeneral),
        "luong-dot" => Ok(AttentionKind::LuongDot),
        "bahdanau" => Ok(AttentionKind::Bahdanau),
        other => Err(format!(
            "expected luong, luong-dot or bahdanau, got {other}"
        )),
    }
}

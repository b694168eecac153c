//! Parsers for the flags the example programs share.

use rnn_tasks::{AttentionKind, CellKind, Pooling};

/// The cells the flags name, in the order their names are listed.
const CELLS: [CellKind; 3] = [CellKind::Lstm, CellKind::Gru, CellKind::Elman];

/// `lstm`, `gru` or `elman` (the names of [`cell_name`]).
pub fn parse_cell(name: &str) -> Result<CellKind, String> {
    CELLS
        .into_iter()
        .find(|&kind| cell_name(kind) == name)
        .ok_or_else(|| format!("expected lstm, gru or elman, got {name}"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_names_parse_back() {
        for kind in CELLS {
            assert_eq!(parse_cell(cell_name(kind)), Ok(kind));
        }
        assert_eq!(
            parse_cell("rnn"),
            Err("expected lstm, gru or elman, got rnn".to_string())
        );
    }
}

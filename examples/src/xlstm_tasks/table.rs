//! The markdown table of a run's results, one row per cell.

use std::ops::RangeInclusive;

use super::cells::mixes_memory;
use super::task::Task;
use super::train::CellResult;
use crate::cli::cell_name;

/// The table: cell, memory mixing, parameters, steps, best step, training time, and the
/// accuracy on each test range (`tests`, the task's), preceded by a line naming the task
/// and its chance level.
pub fn results_table(
    task: Task,
    tests: &[RangeInclusive<usize>],
    results: &[CellResult],
) -> String {
    let range = |r: &RangeInclusive<usize>| match r.start() == r.end() {
        true => format!("accuracy, length {}", r.start()),
        false => format!("accuracy, lengths {}–{}", r.start(), r.end()),
    };
    let mut lines = vec![
        format!(
            "{} (chance {:.3}; the best validation epoch's weights):",
            task.name(),
            1.0 / task.classes() as f64
        ),
        String::new(),
        format!(
            "| cell | memory mixing | parameters | steps | best step | training time | {} |",
            tests.iter().map(range).collect::<Vec<_>>().join(" | ")
        ),
        format!("|---|---|---|---|---|---|{}", "---|".repeat(tests.len())),
    ];
    for r in results {
        lines.push(format!(
            "| {} | {} | {} | {} | {} | {:.0} s | {} |",
            cell_name(r.cell),
            if mixes_memory(r.cell) { "yes" } else { "no" },
            r.parameters,
            r.steps,
            r.best_step,
            r.train_time.as_secs_f64(),
            r.accuracies
                .iter()
                .map(|a| format!("{a:.3}"))
                .collect::<Vec<_>>()
                .join(" | ")
        ));
    }
    lines.join("\n")
}

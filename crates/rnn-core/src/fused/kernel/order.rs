//! The order a run computes a padded batch's examples in: longest first within each lane, so
//! that the examples still running at any step are the first ones of every lane, and a step
//! multiplies only those rows (as PyTorch's packed sequences do), not the padding after them.
//!
//! The kernel reads its inputs in this order (a reordered copy of `x` and of the initial
//! state) and writes the outputs, the final states and the gradients of `x` and of the initial
//! state back in the caller's.

use std::ops::Range;

use super::super::pool;
use super::super::split::{Split, reorder_rows_into};
use super::OutputLayout;

/// Position → example: the run computes example `examples[p]` as its example `p`.
pub(crate) struct ExampleOrder {
    examples: Vec<usize>,
}

impl ExampleOrder {
    /// The order for examples of `lengths` shared out as `split`'s lanes: each lane's examples
    /// longest first (ties in the caller's order), and the lanes dealt the examples in turn,
    /// longest first, so that each gets its share of the long and of the short ones. `None`
    /// when that is the caller's own order (no lengths, or lengths in that order already).
    pub fn by_length(lengths: Option<&[usize]>, split: &Split) -> Option<Self> {
        let lengths = lengths?;
        let mut longest_first: Vec<usize> = (0..lengths.len()).collect();
        longest_first.sort_by_key(|&b| std::cmp::Reverse(lengths[b]));
        let mut lanes: Vec<Range<usize>> = split.lanes.iter().map(|l| l.examples.clone()).collect();
        // Lanes that split the hidden units all have every example: one of them deals them.
        lanes.dedup();
        let mut examples = vec![0; lengths.len()];
        let mut next: Vec<usize> = lanes.iter().map(|l| l.start).collect();
        let mut lane = 0;
        for b in longest_first {
            while next[lane] == lanes[lane].end {
                lane = (lane + 1) % lanes.len();
            }
            examples[next[lane]] = b;
            next[lane] += 1;
            lane = (lane + 1) % lanes.len();
        }
        let identity = examples.iter().enumerate().all(|(p, &b)| p == b);
        (!identity).then_some(Self { examples })
    }

    /// The example computed at each position.
    pub fn examples(&self) -> &[usize] {
        &self.examples
    }

    /// `values` (`blocks` blocks of one row of `width` values per example, in the caller's
    /// order) in the run's order.
    pub fn to_run(&self, values: &[f32], width: usize, blocks: usize) -> Vec<f32> {
        let mut out = pool::take(blocks * self.examples.len() * width);
        self.reorder(values, &mut out, width, false);
        out
    }

    /// The inverse of [`to_run`](Self::to_run): rows in the run's order back in the caller's.
    pub fn to_caller(&self, values: &[f32], width: usize, blocks: usize) -> Vec<f32> {
        let mut out = pool::take(blocks * self.examples.len() * width);
        self.reorder(values, &mut out, width, true);
        out
    }

    /// Each example's row of `values` to its position in the run (or, `back`, each
    /// position's row to its example), block by block.
    fn reorder(&self, values: &[f32], out: &mut [f32], width: usize, back: bool) {
        let batch = self.examples.len();
        let example = |row: usize| row - row % batch + self.examples[row % batch];
        reorder_rows_into(values, out, width, example, back);
    }
}

/// Row `t * batch + p` of a run's outputs (`[seq, batch]` rows, positions in the run's
/// `order`) → its row in the caller's `layout`, `b` the example at position `p`: `t * batch +
/// b` time-major, `b * seq + t` batch-major.
pub(crate) fn caller_row(
    order: Option<&ExampleOrder>,
    (seq, batch): (usize, usize),
    layout: OutputLayout,
) -> impl Fn(usize) -> usize + '_ {
    move |row| {
        let (t, p) = (row / batch, row % batch);
        let b = order.map_or(p, |o| o.examples[p]);
        match layout {
            OutputLayout::TimeMajor => t * batch + b,
            OutputLayout::BatchMajor => b * seq + t,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fused::split::split_among;

    fn order(lengths: &[usize], split: &Split) -> Option<Vec<usize>> {
        ExampleOrder::by_length(Some(lengths), split).map(|o| o.examples)
    }

    #[test]
    fn lanes_get_the_long_and_the_short_examples_in_turn() {
        // Two lanes of 6 examples (split by examples).
        let split = split_among(2, (4, 256), 12, 9, false);
        assert!(!split.meet);
        let lengths = [3, 9, 1, 4, 4, 8, 2, 7, 5, 6, 1, 2];
        let examples = order(&lengths, &split).unwrap();
        assert_eq!(examples, [1, 7, 8, 4, 6, 2, 5, 9, 3, 0, 11, 10]);
        for lane in [0..6, 6..12] {
            let of_lane: Vec<usize> = examples[lane].iter().map(|&b| lengths[b]).collect();
            assert!(of_lane.is_sorted_by(|a, b| a >= b), "{of_lane:?}");
        }
    }

    #[test]
    fn lanes_of_hidden_units_share_one_order() {
        let split = split_among(2, (4, 256), 5, 9, false);
        assert!(split.meet);
        assert_eq!(order(&[2, 5, 5, 1, 3], &split).unwrap(), [1, 2, 4, 0, 3]);
    }

    #[test]
    fn lanes_of_unequal_sizes_are_filled() {
        let split = split_among(2, (4, 256), 13, 9, false);
        let lengths: Vec<usize> = (1..=13).collect();
        let mut examples = order(&lengths, &split).unwrap();
        assert_eq!(examples[..6], [12, 10, 8, 6, 4, 2]);
        assert_eq!(examples[6..], [11, 9, 7, 5, 3, 1, 0]);
        examples.sort();
        assert_eq!(examples, (0..13).collect::<Vec<_>>());
    }

    #[test]
    fn no_order_when_the_callers_is_one_already() {
        let split = split_among(2, (4, 256), 4, 9, false);
        assert!(order(&[5, 5, 5, 5], &split).is_none());
        assert!(order(&[5, 4, 4, 1], &split).is_none());
        assert!(ExampleOrder::by_length(None, &split).is_none());
    }

    #[test]
    fn rows_go_to_the_run_and_back() {
        let split = split_among(2, (4, 256), 3, 9, false);
        let run = ExampleOrder::by_length(Some(&[1, 3, 2]), &split).unwrap();
        assert_eq!(run.examples(), [1, 2, 0]);
        // Two blocks (steps) of three examples of two values each.
        let values: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let reordered = run.to_run(&values, 2, 2);
        assert_eq!(
            reordered,
            [2., 3., 4., 5., 0., 1., 8., 9., 10., 11., 6., 7.]
        );
        assert_eq!(run.to_caller(&reordered, 2, 2), values);
    }

    #[test]
    fn the_runs_rows_are_the_callers_in_either_layout() {
        let split = split_among(2, (4, 256), 3, 9, false);
        let run = ExampleOrder::by_length(Some(&[1, 3, 2]), &split).unwrap();
        // Step 1 of the run's position 0 (example 1): row 3 of 2 × 3 time-major rows, row
        // 1 * 2 + 1 of the caller's batch-major ones, 1 * 3 + 1 of its time-major ones.
        let rows = |order, layout| -> Vec<usize> {
            (0..6).map(caller_row(order, (2, 3), layout)).collect()
        };
        assert_eq!(
            rows(Some(&run), OutputLayout::BatchMajor),
            [2, 4, 0, 3, 5, 1]
        );
        assert_eq!(rows(None, OutputLayout::BatchMajor), [0, 2, 4, 1, 3, 5]);
        assert_eq!(
            rows(Some(&run), OutputLayout::TimeMajor),
            [1, 2, 0, 4, 5, 3]
        );
        assert_eq!(rows(None, OutputLayout::TimeMajor), [0, 1, 2, 3, 4, 5]);
    }
}

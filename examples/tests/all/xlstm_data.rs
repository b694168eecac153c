//! The xLSTM tasks' data: each generator's examples have the lengths asked for and the
//! right targets (parity counted, arithmetic evaluated, recall looked up), the training set
//! draws fresh examples reproducibly, and batches point at their targets.

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::tensor::{Int, Tensor};
use burn_rnn_examples::cli::cell_name;
use burn_rnn_examples::xlstm_tasks::arithmetic::{MINUS, MODULUS, PLUS, VOCAB, evaluate};
use burn_rnn_examples::xlstm_tasks::{
    CELLS, Example, FreshDataset, Mqar, Task, TaskBatcher, examples, mixes_memory,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::programs::backend_of_tests;

fn ints<const D: usize>(t: Tensor<D, Int>) -> Vec<usize> {
    t.into_data().iter::<i64>().map(|v| v as usize).collect()
}

#[test]
fn parity_targets_the_parity_of_the_ones_at_the_last_bit() {
    let mut rng = StdRng::seed_from_u64(1);
    for length in [0, 1, 2, 17, 40, 256] {
        let e = Task::Parity.example(length, &mut rng);
        assert_eq!(e.tokens.len(), length.max(1));
        assert!(e.tokens.iter().all(|&t| t < 2));
        let ones: usize = e.tokens.iter().sum();
        assert_eq!(e.targets, vec![(e.tokens.len() - 1, ones % 2)]);
    }
}

#[test]
fn modular_arithmetic_targets_the_value_mod_5_at_the_last_number() {
    assert_eq!(evaluate(&[3, PLUS, 4, MINUS, 1]), Some(1));
    assert_eq!(evaluate(&[0, MINUS, 4]), Some(1));
    assert_eq!(evaluate(&[3, PLUS]), None);
    assert_eq!(evaluate(&[PLUS, 3]), None);
    let mut rng = StdRng::seed_from_u64(2);
    let mut values = [0; MODULUS];
    for length in (0..300).map(|i| i % 60) {
        let e = Task::ModArith.example(length, &mut rng);
        let n = e.tokens.len();
        assert!(
            n % 2 == 1 && n <= length.max(1) && n + 1 >= length,
            "{length}: {n}"
        );
        assert!(e.tokens.iter().all(|&t| t < VOCAB));
        let value = evaluate(&e.tokens).expect("an expression");
        assert_eq!(e.targets, vec![(n - 1, value)]);
        values[value] += 1;
    }
    assert!(values.iter().all(|&count| count > 30), "{values:?}");
}

#[test]
fn mqar_queries_keys_of_the_pairs_and_targets_their_values() {
    let mqar = Mqar::default();
    let mut rng = StdRng::seed_from_u64(3);
    for length in [0, 16, 64, 256] {
        let e = mqar.example(length, &mut rng);
        assert_eq!(e.tokens.len(), length.max(mqar.min_length()));
        let pairs: Vec<(usize, usize)> = (0..mqar.pairs)
            .map(|i| (e.tokens[2 * i], e.tokens[2 * i + 1]))
            .collect();
        let mut keys: Vec<usize> = pairs.iter().map(|p| p.0).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), mqar.pairs, "distinct keys: {pairs:?}");
        for &(key, value) in &pairs {
            assert!(key < mqar.keys);
            assert!((mqar.keys..mqar.keys + mqar.values).contains(&value));
        }
        assert_eq!(e.targets.len(), mqar.queries);
        for &(position, class) in &e.targets {
            assert!(position >= 2 * mqar.pairs);
            let key = e.tokens[position];
            let value = pairs
                .iter()
                .find(|p| p.0 == key)
                .expect("a key of the pairs")
                .1;
            assert_eq!(class, value - mqar.keys);
        }
        let blanks = e.tokens.iter().filter(|&&t| t == mqar.blank()).count();
        assert_eq!(blanks, e.tokens.len() - 2 * mqar.pairs - mqar.queries);
    }
    for pairs in [0, mqar.keys + 1] {
        assert_eq!(
            Mqar { pairs, ..mqar }.validate().unwrap_err(),
            format!(
                "--pairs: expected 1 to {} (the number of keys), got {pairs}",
                mqar.keys
            )
        );
    }
    let error = Mqar {
        pairs: 12,
        seq: 30,
        ..mqar
    }
    .validate()
    .unwrap_err();
    assert_eq!(
        error,
        "--pairs: 12 pairs and 8 queries need at least 32 tokens, got a sequence of 30"
    );
}

#[test]
fn the_training_set_draws_fresh_examples_reproducibly() {
    let dataset = || FreshDataset::new(Task::Parity, 1..=40, 8, 7);
    let (a, b) = (dataset(), dataset());
    assert_eq!(a.len(), 8);
    let reads = |d: &FreshDataset| -> Vec<Example> {
        [3, 5, 3, 3].iter().map(|&i| d.get(i).unwrap()).collect()
    };
    let first = reads(&a);
    assert_eq!(first, reads(&b), "the same seed, the same reads");
    assert_ne!(first[0], first[2], "a second read of item 3 draws anew");
    assert_ne!(first[2], first[3]);
    // Item 5's first read does not depend on item 3's reads before it.
    assert_eq!(dataset().get(5).unwrap(), first[1]);
    let lengths: Vec<usize> = (0..8).map(|i| a.get(i).unwrap().tokens.len()).collect();
    assert!(lengths.iter().all(|l| (1..=40).contains(l)), "{lengths:?}");

    let set = examples(Task::ModArith, 41..=256, 50, 9);
    assert_eq!(set, examples(Task::ModArith, 41..=256, 50, 9));
    assert_ne!(set, examples(Task::ModArith, 41..=256, 50, 10));
    assert!(set.iter().all(|e| (41..=256).contains(&e.tokens.len())));
}

#[test]
fn a_batch_points_at_each_target() {
    let device = backend_of_tests().device();
    let mqar = Mqar::default();
    let mut rng = StdRng::seed_from_u64(4);
    let items: Vec<Example> = [20, 64, 30]
        .iter()
        .map(|&n| Task::Mqar(mqar).example(n, &mut rng))
        .collect();
    let batch = TaskBatcher.batch(items.clone(), &device);
    assert_eq!(batch.lengths, vec![20, 64, 30]);
    let tokens = ints(batch.tokens);
    let (positions, targets) = (ints(batch.positions), ints(batch.targets));
    assert_eq!(positions.len(), 3 * mqar.queries);
    let expected: Vec<(usize, usize)> = items
        .iter()
        .enumerate()
        .flat_map(|(b, e)| e.targets.iter().map(move |&(t, c)| (b * 64 + t, c)))
        .collect();
    assert_eq!(
        positions.iter().copied().zip(targets).collect::<Vec<_>>(),
        expected
    );
    for (b, e) in items.iter().enumerate() {
        assert_eq!(
            &tokens[b * 64..b * 64 + e.tokens.len()],
            e.tokens.as_slice()
        );
    }
}

#[test]
fn the_cells_that_mix_memory() {
    let mixing: Vec<&str> = CELLS
        .into_iter()
        .filter(|&c| mixes_memory(c))
        .map(cell_name)
        .collect();
    assert_eq!(mixing, ["lstm", "gru", "slstm"]);
}

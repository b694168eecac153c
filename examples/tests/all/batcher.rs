//! The translation batcher: padding, `<s>`/`</s>` placement, and word dropout; its length
//! buckets, and the loader that draws them anew every epoch.

use burn::data::dataloader::DataLoader;
use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Int, Tensor};
use burn_rnn_examples::epoch_batches::EpochBatches;
use burn_rnn_examples::text::Vocab;
use burn_rnn_examples::translation::model::{
    TranslationBatch, TranslationBatcher, TranslationItem, length_buckets,
};

use crate::programs::backend_of_tests;

/// 40 pairs of 50 source and 30 target tokens, ids 10 and up (none of them `<unk>`).
fn items() -> Vec<TranslationItem> {
    (0..40)
        .map(|i| TranslationItem {
            source: (0..50).map(|t| 10 + (i + t) % 7).collect(),
            target: (0..30).map(|t| 10 + (i * t) % 5).collect(),
        })
        .collect()
}

fn ids(t: Tensor<2, Int>) -> Vec<Vec<usize>> {
    let [rows, cols] = t.dims();
    let flat: Vec<usize> = t.into_data().iter::<i64>().map(|v| v as usize).collect();
    (0..rows)
        .map(|r| flat[r * cols..(r + 1) * cols].to_vec())
        .collect()
}

fn batch(batcher: &TranslationBatcher) -> [Vec<Vec<usize>>; 3] {
    let device = backend_of_tests().device();
    let TranslationBatch {
        source,
        target_in,
        target_out,
        ..
    } = batcher.batch(items(), &device);
    [ids(source), ids(target_in), ids(target_out)]
}

fn unk_share(rows: &[Vec<usize>]) -> f64 {
    let all: Vec<usize> = rows.iter().flatten().copied().collect();
    all.iter().filter(|&&id| id == Vocab::UNK).count() as f64 / all.len() as f64
}

#[test]
fn without_word_dropout_the_batch_is_the_data() {
    let [source, target_in, target_out] = batch(&TranslationBatcher::default());
    let items = items();
    for (b, item) in items.iter().enumerate() {
        assert_eq!(source[b], item.source);
        assert_eq!(target_in[b][0], Vocab::BOS);
        assert_eq!(target_in[b][1..], item.target[..]);
        assert_eq!(target_out[b][..30], item.target[..]);
        assert_eq!(target_out[b][30], Vocab::EOS);
    }
    assert_eq!(
        batch(&TranslationBatcher::with_word_dropout(0.0, 1)),
        [source, target_in, target_out],
        "probability 0 drops nothing"
    );
}

#[test]
fn word_dropout_reads_inputs_as_unk_and_leaves_the_predictions() {
    let clean = batch(&TranslationBatcher::default());
    let batcher = TranslationBatcher::with_word_dropout(0.25, 7);
    let first = batch(&batcher);
    let [source, target_in, target_out] = &first;
    // 2,000 source and 1,200 decoder input tokens: the share is 0.25 ± 0.04 (4 sd).
    let share = unk_share(source);
    assert!((share - 0.25).abs() < 0.04, "source <unk> share {share}");
    let inputs: Vec<Vec<usize>> = target_in.iter().map(|row| row[1..].to_vec()).collect();
    let share = unk_share(&inputs);
    assert!(
        (share - 0.25).abs() < 0.05,
        "decoder input <unk> share {share}"
    );
    assert!(target_in.iter().all(|row| row[0] == Vocab::BOS), "<s> kept");
    assert_eq!(target_out, &clean[2], "the predicted tokens are untouched");
    // Every other token is the data's.
    for (noisy, data) in source.iter().flatten().zip(clean[0].iter().flatten()) {
        assert!(noisy == data || *noisy == Vocab::UNK);
    }

    let second = batch(&batcher);
    assert_ne!(first, second, "each batch draws afresh");
    let replay = TranslationBatcher::with_word_dropout(0.25, 7);
    assert_eq!([batch(&replay), batch(&replay)], [first, second], "seeded");
}

/// burn-train's loss metric counts a loss tensor's first dimension as its items: a batch's
/// mean loss goes to it as one copy per target token, so that an epoch's loss is the mean
/// over tokens (as `translation_torch.py` computes it), not over batches.
#[test]
fn the_loss_metric_weighs_a_batch_by_its_tokens() {
    use burn::tensor::Device;
    use burn::train::SequenceOutput;
    use burn_rnn_examples::translation::model::per_token;

    let device = Device::default();
    let output = SequenceOutput::new(
        Tensor::from_floats([2.5], &device),
        Tensor::zeros([1, 1, 3], &device),
        None,
        Tensor::<2, Int>::zeros([1, 1], &device),
    );
    let weighted = per_token(output, 7);
    assert_eq!(weighted.loss.dims(), [7]);
    let values: Vec<f32> = weighted.loss.into_data().iter::<f32>().collect();
    assert_eq!(values, [2.5; 7]);
}

/// Pairs of the source lengths `lengths`, each pair's tokens its index (so that batches
/// tell their pairs apart).
fn pairs_of_lengths(lengths: impl IntoIterator<Item = usize>) -> Vec<TranslationItem> {
    lengths
        .into_iter()
        .enumerate()
        .map(|(i, len)| TranslationItem {
            source: vec![10 + i; len],
            target: vec![11; 2],
        })
        .collect()
}

/// The spread of source lengths in each batch (longest minus shortest).
fn spreads(items: &[TranslationItem], buckets: &[Vec<usize>]) -> Vec<usize> {
    buckets
        .iter()
        .map(|b| {
            let lengths = b.iter().map(|&i| items[i].source.len());
            lengths.clone().max().unwrap_or(0) - lengths.min().unwrap_or(0)
        })
        .collect()
}

/// As `translation_torch.py`: every pair once, batches of `batch_size` cut from windows of 50
/// batches (200 pairs) sorted by source length, the same for a seed and others for another.
/// With 400 distinct lengths, a batch cut from a sorted window of 200 random pairs spans about
/// 6 lengths: a sort over all 400 would span 3 in every batch, no sort about 200, windows of
/// 10 batches about 30.
#[test]
fn length_buckets_sort_within_windows_of_fifty_batches() {
    let batch = 4;
    let items = pairs_of_lengths((0..400).map(|i| 1 + (i * 7) % 400));
    let buckets = length_buckets(&items, batch, 7);
    let mut seen: Vec<usize> = buckets.iter().flatten().copied().collect();
    seen.sort();
    assert_eq!(seen, (0..400).collect::<Vec<_>>(), "every pair once");
    assert!(buckets.iter().all(|b| b.len() == batch));
    for bucket in &buckets {
        let lengths: Vec<usize> = bucket.iter().map(|&i| items[i].source.len()).collect();
        assert!(
            lengths.is_sorted(),
            "a batch is cut from a sorted run: {lengths:?}"
        );
    }
    let spreads = spreads(&items, &buckets);
    let mean = spreads.iter().sum::<usize>() as f64 / spreads.len() as f64;
    assert!(
        (4.0..12.0).contains(&mean),
        "mean spread {mean}: {spreads:?}"
    );
    assert_eq!(length_buckets(&items, batch, 7), buckets, "seeded");
    assert_ne!(length_buckets(&items, batch, 8), buckets);
}

/// The loader draws each epoch's batches anew from the epoch's number: other pairs share a
/// batch, not only another order of the same batches. Its copy for a device counts the same
/// epochs, and its progress counts pairs.
#[test]
fn epoch_batches_draw_new_batches_every_epoch() {
    let items = pairs_of_lengths((0..40).map(|i| 1 + i % 3));
    let loader = EpochBatches::new(
        items,
        |items, epoch| length_buckets(items, 4, epoch),
        TranslationBatcher::default(),
    );
    let device = backend_of_tests().device();
    let copy = loader.to_device(&device);
    // Each batch's pairs (their first token), as sets, the batches in a canonical order.
    let epoch = |loader: &dyn DataLoader<TranslationBatch>| -> Vec<Vec<usize>> {
        let mut iter = loader.iter();
        let mut batches = Vec::new();
        for batch in iter.by_ref() {
            let mut pairs: Vec<usize> = ids(batch.expect("a batch").source)
                .iter()
                .map(|row| row[0])
                .collect();
            pairs.sort();
            batches.push(pairs);
        }
        let progress = iter.progress();
        assert_eq!((progress.items_processed, progress.items_total), (40, 40));
        batches.sort();
        batches
    };
    let (first, second, third) = (epoch(&*copy), epoch(&*copy), epoch(&loader));
    assert_eq!(first.len(), 10);
    assert_ne!(
        first, second,
        "other pairs share a batch in the second epoch"
    );
    assert_ne!(
        third, first,
        "the loader and its copy count the same epochs"
    );
    assert_eq!(loader.num_items(), 40);
}

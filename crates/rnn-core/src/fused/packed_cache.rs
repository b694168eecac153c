//! Weights packed once and reused by the calls that multiply the same weights: a decoder's
//! steps read its recurrent layers' `W_ih` and `W_hh` and the dense layers after them at every
//! step, and packing them (a copy of every weight) costs about what one step's multiply does;
//! inference over whole sequences runs the same weights call after call.
//!
//! An entry is found by the address and length of the weights' values and how they were
//! packed. The address identifies unchanged weights because the entry keeps a clone of the
//! weight tensor: the CPU backends share a tensor's storage by reference count and write in
//! place only storage that no other tensor holds (flex's `Arc::make_mut`, ndarray's
//! `ArcArray`), so while the entry lives its values cannot change, and its storage cannot be
//! freed and the address reused by other weights. Each thread keeps its own few entries, the
//! least recently used evicted first, so the clones keep at most that many stale weight
//! tensors alive (an optimizer step after decoding copies a weight once rather than updating
//! it in place while its old values are cached).

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::sync::Arc;

use burn::backend::Backend;
use burn::backend::tensor::FloatTensor;

use super::host::values_address;

/// Entries per thread: a decoder's recurrent and dense weights.
const ENTRIES: usize = 8;

/// A weight tensor whose values the host kernels read in place: what a cache entry keeps.
pub(crate) struct Owner {
    /// The address and length of the values, as the kernels' slice of them.
    values: (usize, usize),
    /// A clone of the tensor: its storage stays alive and unchanged while it is held.
    _tensor: Box<dyn Any>,
}

impl Owner {
    /// `tensor`, when backend `B` reads its values in place (see [`values_address`]).
    pub fn of<B: Backend>(tensor: &FloatTensor<B>) -> Option<Self> {
        let values = values_address::<B>(tensor)?;
        let kept = tensor.clone();
        // A clone that copies the values keeps the tensor's storage neither alive nor
        // unchanged (ndarray's tensors made from a record's bytes clone so): its address could
        // come back holding other weights.
        (values_address::<B>(&kept)? == values).then(|| Self {
            values,
            _tensor: Box::new(kept),
        })
    }

    /// Whether `values` is the slice of this tensor's values that a kernel reads.
    fn holds(&self, values: &[f32]) -> bool {
        self.values == (values.as_ptr() as usize, values.len())
    }
}

struct Entry {
    owner: Owner,
    /// How the blocks were packed (sizes, strides, the parts' ranges...).
    layout: Vec<usize>,
    blocks: Arc<dyn Any + Send + Sync>,
    /// When it was last found, in lookups on this thread.
    used: u64,
}

thread_local! {
    /// The lookups so far, and the entries.
    static CACHE: RefCell<(u64, Vec<Entry>)> = const { RefCell::new((0, Vec::new())) };
    static HITS: Cell<usize> = const { Cell::new(0) };
}

/// How many times a host kernel on this thread found its weights already packed. For tests
/// that must fail if the kept weights are not used (or used where they must not be); not a
/// stable API.
#[doc(hidden)]
pub fn packed_weights_reused_on_this_thread() -> usize {
    HITS.get()
}

/// The blocks packed from `values` (the slice of `owner`'s values that the caller multiplies)
/// as `layout` says, `make` made the first time; `None` when `values` is not `owner`'s (a
/// copy: nothing to key it by).
pub(super) fn blocks<T: Any + Send + Sync>(
    owner: Owner,
    values: &[f32],
    layout: Vec<usize>,
    make: impl FnOnce() -> T,
) -> Option<Arc<T>> {
    if !owner.holds(values) {
        return None;
    }
    CACHE.with_borrow_mut(|(clock, entries)| {
        *clock += 1;
        let found = entries
            .iter_mut()
            .find(|e| e.owner.values == owner.values && e.layout == layout);
        if let Some(entry) = found
            && let Ok(blocks) = entry.blocks.clone().downcast::<T>()
        {
            entry.used = *clock;
            HITS.set(HITS.get() + 1);
            return Some(blocks);
        }
        let blocks = Arc::new(make());
        if entries.len() == ENTRIES
            && let Some(oldest) = (0..entries.len()).min_by_key(|&e| entries[e].used)
        {
            entries.swap_remove(oldest);
        }
        entries.push(Entry {
            owner,
            layout,
            blocks: blocks.clone(),
            used: *clock,
        });
        Some(blocks)
    })
}

/// The entries this thread holds, for tests.
#[cfg(test)]
pub(super) fn entries() -> usize {
    CACHE.with_borrow(|(_, entries)| entries.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(values: &[f32]) -> Owner {
        Owner {
            values: (values.as_ptr() as usize, values.len()),
            _tensor: Box::new(()),
        }
    }

    /// Found again by address and layout; a copy, another layout or other values miss; the
    /// least recently used entry goes first.
    #[test]
    fn finds_unchanged_weights_and_evicts_the_least_recently_used() {
        let weights: Vec<Vec<f32>> = (0..ENTRIES + 1).map(|i| vec![i as f32; 4]).collect();
        let first = blocks(owner(&weights[0]), &weights[0], vec![4], || 0usize).unwrap();
        let again = blocks(owner(&weights[0]), &weights[0], vec![4], || 1usize).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(
            *blocks(owner(&weights[0]), &weights[0], vec![2, 2], || 2usize).unwrap(),
            2
        );
        let copy = weights[0].clone();
        assert!(blocks(owner(&weights[0]), &copy, vec![4], || 3usize).is_none());
        for (i, w) in weights.iter().enumerate().skip(1).take(ENTRIES - 2) {
            blocks(owner(w), w, vec![4], || 10 + i);
        }
        assert_eq!(entries(), ENTRIES);
        // Touch the first entry: the `[2, 2]` one is now the oldest, and goes.
        blocks(owner(&weights[0]), &weights[0], vec![4], || 99usize);
        let last = &weights[ENTRIES - 1];
        blocks(owner(last), last, vec![4], || 20usize);
        assert_eq!(entries(), ENTRIES);
        assert_eq!(
            *blocks(owner(&weights[0]), &weights[0], vec![4], || 5usize).unwrap(),
            0
        );
        assert_eq!(
            *blocks(owner(&weights[0]), &weights[0], vec![2, 2], || 6usize).unwrap(),
            6
        );
    }
}

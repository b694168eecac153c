//! A pool of host buffers reused across calls of the fused kernels.
//!
//! A training step of one layer allocates tens of megabytes of buffers. Fresh allocations of
//! that size come from the kernel as untouched pages, and faulting them in costs about as much
//! as the matmuls that fill them (measured: 4 ms for the 8 MiB gate buffer of the benchmark
//! shape, on a 2-core VM). Buffers go back to this pool when a pass is done with them and are
//! handed out again by the next one.

use std::sync::Mutex;

/// At most this many buffers are kept; the smallest go first.
const MAX_BUFFERS: usize = 24;

static POOL: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

/// A buffer of `len` elements whose contents are unspecified (left over from an earlier use);
/// for buffers that are written before they are read.
///
/// A pooled buffer is only handed out for a request of at least half its size, so a small
/// request (a bias, a state) never takes away a large buffer that the next pass needs.
pub(super) fn take(len: usize) -> Vec<f32> {
    let reused = {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        pool.iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= len && b.capacity() / 2 <= len)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i)
            .map(|i| pool.swap_remove(i))
    };
    match reused {
        Some(mut buffer) => {
            // Pooled buffers are kept at full length, so this only truncates or extends
            // with zeros: every element is initialised.
            buffer.resize(len, 0.0);
            buffer
        }
        None => vec![0.0; len],
    }
}

/// Returns a buffer to the pool.
pub(super) fn give(mut buffer: Vec<f32>) {
    if buffer.capacity() < 1024 {
        return;
    }
    buffer.resize(buffer.capacity(), 0.0);
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    pool.push(buffer);
    if pool.len() > MAX_BUFFERS {
        let smallest = (0..pool.len())
            .min_by_key(|&i| pool[i].capacity())
            .expect("pool is not empty");
        pool.swap_remove(smallest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_requests_leave_large_buffers_in_the_pool() {
        give(vec![1.0; 1 << 20]);
        let small = take(4096);
        assert_eq!(small.len(), 4096);
        assert!(
            small.capacity() <= 8192,
            "took {} elements",
            small.capacity()
        );
    }
}

//! A pool of host buffers reused across calls of the fused kernels.
//!
//! A training step of one layer allocates tens of megabytes of buffers. Fresh allocations of
//! that size come from the kernel as untouched pages, and faulting them in costs about as much
//! as the matmuls that fill them (measured: 4 ms for the 8 MiB gate buffer of the benchmark
//! shape, on a 2-core VM). Buffers go back to this pool when a pass is done with them and are
//! handed out again by the next one.
//!
//! The pool is bounded by bytes: it keeps the most recently returned buffers up to
//! [`MAX_BYTES`] in all and lets larger ones go, so one outlier batch (a very long sequence)
//! does not leave the process holding its buffers for good.

use std::collections::VecDeque;
use std::sync::Mutex;

/// At most this many bytes of buffers are kept: the working set of a training step of a
/// two-layer network at the benchmark shape, with room to spare. Buffers larger than this are
/// never kept, and the oldest go first when it is exceeded.
pub(super) const MAX_BYTES: usize = 64 << 20;

/// At most this many buffers are kept, so that looking one up stays cheap.
const MAX_BUFFERS: usize = 32;

/// Buffers smaller than this many elements are not worth keeping.
const MIN_LEN: usize = 1024;

/// The kept buffers, oldest first, and their bytes in all.
struct Pool {
    buffers: VecDeque<Vec<f32>>,
    bytes: usize,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    buffers: VecDeque::new(),
    bytes: 0,
});

fn bytes(buffer: &Vec<f32>) -> usize {
    buffer.capacity() * size_of::<f32>()
}

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    // The pool is consistent whenever its lock is released, even by a panicking thread.
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A buffer of `len` elements whose contents are unspecified (left over from an earlier use);
/// for buffers that are written before they are read.
///
/// A pooled buffer is only handed out for a request of at least half its size, so a small
/// request (a bias, a state) never takes away a large buffer that the next pass needs.
pub(super) fn take(len: usize) -> Vec<f32> {
    let reused = {
        let mut pool = pool();
        let found = pool
            .buffers
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= len && b.capacity() / 2 <= len)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        found.and_then(|i| {
            let buffer = pool.buffers.remove(i)?;
            pool.bytes -= bytes(&buffer);
            Some(buffer)
        })
    };
    match reused {
        Some(mut buffer) => {
            // Truncates, or extends with zeros past what the last user left: every element
            // is initialised, and only the extension is written.
            buffer.resize(len, 0.0);
            buffer
        }
        None => vec![0.0; len],
    }
}

/// Returns a buffer to the pool (or frees it: a small one, or one larger than the pool).
pub(super) fn give(buffer: Vec<f32>) {
    let size = bytes(&buffer);
    if buffer.capacity() < MIN_LEN || size > MAX_BYTES {
        return;
    }
    let evicted: Vec<Vec<f32>> = {
        let mut pool = pool();
        pool.bytes += size;
        pool.buffers.push_back(buffer);
        let mut evicted = Vec::new();
        while pool.bytes > MAX_BYTES || pool.buffers.len() > MAX_BUFFERS {
            let oldest = pool
                .buffers
                .pop_front()
                .expect("over the bounds, so not empty");
            pool.bytes -= bytes(&oldest);
            evicted.push(oldest);
        }
        evicted
    };
    // Freed outside the lock.
    drop(evicted);
}

/// The bytes the pool holds now.
#[cfg(test)]
fn pooled_bytes() -> usize {
    pool().bytes
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

    /// A buffer larger than the whole pool is freed, not kept.
    #[test]
    fn outlier_buffers_are_let_go() {
        let len = MAX_BYTES / size_of::<f32>() + 1;
        give(vec![0.0; len]);
        let pool = pool();
        assert!(pool.buffers.iter().all(|b| b.capacity() < len));
        assert!(pool.bytes <= MAX_BYTES);
    }

    /// However many buffers come back, the pool holds at most [`MAX_BYTES`] (the oldest go),
    /// and keeps the newest.
    #[test]
    fn the_pool_is_bounded_by_bytes() {
        let len = (MAX_BYTES / 8) / size_of::<f32>();
        for i in 0..20 {
            give(vec![i as f32; len]);
            assert!(pooled_bytes() <= MAX_BYTES, "{} bytes", pooled_bytes());
        }
        let newest = pool()
            .buffers
            .iter()
            .filter(|b| b.capacity() == len)
            .any(|b| b[0] == 19.0);
        assert!(newest, "the newest buffer was evicted");
    }
}

//! Recycled strip buffers. A strip is tens of megabytes on a wide picture; allocating a
//! fresh one per tile row makes the kernel zero new pages over and over (seconds of
//! system time per gigapixel). A strip's buffer comes back here when its last tile is
//! encoded.

use std::ops::Deref;
use std::sync::{Arc, Condvar, Mutex};

/// Spare buffers kept at most; more are freed.
const MAX_SPARE: usize = 2;

/// A shared stack of spare buffers, and a count of the bytes lent out.
#[derive(Clone, Default)]
pub struct BufferPool {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    spare: Mutex<Vec<Vec<u8>>>,
    lent_bytes: Mutex<u64>,
    returned: Condvar,
}

impl BufferPool {
    /// An empty buffer with at least `capacity` bytes reserved, reused when one is spare.
    pub fn take(&self, capacity: usize) -> Vec<u8> {
        // Only a close fit: a full-resolution buffer lent to a small level would force
        // the full-resolution level to allocate another, and the spares would grow.
        let fits = |b: &Vec<u8>| b.capacity() >= capacity && b.capacity() <= capacity.saturating_mul(2);
        let reused = self
            .inner
            .spare
            .lock()
            .ok()
            .and_then(|mut spare| spare.iter().position(fits).map(|i| spare.swap_remove(i)));
        match reused {
            Some(mut buffer) => {
                buffer.clear();
                buffer
            }
            None => Vec::with_capacity(capacity),
        }
    }

    /// Lends `pixels` out as a strip; its bytes count as lent until it is dropped.
    pub fn lend(&self, pixels: Vec<u8>) -> PooledPixels {
        if let Ok(mut lent) = self.inner.lent_bytes.lock() {
            *lent += pixels.capacity() as u64;
        }
        PooledPixels {
            pixels,
            pool: self.clone(),
        }
    }

    /// Bytes lent out and not yet returned.
    pub fn lent_bytes(&self) -> u64 {
        self.inner.lent_bytes.lock().map(|l| *l).unwrap_or(0)
    }

    /// Blocks while more than `limit` bytes are lent out.
    pub fn wait_for_room(&self, limit: u64) {
        let Ok(mut lent) = self.inner.lent_bytes.lock() else { return };
        while *lent > limit {
            lent = match self.inner.returned.wait(lent) {
                Ok(guard) => guard,
                Err(_) => return,
            };
        }
    }

    fn give(&self, buffer: Vec<u8>) {
        if let Ok(mut lent) = self.inner.lent_bytes.lock() {
            *lent = lent.saturating_sub(buffer.capacity() as u64);
        }
        if let Ok(mut spare) = self.inner.spare.lock() {
            if spare.len() < MAX_SPARE {
                spare.push(buffer);
            }
        }
        self.inner.returned.notify_all();
    }
}

/// Pixels of a strip; the buffer returns to its pool when dropped.
pub struct PooledPixels {
    pixels: Vec<u8>,
    pool: BufferPool,
}

impl std::fmt::Debug for PooledPixels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PooledPixels({} bytes)", self.pixels.len())
    }
}

impl Deref for PooledPixels {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.pixels
    }
}

impl Drop for PooledPixels {
    fn drop(&mut self) {
        self.pool.give(std::mem::take(&mut self.pixels));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_pixels_are_reused() {
        let pool = BufferPool::default();
        let mut buffer = pool.take(1000);
        buffer.extend_from_slice(&[1, 2, 3]);
        let address = buffer.as_ptr();
        let lent = pool.lend(buffer);
        assert_eq!(pool.lent_bytes(), lent.len().max(1000) as u64);
        drop(lent);
        assert_eq!(pool.lent_bytes(), 0);
        let again = pool.take(500);
        assert_eq!(again.as_ptr(), address);
        assert!(again.is_empty());
        assert!(pool.take(10_000).capacity() >= 10_000);
        // A much larger spare is not lent to a small request.
        drop(pool.lend(Vec::with_capacity(1 << 20)));
        assert!(pool.take(100).capacity() < 1 << 20);
    }
}

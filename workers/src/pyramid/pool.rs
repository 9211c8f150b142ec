//! Strip buffers, per level. A strip is tens of megabytes on a wide picture; allocating a
//! fresh one per tile row makes the kernel zero new pages over and over, and how many
//! are alive at once would depend on how fast the encoders happen to be. A bounded
//! level has a fixed set of buffers, allocated and touched up front: the level waits for
//! one to come back (its last tile encoded) before it hands out another strip. So a
//! run's memory is fixed by the picture's width before the first row is decoded.

use std::ops::Deref;
use std::sync::{Arc, Condvar, Mutex};

/// The buffers of one level.
pub struct StripBuffers {
    capacity: usize,
    /// Buffers that may exist at once; `None` allocates whenever none is free.
    max: Option<usize>,
    state: Mutex<State>,
    returned: Condvar,
}

#[derive(Default)]
struct State {
    spare: Vec<Vec<u8>>,
    allocated: usize,
}

impl StripBuffers {
    /// Unbounded buffers of `capacity` bytes, allocated on demand and reused.
    pub fn unbounded(capacity: usize) -> Arc<Self> {
        Arc::new(StripBuffers {
            capacity,
            max: None,
            state: Mutex::new(State::default()),
            returned: Condvar::new(),
        })
    }

    /// Exactly `count` buffers of `capacity` bytes, allocated and touched now.
    pub fn bounded(capacity: usize, count: usize) -> Arc<Self> {
        let count = count.max(1);
        Arc::new(StripBuffers {
            capacity,
            max: Some(count),
            state: Mutex::new(State {
                spare: (0..count).map(|_| touched(capacity)).collect(),
                allocated: count,
            }),
            returned: Condvar::new(),
        })
    }

    /// Bytes these buffers take at most.
    pub fn planned_bytes(&self) -> u64 {
        self.capacity as u64 * self.max.unwrap_or(1) as u64
    }

    /// An empty buffer; waits for one to be returned when all are out.
    pub fn take(&self) -> Vec<u8> {
        let Ok(mut state) = self.state.lock() else {
            return Vec::with_capacity(self.capacity);
        };
        loop {
            if let Some(mut buffer) = state.spare.pop() {
                buffer.clear();
                return buffer;
            }
            if self.max.is_none_or(|max| state.allocated < max) {
                state.allocated += 1;
                return touched(self.capacity);
            }
            state = match self.returned.wait(state) {
                Ok(guard) => guard,
                Err(_) => return Vec::with_capacity(self.capacity),
            };
        }
    }

    /// Lends `pixels` out as a strip; the buffer comes back when the strip is dropped.
    pub fn lend(self: &Arc<Self>, pixels: Vec<u8>) -> PooledPixels {
        PooledPixels {
            pixels,
            home: Arc::clone(self),
        }
    }

    fn give(&self, buffer: Vec<u8>) {
        if let Ok(mut state) = self.state.lock() {
            state.spare.push(buffer);
        }
        self.returned.notify_one();
    }
}

/// An empty buffer whose pages are already written, so the memory a run takes shows at
/// once and does not depend on how far the picture's strips happen to fill.
fn touched(capacity: usize) -> Vec<u8> {
    // Not zeros: a zeroed allocation may be fresh mmap pages that calloc never writes.
    let mut buffer = Vec::with_capacity(capacity);
    buffer.resize(capacity, 0xA5);
    buffer.clear();
    buffer
}

/// Pixels of a strip; the buffer returns to its level when dropped.
pub struct PooledPixels {
    pixels: Vec<u8>,
    home: Arc<StripBuffers>,
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
        self.home.give(std::mem::take(&mut self.pixels));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_pixels_are_reused() {
        let buffers = StripBuffers::unbounded(1000);
        let mut buffer = buffers.take();
        buffer.extend_from_slice(&[1, 2, 3]);
        let address = buffer.as_ptr();
        drop(buffers.lend(buffer));
        let again = buffers.take();
        assert_eq!(again.as_ptr(), address);
        assert!(again.is_empty() && again.capacity() >= 1000);
    }

    #[test]
    fn bounded_buffers_wait_for_a_return() {
        let buffers = StripBuffers::bounded(64, 2);
        let first = buffers.lend(buffers.take());
        let _second = buffers.take();
        let waiter = {
            let buffers = Arc::clone(&buffers);
            std::thread::spawn(move || buffers.take().capacity())
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!waiter.is_finished(), "a third buffer must wait");
        drop(first);
        assert!(waiter.join().unwrap() >= 64);
        assert_eq!(buffers.planned_bytes(), 128);
    }
}

//! Decoding a picture's bands on several threads, handed out in order.
//!
//! Some files can be decoded in independent pieces: the strips (or rows of tiles) of a
//! TIFF. One thread decoding them keeps the rest of the machine waiting whenever decoding
//! is the slowest stage (a deflate TIFF inflates at a few hundred MB a second);
//! `ParallelBands` decodes band after band on `threads` threads, each with its own
//! decoder state, and gives them back in order. Memory stays bounded: a fixed number of
//! band buffers circulate between the decoders and the reader, and a decoder takes the
//! next band only once it holds a free buffer, so decoders never run more than that many
//! bands ahead.
//!
//! Why it cannot deadlock: bands are claimed in increasing order, each by a thread that
//! holds a buffer. The lowest band not yet decoded is either claimed (its thread finishes
//! it) or not, in which case no later band is claimed either, and every buffer the reader
//! does not hold is free. The reader gives its buffer back before it waits for the next
//! band, so while it waits it holds only finished bands, all earlier than the one it
//! waits for, and none at all once it waits for the lowest.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::error::TileError;

/// A decoded band, or why it could not be.
type Decoded = (usize, Result<Vec<u8>, TileError>);

/// Bands decoded on several threads, read in order with [`ParallelBands::next`].
pub(super) struct ParallelBands {
    count: usize,
    next: usize,
    /// Buffers handed back to the decoders; `None` once dropping.
    free: Option<Sender<Vec<u8>>>,
    decoded: Option<Receiver<Decoded>>,
    /// Bands finished out of order, waiting for their turn.
    early: BTreeMap<usize, Result<Vec<u8>, TileError>>,
    threads: Vec<JoinHandle<()>>,
}

impl ParallelBands {
    /// Decodes bands `0..count` on `threads` threads with `buffers` buffers in circulation
    /// (at least `threads`): each thread makes its own state with `open`, then fills a
    /// buffer with band `i` by `decode(state, i, buffer)` (the buffer comes back as it was
    /// left by an earlier band: resize it).
    pub(super) fn start<S, O, D>(
        count: usize,
        threads: usize,
        buffers: usize,
        open: O,
        decode: D,
    ) -> ParallelBands
    where
        O: Fn() -> Result<S, TileError> + Send + Sync + 'static,
        D: Fn(&mut S, usize, &mut Vec<u8>) -> Result<(), TileError> + Send + Sync + 'static,
    {
        let threads = threads.max(1);
        let buffers = buffers.max(threads);
        let (free, free_rx) = bounded::<Vec<u8>>(buffers);
        for _ in 0..buffers {
            // The channel holds exactly `buffers`: never full here.
            let _ = free.send(Vec::new());
        }
        let (done, decoded) = bounded::<Decoded>(buffers);
        let claimed = Arc::new(AtomicUsize::new(0));
        let work = Arc::new((open, decode));
        let threads = (0..threads)
            .map(|_| {
                let (free_rx, done, claimed, work) = (
                    free_rx.clone(),
                    done.clone(),
                    Arc::clone(&claimed),
                    Arc::clone(&work),
                );
                std::thread::spawn(move || {
                    let (open, decode) = &*work;
                    let mut state = None;
                    // Ends when the reader is gone (both channels close) or no band is left.
                    while let Ok(mut buffer) = free_rx.recv() {
                        let band = claimed.fetch_add(1, Ordering::SeqCst);
                        if band >= count {
                            return;
                        }
                        if state.is_none() {
                            match open() {
                                Ok(opened) => state = Some(opened),
                                Err(e) => {
                                    let _ = done.send((band, Err(e)));
                                    return;
                                }
                            }
                        }
                        let Some(state) = state.as_mut() else { return };
                        let result = decode(state, band, &mut buffer);
                        if done.send((band, result.map(|()| buffer))).is_err() {
                            return;
                        }
                    }
                })
            })
            .collect();
        ParallelBands {
            count,
            next: 0,
            free: Some(free),
            decoded: Some(decoded),
            early: BTreeMap::new(),
            threads,
        }
    }

    /// The next band in order (an error where decoding it failed). Give the buffer back
    /// with [`ParallelBands::recycle`] before asking for the next one.
    pub(super) fn next(&mut self) -> Result<Vec<u8>, TileError> {
        if self.next >= self.count {
            return Err(TileError::Corrupt("read past the last band".into()));
        }
        let want = self.next;
        let band = loop {
            if let Some(band) = self.early.remove(&want) {
                break band;
            }
            let Some(decoded) = &self.decoded else {
                return Err(TileError::Corrupt("the band decoders stopped".into()));
            };
            match decoded.recv() {
                Ok((i, result)) => {
                    self.early.insert(i, result);
                }
                Err(_) => return Err(TileError::Encode("a band decoder thread panicked".into())),
            }
        };
        self.next += 1;
        band
    }

    /// Hands a band's buffer back to the decoders.
    pub(super) fn recycle(&mut self, buffer: Vec<u8>) {
        if let Some(free) = &self.free {
            // Full only if more buffers come back than went out: then one is dropped.
            let _ = free.try_send(buffer);
        }
    }
}

impl Drop for ParallelBands {
    fn drop(&mut self) {
        // Closing both channels stops every decoder at its next send or receive.
        self.free = None;
        self.decoded = None;
        self.early.clear();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn band_bytes(i: usize) -> Vec<u8> {
        (0..1000 + i % 7).map(|k| (k * 31 + i * 17) as u8).collect()
    }

    #[test]
    fn every_band_in_order_whatever_order_they_finish_in() {
        let mut bands = ParallelBands::start(
            200,
            4,
            6,
            || Ok(()),
            |_, i, out| {
                // Uneven work: later bands often finish first.
                if i % 5 == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                *out = band_bytes(i);
                Ok(())
            },
        );
        for i in 0..200 {
            let band = bands.next().expect("band");
            assert_eq!(band, band_bytes(i), "band {i}");
            bands.recycle(band);
        }
        assert!(bands.next().is_err(), "there are only 200 bands");
    }

    #[test]
    fn an_error_arrives_at_its_band_and_earlier_bands_are_whole() {
        let mut bands = ParallelBands::start(
            50,
            3,
            3,
            || Ok(0usize),
            |opened: &mut usize, i, out| {
                *opened += 1;
                if i == 20 {
                    return Err(TileError::Truncated(format!("band {i} is short")));
                }
                *out = band_bytes(i);
                Ok(())
            },
        );
        for i in 0..20 {
            let band = bands.next().expect("band before the bad one");
            assert_eq!(band, band_bytes(i));
            bands.recycle(band);
        }
        let err = bands.next().expect_err("band 20 fails");
        assert!(err.to_string().contains("band 20"), "{err}");
    }

    #[test]
    fn a_failing_open_is_reported_and_dropping_early_stops_the_threads() {
        let mut failing = ParallelBands::start(
            10,
            2,
            2,
            || -> Result<(), TileError> { Err(TileError::Unsupported("no decoder".into())) },
            |_, _, _| Ok(()),
        );
        assert!(failing.next().is_err());
        // Dropped with bands still being decoded and none read: must not hang.
        let early = ParallelBands::start(
            10_000,
            2,
            4,
            || Ok(()),
            |_, i, out| {
                *out = band_bytes(i);
                Ok(())
            },
        );
        drop(early);
    }
}

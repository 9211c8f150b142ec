//! How fast a connection may write.

use std::time::Instant;

/// So many a second, with bursts of up to `burst`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(rate: u32, burst: u32, now: Instant) -> Self {
        TokenBucket {
            rate: f64::from(rate),
            burst: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            at: now,
        }
    }

    /// `rate` a second (fractions allowed), bursts of `burst`, full at `now`.
    pub fn with_rate(rate: f64, burst: u32, now: Instant) -> Self {
        TokenBucket {
            rate: rate.max(0.0),
            burst: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            at: now,
        }
    }

    /// Whether the bucket is full at `now` (its owner has been quiet).
    pub fn is_full(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens + elapsed * self.rate >= self.burst
    }

    /// When the next token is there (`now` if one is).
    pub fn ready_at(&self, now: Instant) -> Instant {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        let tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if tokens >= 1.0 || self.rate <= 0.0 {
            return now;
        }
        // Rounded up a microsecond, so that a take at that time finds the token.
        now + std::time::Duration::from_secs_f64((1.0 - tokens) / self.rate + 1e-6)
    }

    /// Takes one token at `now`; false if there is none.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.at = self.at.max(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_allows_a_burst_then_refills_at_its_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(2, 5, start);
        assert!((0..5).all(|_| bucket.take(start)), "the burst");
        assert!(!bucket.take(start), "then nothing");
        assert!(
            !bucket.take(start + Duration::from_millis(400)),
            "0.8 of a token"
        );
        assert!(
            bucket.take(start + Duration::from_millis(500)),
            "one token in 0.5 s"
        );
        assert!(!bucket.take(start + Duration::from_millis(500)));
        // Never more than the burst, however long it rests.
        let later = start + Duration::from_secs(3600);
        assert!((0..5).all(|_| bucket.take(later)));
        assert!(!bucket.take(later));
        // A clock read out of order takes nothing back.
        assert!(!bucket.take(start));
    }
}

//! The 2×2 box filter that makes each level from the one above. A row is folded into a
//! half-width accumulator as it arrives, so no source row is kept or copied; an odd last
//! column or row is counted twice (edge replication). Alpha is averaged premultiplied so
//! transparent pixels don't bleed their colour into visible ones.

/// Half-width running sums of one output row.
pub struct Accumulator {
    channels: usize,
    /// Source rows folded in so far: 0, 1 or 2.
    rows: u32,
    /// RGB: sums per channel. RGBA: alpha-weighted colour sums, then alpha sum.
    sums: Vec<u32>,
}

impl Accumulator {
    /// Sums for an output row `out_width` pixels wide.
    pub fn new(out_width: usize, channels: usize) -> Self {
        Accumulator {
            channels,
            rows: 0,
            sums: vec![0; out_width * channels],
        }
    }

    /// Source rows folded in since the last `finish`.
    pub fn rows(&self) -> u32 {
        self.rows
    }

    /// Folds one source row (twice the output width, or one less) into the sums.
    pub fn add_row(&mut self, row: &[u8]) {
        let c = self.channels;
        let first = self.rows == 0;
        self.rows += 1;
        let pairs = row.chunks_exact(2 * c);
        let tail = pairs.remainder();
        let sums_len = self.sums.len();
        let (paired, last) = self
            .sums
            .split_at_mut(sums_len - if tail.is_empty() { 0 } else { c });
        if c == 3 {
            for (s, p) in paired.chunks_exact_mut(3).zip(pairs) {
                let v = [
                    u32::from(p[0]) + u32::from(p[3]),
                    u32::from(p[1]) + u32::from(p[4]),
                    u32::from(p[2]) + u32::from(p[5]),
                ];
                if first {
                    s.copy_from_slice(&v);
                } else {
                    s[0] += v[0];
                    s[1] += v[1];
                    s[2] += v[2];
                }
            }
            if !tail.is_empty() {
                for (s, &p) in last.iter_mut().zip(tail) {
                    *s = if first {
                        2 * u32::from(p)
                    } else {
                        *s + 2 * u32::from(p)
                    };
                }
            }
        } else {
            let weigh = |p: &[u8]| {
                let a = u32::from(p[3]);
                [
                    u32::from(p[0]) * a,
                    u32::from(p[1]) * a,
                    u32::from(p[2]) * a,
                    a,
                ]
            };
            for (s, p) in paired.chunks_exact_mut(4).zip(pairs) {
                let (x, y) = (weigh(&p[..4]), weigh(&p[4..]));
                for i in 0..4 {
                    let v = x[i] + y[i];
                    s[i] = if first { v } else { s[i] + v };
                }
            }
            if !tail.is_empty() {
                let x = weigh(tail);
                for i in 0..4 {
                    last[i] = if first { 2 * x[i] } else { last[i] + 2 * x[i] };
                }
            }
        }
    }

    /// Writes the averaged output row and resets. With one row folded in (an odd last
    /// row), that row counts twice.
    pub fn finish(&mut self, out: &mut [u8]) {
        let double = if self.rows == 1 { 2 } else { 1 };
        if self.channels == 3 {
            for (o, &s) in out.iter_mut().zip(&self.sums) {
                *o = ((s * double + 2) >> 2) as u8;
            }
        } else {
            for (o, s) in out.chunks_exact_mut(4).zip(self.sums.chunks_exact(4)) {
                let alpha = s[3];
                if alpha == 0 {
                    o.copy_from_slice(&[0, 0, 0, 0]);
                    continue;
                }
                for i in 0..3 {
                    o[i] = ((s[i] + alpha / 2) / alpha).min(255) as u8;
                }
                o[3] = ((alpha * double + 2) >> 2) as u8;
            }
        }
        self.rows = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_two_by_two_with_edge_replication() {
        let mut acc = Accumulator::new(2, 3);
        acc.add_row(&[0, 0, 0, 4, 4, 4, 100, 50, 10]);
        acc.add_row(&[8, 8, 8, 4, 4, 4, 200, 150, 30]);
        let mut out = [0u8; 6];
        acc.finish(&mut out);
        assert_eq!(out, [4, 4, 4, 150, 100, 20]);
        // An odd last row counts twice.
        acc.add_row(&[10, 20, 30, 30, 40, 50, 7, 7, 7]);
        acc.finish(&mut out);
        assert_eq!(out, [20, 30, 40, 7, 7, 7]);
    }

    #[test]
    fn transparent_pixels_do_not_bleed_colour() {
        let mut acc = Accumulator::new(1, 4);
        acc.add_row(&[255, 0, 0, 255, 0, 255, 0, 0]);
        acc.add_row(&[255, 0, 0, 255, 0, 0, 255, 0]);
        let mut out = [0u8; 4];
        acc.finish(&mut out);
        assert_eq!(out, [255, 0, 0, 128]);
    }
}

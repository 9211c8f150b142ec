//! Area-average downscaling for thumbnails, streaming: rows in, rows out, holding only
//! the one or two output rows being summed. Each output pixel is the mean of the source
//! area it covers (fractional edges weighted); alpha is premultiplied while averaging.

use std::collections::VecDeque;

/// Downscales a stream of rows from `in_w`×`in_h` to `out_w`×`out_h` (each no larger).
pub struct RowResizer {
    channels: usize,
    out_w: usize,
    out_h: usize,
    horizontal: Vec<Vec<(usize, f32)>>,
    vertical: Vec<Vec<(usize, f32)>>,
    /// Sums of output rows `next_out..`, premultiplied.
    sums: VecDeque<Vec<f32>>,
    next_out: usize,
    next_in: usize,
    row: Vec<f32>,
    out: Vec<u8>,
}

impl RowResizer {
    /// A resizer; output sizes are clamped to 1..=input size.
    pub fn new(in_w: u32, in_h: u32, out_w: u32, out_h: u32, channels: usize) -> Self {
        let out_w = out_w.clamp(1, in_w.max(1)) as usize;
        let out_h = out_h.clamp(1, in_h.max(1)) as usize;
        RowResizer {
            channels,
            out_w,
            out_h,
            horizontal: weights(in_w as usize, out_w),
            vertical: weights(in_h as usize, out_h),
            sums: VecDeque::new(),
            next_out: 0,
            next_in: 0,
            row: vec![0.0; out_w * channels],
            out: vec![0; out_w * channels],
        }
    }

    /// Output width and height.
    pub fn output_size(&self) -> (u32, u32) {
        (self.out_w as u32, self.out_h as u32)
    }

    /// Takes the next input row; hands every output row it completes to `emit`.
    pub fn push_row(&mut self, row: &[u8], emit: &mut impl FnMut(&[u8])) {
        let c = self.channels;
        let y = self.next_in;
        self.next_in += 1;
        self.row.iter_mut().for_each(|v| *v = 0.0);
        for (x, taps) in self.horizontal.iter().enumerate() {
            for &(sx, w) in taps {
                let p = &row[sx * c..sx * c + c];
                let a = if c == 4 { f32::from(p[3]) / 255.0 } else { 1.0 };
                for (i, (sum, &v)) in self.row[x * c..x * c + c].iter_mut().zip(p).enumerate() {
                    let v = if i < 3 {
                        f32::from(v) * a
                    } else {
                        f32::from(v)
                    };
                    *sum += v * w;
                }
            }
        }
        let mut oy = self.next_out;
        while oy < self.out_h && self.vertical[oy].first().is_some_and(|t| t.0 <= y) {
            if oy - self.next_out >= self.sums.len() {
                self.sums.push_back(vec![0.0; self.out_w * c]);
            }
            if let Some(&(_, w)) = self.vertical[oy].iter().find(|t| t.0 == y) {
                for (s, v) in self.sums[oy - self.next_out].iter_mut().zip(&self.row) {
                    *s += v * w;
                }
            }
            oy += 1;
        }
        while self.next_out < self.out_h
            && self.vertical[self.next_out]
                .last()
                .is_some_and(|t| t.0 <= y)
        {
            let Some(sums) = self.sums.pop_front() else {
                break;
            };
            for (o, px) in self.out.chunks_exact_mut(c).zip(sums.chunks_exact(c)) {
                let a = if c == 4 { px[3] / 255.0 } else { 1.0 };
                for i in 0..c {
                    let v = if i < 3 && c == 4 {
                        if a > 0.0 {
                            px[i] / a
                        } else {
                            0.0
                        }
                    } else {
                        px[i]
                    };
                    o[i] = v.round().clamp(0.0, 255.0) as u8;
                }
            }
            emit(&self.out);
            self.next_out += 1;
        }
    }
}

/// Resizes a whole image; see `RowResizer`.
pub fn resize_area(src: &[u8], sw: u32, sh: u32, channels: usize, dw: u32, dh: u32) -> Vec<u8> {
    let mut resizer = RowResizer::new(sw, sh, dw, dh, channels);
    let mut out = Vec::new();
    for row in src.chunks_exact(sw as usize * channels) {
        resizer.push_row(row, &mut |r| out.extend_from_slice(r));
    }
    out
}

/// For each output index, the source indices it covers and their weights (summing to 1).
fn weights(src: usize, dst: usize) -> Vec<Vec<(usize, f32)>> {
    let ratio = src as f64 / dst as f64;
    (0..dst)
        .map(|d| {
            let (start, end) = (d as f64 * ratio, (d + 1) as f64 * ratio);
            let first = start.floor() as usize;
            let last = (end.ceil() as usize).min(src);
            (first..last)
                .map(|s| {
                    let cover = (end.min(s as f64 + 1.0) - start.max(s as f64)) / ratio;
                    (s, cover as f32)
                })
                .filter(|&(_, w)| w > 1e-6)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_is_a_box_average() {
        let src = [0u8, 0, 0, 100, 100, 100, 50, 50, 50, 10, 10, 10];
        let out = resize_area(&src, 2, 2, 3, 1, 1);
        assert_eq!(out, [40, 40, 40]);
    }

    #[test]
    fn fractional_ratio_keeps_flat_areas_flat_and_emits_every_row() {
        let (w, h) = (300u32, 170u32);
        let src = vec![77u8; (w * h * 3) as usize];
        let out = resize_area(&src, w, h, 3, 256, 145);
        assert_eq!(out.len(), 256 * 145 * 3);
        assert!(out.iter().all(|&v| v == 77));
    }

    #[test]
    fn weights_sum_to_one() {
        for (s, d) in [(1000, 256), (300, 256), (7, 3)] {
            for taps in weights(s, d) {
                let total: f32 = taps.iter().map(|t| t.1).sum();
                assert!((total - 1.0).abs() < 1e-4, "{s}->{d}: {total}");
            }
        }
    }
}

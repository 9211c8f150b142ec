//! Area-average resizing for thumbnails: each output pixel is the mean of the source area
//! it covers (fractional edges weighted), which is what a downscale should be.

/// Resizes `src` (`sw`×`sh`, `channels` 3 or 4) down to `dw`×`dh` by area averaging.
/// Alpha is premultiplied while averaging.
pub fn resize_area(src: &[u8], sw: u32, sh: u32, channels: usize, dw: u32, dh: u32) -> Vec<u8> {
    let c = channels;
    let (sw, sh, dw, dh) = (sw as usize, sh as usize, dw.max(1) as usize, dh.max(1) as usize);
    let premultiplied: Vec<f32> = src
        .chunks_exact(c)
        .flat_map(|p| {
            let a = if c == 4 { f32::from(p[3]) / 255.0 } else { 1.0 };
            (0..c).map(move |i| if i < 3 { f32::from(p[i]) * a } else { f32::from(p[i]) })
        })
        .collect();
    let horizontal = weights(sw, dw);
    let vertical = weights(sh, dh);
    let mut rows = vec![0f32; sh * dw * c];
    for y in 0..sh {
        for (x, taps) in horizontal.iter().enumerate() {
            for &(sx, w) in taps {
                for i in 0..c {
                    rows[(y * dw + x) * c + i] += premultiplied[(y * sw + sx) * c + i] * w;
                }
            }
        }
    }
    let mut out = vec![0u8; dw * dh * c];
    let mut px = vec![0f32; c];
    for (y, taps) in vertical.iter().enumerate() {
        for x in 0..dw {
            px.iter_mut().for_each(|v| *v = 0.0);
            for &(sy, w) in taps {
                for i in 0..c {
                    px[i] += rows[(sy * dw + x) * c + i] * w;
                }
            }
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
                out[(y * dw + x) * c + i] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
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
                .filter(|&(_, w)| w > 0.0)
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
    fn weights_sum_to_one() {
        for (s, d) in [(1000, 256), (300, 256), (7, 3)] {
            for taps in weights(s, d) {
                let total: f32 = taps.iter().map(|t| t.1).sum();
                assert!((total - 1.0).abs() < 1e-4, "{s}->{d}: {total}");
            }
        }
    }
}

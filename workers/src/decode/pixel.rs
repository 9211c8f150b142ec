//! Pixel conversions every decoder shares: everything ends as RGB8 or RGBA8.

/// Expands gray (1 channel) to RGB, or gray+alpha (2) to RGBA, into `out`.
pub fn expand_gray(src: &[u8], gray_channels: usize, out: &mut [u8]) {
    match gray_channels {
        1 => {
            for (o, &g) in out.chunks_exact_mut(3).zip(src) {
                o.copy_from_slice(&[g, g, g]);
            }
        }
        _ => {
            for (o, ga) in out.chunks_exact_mut(4).zip(src.chunks_exact(2)) {
                o.copy_from_slice(&[ga[0], ga[0], ga[0], ga[1]]);
            }
        }
    }
}

/// CMYK (optionally with alpha, `channels` 4 or 5) to RGB(A). `inverted` is true for
/// Adobe-style files that store 255 for "no ink".
pub fn cmyk_to_rgb(src: &[u8], channels: usize, inverted: bool, out: &mut [u8]) {
    let out_channels = if channels == 5 { 4 } else { 3 };
    for (o, p) in out
        .chunks_exact_mut(out_channels)
        .zip(src.chunks_exact(channels))
    {
        let (c, m, y, k) = if inverted {
            (p[0], p[1], p[2], p[3])
        } else {
            (255 - p[0], 255 - p[1], 255 - p[2], 255 - p[3])
        };
        let k = u32::from(k);
        o[0] = ((u32::from(c) * k + 127) / 255) as u8;
        o[1] = ((u32::from(m) * k + 127) / 255) as u8;
        o[2] = ((u32::from(y) * k + 127) / 255) as u8;
        if out_channels == 4 {
            o[3] = p[4];
        }
    }
}

/// 16-bit samples (native-endian `u16`s as bytes) to 8-bit, rounding.
pub fn u16_to_u8(src: &[u16], out: &mut [u8]) {
    for (o, &v) in out.iter_mut().zip(src) {
        *o = ((u32::from(v) * 255 + 32767) / 65535) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gray_expands_to_rgb_and_rgba() {
        let mut rgb = [0u8; 6];
        expand_gray(&[10, 200], 1, &mut rgb);
        assert_eq!(rgb, [10, 10, 10, 200, 200, 200]);
        let mut rgba = [0u8; 4];
        expand_gray(&[7, 99], 2, &mut rgba);
        assert_eq!(rgba, [7, 7, 7, 99]);
    }

    #[test]
    fn cmyk_white_and_black() {
        let mut out = [0u8; 6];
        cmyk_to_rgb(&[0, 0, 0, 0, 0, 0, 0, 255], 4, false, &mut out);
        assert_eq!(out, [255, 255, 255, 0, 0, 0]);
        cmyk_to_rgb(&[255, 255, 255, 255, 255, 0, 255, 255], 4, true, &mut out);
        assert_eq!(out, [255, 255, 255, 255, 0, 255]);
    }

    #[test]
    fn sixteen_bit_rounds() {
        let mut out = [0u8; 3];
        u16_to_u8(&[0, 65535, 32896], &mut out);
        assert_eq!(out, [0, 255, 128]);
    }
}

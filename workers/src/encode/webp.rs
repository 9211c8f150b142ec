//! WebP tiles through libwebp: lossy VP8, alpha kept (no white background as in JPEG).
//! At equal PSNR a WebP tile is smaller than a JPEG one, at several times the encoding
//! time; `METHOD` sets that trade (README, `scripts/bench-tile --webp`).

use std::ffi::{c_int, c_void};

use libwebp_sys as webp;

use crate::error::TileError;

/// libwebp's effort, 0 (fastest) to 6; its default (and libvips') is 4. Tiling is
/// throughput work, so a lower effort: the tiling benchmark's `--webp` rows show
/// the bytes and time it gives against libvips at its default.
pub const METHOD: c_int = 2;

/// Appends libwebp's output to the `Vec<u8>` behind `custom_ptr`.
unsafe extern "C" fn append(
    data: *const u8,
    size: usize,
    picture: *const webp::WebPPicture,
) -> c_int {
    if size == 0 {
        return 1;
    }
    // SAFETY: `encode` points `custom_ptr` at its output Vec, which outlives the
    // WebPEncode call this runs inside; libwebp passes `size` readable bytes at `data`.
    unsafe {
        let out = &mut *((*picture).custom_ptr as *mut Vec<u8>);
        out.extend_from_slice(std::slice::from_raw_parts(data, size));
    }
    1
}

/// Frees the picture's buffers however `encode` leaves.
struct Picture(webp::WebPPicture);

impl Drop for Picture {
    fn drop(&mut self) {
        // SAFETY: the picture was initialised by WebPPicture::new; freeing an
        // initialised picture with or without buffers is allowed.
        unsafe { webp::WebPPictureFree(&mut self.0) };
    }
}

/// Encodes `height` rows of `width` pixels (`channels` 3 or 4), `stride` bytes apart in
/// `pixels`, at `quality` 1-100.
pub fn encode(
    pixels: &[u8],
    stride: usize,
    width: u32,
    height: u32,
    channels: usize,
    quality: u8,
) -> Result<Vec<u8>, TileError> {
    let failed = |what: &str| TileError::Encode(format!("WebP: {what}"));
    let max = webp::WEBP_MAX_DIMENSION;
    if width == 0 || height == 0 || width > max || height > max {
        return Err(failed(&format!(
            "{width}×{height} is outside 1..={max} pixels a side"
        )));
    }
    let row = width as usize * channels;
    let needed = stride * (height as usize - 1) + row;
    if !(channels == 3 || channels == 4) || stride < row || pixels.len() < needed {
        return Err(failed("the pixel buffer does not hold the picture"));
    }
    let stride_c = c_int::try_from(stride).map_err(|_| failed("rows too long"))?;
    let mut config = webp::WebPConfig::new_with_preset(
        webp::WebPPreset::WEBP_PRESET_DEFAULT,
        f32::from(quality),
    )
    .map_err(|()| failed("libwebp refused its own version"))?;
    config.method = METHOD;
    // Keep colour under transparent pixels as it is (libwebp would flatten it to save
    // bytes): a viewer may composite the tile on any background.
    config.exact = c_int::from(channels == 4);
    // SAFETY: `config` is an initialised WebPConfig.
    if unsafe { webp::WebPValidateConfig(&config) } == 0 {
        return Err(failed("invalid settings"));
    }
    let mut picture =
        Picture(webp::WebPPicture::new().map_err(|()| failed("libwebp refused its own version"))?);
    picture.0.width = width as c_int;
    picture.0.height = height as c_int;
    // SAFETY: `pixels` holds `height` rows of `row` bytes, `stride` apart (checked above).
    let imported = unsafe {
        if channels == 4 {
            webp::WebPPictureImportRGBA(&mut picture.0, pixels.as_ptr(), stride_c)
        } else {
            webp::WebPPictureImportRGB(&mut picture.0, pixels.as_ptr(), stride_c)
        }
    };
    if imported == 0 {
        return Err(failed("out of memory importing pixels"));
    }
    let mut out: Vec<u8> = Vec::with_capacity(row * height as usize / 16);
    picture.0.writer = Some(append);
    picture.0.custom_ptr = (&mut out as *mut Vec<u8>).cast::<c_void>();
    // SAFETY: config and picture are valid; the writer appends to `out`, alive here.
    let ok = unsafe { webp::WebPEncode(&config, &mut picture.0) };
    picture.0.custom_ptr = std::ptr::null_mut();
    if ok == 0 {
        return Err(failed(&format!(
            "encoding failed ({:?})",
            picture.0.error_code
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(width: usize, height: usize, channels: usize) -> Vec<u8> {
        let mut pixels = Vec::with_capacity(width * height * channels);
        for y in 0..height {
            for x in 0..width {
                let px = [
                    (x * 255 / width) as u8,
                    (y * 255 / height) as u8,
                    90,
                    (x % 256) as u8,
                ];
                pixels.extend_from_slice(&px[..channels]);
            }
        }
        pixels
    }

    #[test]
    fn encodes_a_webp_that_decodes_to_the_picture() {
        let (w, h) = (200, 130);
        let pixels = gradient(w, h, 3);
        let bytes = encode(&pixels, w * 3, w as u32, h as u32, 3, 85).unwrap();
        assert_eq!(&bytes[..4], b"RIFF");
        assert_eq!(&bytes[8..12], b"WEBP");
        let decoded = image_webp::WebPDecoder::new(std::io::Cursor::new(&bytes)).unwrap();
        assert_eq!(decoded.dimensions(), (w as u32, h as u32));
        assert!(!decoded.has_alpha());
    }

    #[test]
    fn keeps_alpha_and_reads_a_rectangle_inside_a_wider_buffer() {
        let (w, h) = (64, 40);
        let wide = gradient(w * 2, h, 4);
        let bytes = encode(&wide, w * 2 * 4, w as u32, h as u32, 4, 80).unwrap();
        let decoded = image_webp::WebPDecoder::new(std::io::Cursor::new(&bytes)).unwrap();
        assert_eq!(decoded.dimensions(), (w as u32, h as u32));
        assert!(decoded.has_alpha());
    }

    #[test]
    fn refuses_a_buffer_too_small_and_sizes_it_cannot_hold() {
        let pixels = gradient(10, 10, 3);
        assert!(encode(&pixels, 30, 10, 11, 3, 85).is_err());
        assert!(encode(&pixels, 30, 0, 10, 3, 85).is_err());
        assert!(encode(&pixels, 30, 20_000, 1, 3, 85).is_err());
    }
}

//! Shared by the server's integration tests.
#![allow(dead_code, clippy::unwrap_used)]

pub mod stack;

/// A JPEG of `width`×`height` with busy, deterministic content, written row by row.
pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    c.set_size(width as usize, height as usize);
    c.set_quality(85.0);
    let mut started = c.start_compress(Vec::new()).unwrap();
    let mut row = vec![0u8; width as usize * 3];
    for y in 0..height {
        for (x, px) in row.chunks_exact_mut(3).enumerate() {
            let x = x as u32;
            px.copy_from_slice(&[(x ^ y) as u8, (x / 3 + y / 5) as u8, ((x * y) >> 7) as u8]);
        }
        started.write_scanlines(&row).unwrap();
    }
    started.finish().unwrap()
}

//! JPEG through libjpeg-turbo (the `mozjpeg` crate) with its scanline API: baseline streams
//! row by row in a few MCU rows of memory. Progressive files need libjpeg's whole
//! coefficient buffer, so they are accepted only when that fits the memory budget.
//! libjpeg reports errors by unwinding; every call into it runs under `catch_unwind`.

use std::fs::File;
use std::io::{BufReader, Read};
use std::os::raw::c_int;
use std::panic;
use std::path::Path;

use mozjpeg::decompress::DecompressStarted;
use mozjpeg::{ColorSpace, ColorSpaceExt, Decompress};
use mozjpeg_sys::{jpeg_common_struct, jpeg_error_mgr};

use super::orient::Orientation;
use super::pixel::cmyk_to_rgb;
use super::{orientation_from_exif, RowSource};
use crate::error::TileError;
use crate::jpeglib::{self, message, Failure};
use crate::pyramid::Limits;

/// What we learn from the markers before libjpeg sees the file.
#[derive(Debug, Default)]
pub(super) struct Header {
    pub(super) progressive: bool,
    /// Baseline or extended sequential Huffman (SOF0, SOF1).
    pub(super) sequential_huffman: bool,
    pub(super) width: u64,
    pub(super) height: u64,
    /// (h, v) sampling factors per component.
    pub(super) sampling: Vec<(u8, u8)>,
    adobe: bool,
    orientation: Option<u16>,
    /// APP2 ICC_PROFILE chunks: (sequence number, bytes).
    icc_chunks: Vec<(u8, Vec<u8>)>,
    /// MCUs between restart markers (DRI), 0 for none.
    pub(super) restart_interval: u16,
    /// Where the frame header's height is in the file (two bytes, big-endian).
    pub(super) height_at: u64,
    /// Components in the first scan, and where its entropy-coded data starts.
    pub(super) scan_components: usize,
    pub(super) data_start: u64,
}

/// Walks marker segments up to the first scan. Hostile input: every length is checked.
pub(super) fn read_header(path: &Path) -> Result<Header, TileError> {
    let mut file = BufReader::new(File::open(path)?);
    // Every byte read is counted: the restart bands need file offsets.
    let mut at = 0u64;
    let mut read = |buf: &mut [u8]| -> Result<u64, TileError> {
        file.read_exact(buf).map_err(truncated)?;
        at += buf.len() as u64;
        Ok(at)
    };
    let mut header = Header::default();
    let mut soi = [0u8; 2];
    read(&mut soi)?;
    loop {
        let mut byte = [0u8; 1];
        read(&mut byte)?;
        if byte[0] != 0xFF {
            continue; // garbage between segments: libjpeg tolerates it too
        }
        let mut marker = 0xFF;
        while marker == 0xFF {
            read(&mut byte)?;
            marker = byte[0];
        }
        if marker == 0xD8 || (0xD0..=0xD7).contains(&marker) || marker == 0x01 || marker == 0x00 {
            continue;
        }
        if marker == 0xD9 {
            return Err(TileError::Corrupt("JPEG ends before its first scan".into()));
        }
        let mut len = [0u8; 2];
        read(&mut len)?;
        let len = usize::from(u16::from_be_bytes(len));
        if len < 2 {
            return Err(TileError::Corrupt("JPEG marker with a bad length".into()));
        }
        let mut body = vec![0u8; len - 2];
        let end = read(&mut body)?;
        let body_at = end - body.len() as u64;
        match marker {
            0xC0..=0xCF if marker != 0xC4 && marker != 0xC8 && marker != 0xCC => {
                if body.len() < 6 {
                    return Err(TileError::Corrupt("JPEG frame header too short".into()));
                }
                header.progressive = matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
                header.sequential_huffman = matches!(marker, 0xC0 | 0xC1);
                header.height = u64::from(u16::from_be_bytes([body[1], body[2]]));
                header.height_at = body_at + 1;
                header.width = u64::from(u16::from_be_bytes([body[3], body[4]]));
                let components = usize::from(body[5]);
                header.sampling = (0..components)
                    .filter_map(|i| body.get(6 + i * 3 + 1))
                    .map(|&s| ((s >> 4).max(1), (s & 15).max(1)))
                    .collect();
            }
            0xE1 if body.starts_with(b"Exif\0\0") => {
                header.orientation = header.orientation.or(orientation_from_exif(&body));
            }
            0xEE if body.starts_with(b"Adobe") => header.adobe = true,
            0xE2 if body.starts_with(b"ICC_PROFILE\0") && body.len() > 14 => {
                header.icc_chunks.push((body[12], body[14..].to_vec()));
            }
            0xDD if body.len() >= 2 => {
                header.restart_interval = u16::from_be_bytes([body[0], body[1]]);
            }
            0xDA => {
                header.scan_components = usize::from(body.first().copied().unwrap_or(0));
                header.data_start = end;
                return Ok(header);
            }
            _ => {}
        }
    }
}

fn truncated(e: std::io::Error) -> TileError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        TileError::Truncated("the JPEG file ends inside its header".into())
    } else {
        TileError::Io(e)
    }
}

/// Bytes of DCT coefficients libjpeg keeps for a progressive image: 64 × i16 per block.
fn coefficient_bytes(h: &Header) -> u64 {
    let max_h = h.sampling.iter().map(|s| u64::from(s.0)).max().unwrap_or(1);
    let max_v = h.sampling.iter().map(|s| u64::from(s.1)).max().unwrap_or(1);
    h.sampling
        .iter()
        .map(|&(sh, sv)| {
            let w = (h.width * u64::from(sh)).div_ceil(max_h).div_ceil(8);
            let rows = (h.height * u64::from(sv)).div_ceil(max_v).div_ceil(8);
            w * rows * 128
        })
        .sum()
}

unsafe extern "C-unwind" fn error_exit(cinfo: &mut jpeg_common_struct) {
    let text = message(cinfo);
    panic::resume_unwind(Box::new(Failure(TileError::Corrupt(text))));
}

/// Warnings are tolerated (libvips does too) except a premature end of file, which libjpeg
/// would otherwise paper over with grey rows.
unsafe extern "C-unwind" fn emit_message(cinfo: &mut jpeg_common_struct, level: c_int) {
    // SAFETY: libjpeg always sets `err` before it can call back.
    let code = unsafe { cinfo.err.as_ref() }.map_or(0, |e| e.msg_code);
    if level < 0 && code == mozjpeg_sys::JWRN_JPEG_EOF as c_int {
        panic::resume_unwind(Box::new(Failure(TileError::Truncated(
            "the JPEG data ends before the last row".into(),
        ))));
    }
}

pub(super) fn error_manager() -> jpeg_error_mgr {
    let mut err = jpeglib::error_manager(error_exit);
    err.emit_message = Some(emit_message);
    err
}

/// Runs a libjpeg call, turning its unwinding errors into `TileError`.
pub(super) fn guarded<T>(f: impl FnOnce() -> Result<T, TileError>) -> Result<T, TileError> {
    jpeglib::guarded(f, TileError::Corrupt)
}

struct JpegSource {
    decoder: Option<DecompressStarted<BufReader<File>>>,
    width: u32,
    height: u32,
    /// Components libjpeg hands us: 3 (RGB) or 4 (CMYK).
    components: usize,
    adobe_inverted: bool,
    scratch: Vec<u8>,
    icc: Option<Vec<u8>>,
}

/// Opens a JPEG for streaming; returns the source and its EXIF orientation.
pub fn open(path: &Path, limits: &Limits) -> Result<(Box<dyn RowSource>, Orientation), TileError> {
    let mut header = read_header(path)?;
    limits.check_dimensions(header.width, header.height)?;
    if header.progressive {
        limits.check_buffer(
            "decoding this progressive JPEG (libjpeg keeps all its coefficients)",
            coefficient_bytes(&header),
        )?;
    }
    let icc = (!header.icc_chunks.is_empty()).then(|| {
        let mut chunks = std::mem::take(&mut header.icc_chunks);
        chunks.sort_by_key(|c| c.0);
        chunks.into_iter().flat_map(|c| c.1).collect::<Vec<u8>>()
    });
    let orientation = Orientation::from_exif(header.orientation.unwrap_or(1));
    if let Some(bands) = super::restarts::open(path, &header, limits, icc.clone())? {
        return Ok((bands, orientation));
    }
    let file = File::open(path)?;
    let decoder = guarded(|| {
        let decompress = Decompress::with_err(error_manager())
            .from_reader(BufReader::with_capacity(1 << 16, file))?;
        let cmyk = matches!(
            decompress.color_space(),
            ColorSpace::JCS_CMYK | ColorSpace::JCS_YCCK
        );
        let started = if cmyk {
            decompress.to_colorspace(ColorSpace::JCS_CMYK)?
        } else {
            decompress.rgb()?
        };
        Ok(started)
    })?;
    let components = decoder.color_space().num_components();
    let (width, height) = (decoder.width() as u32, decoder.height() as u32);
    let source = JpegSource {
        decoder: Some(decoder),
        width,
        height,
        components,
        adobe_inverted: header.adobe,
        scratch: Vec::new(),
        // A CMYK profile would need the CMYK samples; those are converted without one.
        icc: icc.filter(|_| components == 3),
    };
    Ok((Box::new(source), orientation))
}

impl RowSource for JpegSource {
    fn width(&self) -> u32 {
        self.width
    }
    fn height(&self) -> u32 {
        self.height
    }
    fn channels(&self) -> usize {
        3
    }
    fn icc_profile(&self) -> Option<Vec<u8>> {
        self.icc.clone()
    }
    fn read_rows(&mut self, out: &mut [u8]) -> Result<(), TileError> {
        let Some(decoder) = self.decoder.as_mut() else {
            return Err(TileError::Corrupt("read past the last JPEG row".into()));
        };
        let result = guarded(|| {
            if self.components == 3 {
                decoder.read_scanlines_into(out)?;
            } else {
                let rows = out.len() / (self.width as usize * 3);
                self.scratch.resize(rows * self.width as usize * 4, 0);
                decoder.read_scanlines_into(&mut self.scratch)?;
                cmyk_to_rgb(&self.scratch, 4, self.adobe_inverted, out);
            }
            Ok(())
        });
        if result.is_err() {
            // libjpeg's state is undefined after an error; never call into it again.
            self.decoder = None;
        }
        result.map_err(|e| match e {
            TileError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                TileError::Truncated("the JPEG data ends before the last row".into())
            }
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coefficient_memory_of_420() {
        let header = Header {
            progressive: true,
            width: 16,
            height: 16,
            sampling: vec![(2, 2), (1, 1), (1, 1)],
            ..Header::default()
        };
        // 4 luma blocks + 1 + 1 chroma blocks, 128 bytes each.
        assert_eq!(coefficient_bytes(&header), 6 * 128);
    }
}

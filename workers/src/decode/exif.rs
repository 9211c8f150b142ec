//! Reads the one EXIF field we need, the orientation (tag 0x0112), from TIFF-structured
//! EXIF data. Hand-written because it is 40 lines and the input is hostile: every
//! offset is bounds-checked.

/// Orientation 1–8 from EXIF bytes (with or without the `Exif\0\0` prefix); `None` when
/// absent or malformed.
pub fn orientation_from_exif(data: &[u8]) -> Option<u16> {
    let tiff = data.strip_prefix(b"Exif\0\0").unwrap_or(data);
    let big_endian = match tiff.get(..4)? {
        b"MM\0*" => true,
        b"II*\0" => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = tiff.get(at..at + 2)?.try_into().ok()?;
        Some(if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = tiff.get(at..at + 4)?.try_into().ok()?;
        Some(if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let count = usize::from(u16_at(ifd)?);
    (0..count).find_map(|i| {
        let entry = ifd + 2 + i * 12;
        if u16_at(entry)? != 0x0112 {
            return None;
        }
        let value = u16_at(entry + 8)?;
        (1..=8).contains(&value).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exif(big_endian: bool, orientation: u16) -> Vec<u8> {
        let w16 = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w32 = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut v = b"Exif\0\0".to_vec();
        v.extend_from_slice(if big_endian { b"MM\0*" } else { b"II*\0" });
        v.extend_from_slice(&w32(8));
        v.extend_from_slice(&w16(1));
        v.extend_from_slice(&w16(0x0112));
        v.extend_from_slice(&w16(3));
        v.extend_from_slice(&w32(1));
        v.extend_from_slice(&w16(orientation));
        v.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        v
    }

    #[test]
    fn reads_both_byte_orders() {
        assert_eq!(orientation_from_exif(&exif(true, 6)), Some(6));
        assert_eq!(orientation_from_exif(&exif(false, 3)), Some(3));
        assert_eq!(orientation_from_exif(&exif(false, 9)), None);
    }

    #[test]
    fn malformed_is_none_not_panic() {
        let full = exif(false, 8);
        for cut in 0..full.len() {
            let _ = orientation_from_exif(&full[..cut]);
        }
        assert_eq!(
            orientation_from_exif(b"Exif\0\0II*\0\xff\xff\xff\xff"),
            None
        );
    }
}

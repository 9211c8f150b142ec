//! Colour management: a picture with an embedded RGB ICC profile other than sRGB (Adobe
//! RGB, Display P3, ProPhoto, a camera's own) is converted to sRGB row by row with
//! Little CMS, so tiles look in a browser as the picture does in an editor. Untagged and
//! sRGB-tagged pictures pass through untouched; an unreadable profile is ignored, never
//! fatal.

use lcms2::{
    ColorSpaceSignature, Flags, InfoType, Intent, Locale, PixelFormat, Profile, Transform,
};

use super::RowSource;
use crate::error::TileError;

enum Converter {
    Rgb(Transform<[u8; 3], [u8; 3]>),
    Rgba(Transform<[u8; 4], [u8; 4]>),
}

/// A source converted to sRGB.
struct ColorManaged {
    inner: Box<dyn RowSource>,
    converter: Converter,
    scratch: Vec<u8>,
}

/// Whether `profile` already is sRGB (by its description, as cameras and editors name it).
fn is_srgb(profile: &Profile) -> bool {
    profile
        .info(InfoType::Description, Locale::none())
        .is_some_and(|d| d.to_ascii_lowercase().contains("srgb"))
}

/// Wraps `inner` in an sRGB conversion when `icc` asks for one.
pub fn to_srgb(
    inner: Box<dyn RowSource>,
    icc: Option<Vec<u8>>,
) -> Result<Box<dyn RowSource>, TileError> {
    let Some(icc) = icc else { return Ok(inner) };
    let Ok(profile) = Profile::new_icc(&icc) else {
        tracing::warn!("ignoring an unreadable ICC profile");
        return Ok(inner);
    };
    if profile.color_space() != ColorSpaceSignature::RgbData || is_srgb(&profile) {
        return Ok(inner);
    }
    let srgb = Profile::new_srgb();
    let converter = if inner.channels() == 4 {
        Transform::new_flags(
            &profile,
            PixelFormat::RGBA_8,
            &srgb,
            PixelFormat::RGBA_8,
            Intent::Perceptual,
            Flags::COPY_ALPHA,
        )
        .map(Converter::Rgba)
    } else {
        Transform::new(
            &profile,
            PixelFormat::RGB_8,
            &srgb,
            PixelFormat::RGB_8,
            Intent::Perceptual,
        )
        .map(Converter::Rgb)
    };
    match converter {
        Ok(converter) => Ok(Box::new(ColorManaged {
            inner,
            converter,
            scratch: Vec::new(),
        })),
        Err(e) => {
            tracing::warn!(error = %e, "ignoring an ICC profile that cannot convert to sRGB");
            Ok(inner)
        }
    }
}

impl RowSource for ColorManaged {
    fn width(&self) -> u32 {
        self.inner.width()
    }
    fn height(&self) -> u32 {
        self.inner.height()
    }
    fn channels(&self) -> usize {
        self.inner.channels()
    }
    fn read_rows(&mut self, out: &mut [u8]) -> Result<(), TileError> {
        self.scratch.resize(out.len(), 0);
        self.inner.read_rows(&mut self.scratch)?;
        match &self.converter {
            Converter::Rgb(t) => t.transform_pixels(
                bytemuck::cast_slice(&self.scratch),
                bytemuck::cast_slice_mut(out),
            ),
            Converter::Rgba(t) => t.transform_pixels(
                bytemuck::cast_slice(&self.scratch),
                bytemuck::cast_slice_mut(out),
            ),
        }
        Ok(())
    }
}

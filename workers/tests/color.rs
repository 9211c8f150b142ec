//! Embedded ICC profiles: a picture tagged with a wide-gamut RGB profile comes out in
//! sRGB (compared with Little CMS applied to an independent decode); an sRGB-tagged
//! one is left as it is.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use hugepic_workers::pyramid::layout::dzi;
use hugepic_workers::{tile_file, Limits, MemorySink, TileFormat, TileOptions};
use lcms2::{CIExyY, CIExyYTRIPLE, Intent, PixelFormat, Profile, ToneCurve, Transform};

/// An Adobe-RGB-like profile: wide primaries, gamma 2.2, D65.
fn wide_gamut_profile() -> Vec<u8> {
    let white = CIExyY {
        x: 0.3127,
        y: 0.3290,
        Y: 1.0,
    };
    let primaries = CIExyYTRIPLE {
        Red: CIExyY {
            x: 0.64,
            y: 0.33,
            Y: 1.0,
        },
        Green: CIExyY {
            x: 0.21,
            y: 0.71,
            Y: 1.0,
        },
        Blue: CIExyY {
            x: 0.15,
            y: 0.06,
            Y: 1.0,
        },
    };
    let curve = ToneCurve::new(2.2);
    Profile::new_rgb(&white, &primaries, &[&curve, &curve, &curve])
        .unwrap()
        .icc()
        .unwrap()
}

fn tagged_jpeg(w: u32, h: u32, rgb: &[u8], icc: &[u8]) -> Vec<u8> {
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    c.set_size(w as usize, h as usize);
    c.set_quality(98.0);
    let mut started = c.start_compress(Vec::new()).unwrap();
    started.write_icc_profile(icc);
    started.write_scanlines(rgb).unwrap();
    started.finish().unwrap()
}

fn top_tile(name: &str, bytes: &[u8]) -> Vec<u8> {
    let dir = scratch();
    let path = write(dir.path(), name, bytes);
    let sink = MemorySink::default();
    let options = TileOptions {
        tile_size: 512,
        format: Some(TileFormat::Png),
        ..TileOptions::default()
    };
    let summary = tile_file(&path, &sink, &options, &Limits::default(), &|_| {}).unwrap();
    decode_tile(
        &sink.objects()[&dzi::tile_key(summary.levels - 1, 0, 0, "png")],
        3,
    )
    .2
}

#[test]
fn wide_gamut_pictures_come_out_in_srgb() {
    let (w, h) = (120, 80);
    let rgb = photo(w, h, 3);
    let icc = wide_gamut_profile();
    let bytes = tagged_jpeg(w, h, &rgb, &icc);
    let (_, _, decoded) = decode_reference(&bytes, 3);
    let transform: Transform<[u8; 3], [u8; 3]> = Transform::new(
        &Profile::new_icc(&icc).unwrap(),
        PixelFormat::RGB_8,
        &Profile::new_srgb(),
        PixelFormat::RGB_8,
        Intent::Perceptual,
    )
    .unwrap();
    let mut expected = vec![[0u8; 3]; (w * h) as usize];
    let source: Vec<[u8; 3]> = decoded
        .chunks_exact(3)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    transform.transform_pixels(&source, &mut expected);
    let expected: Vec<u8> = expected.concat();
    let got = top_tile("wide.jpg", &bytes);
    let db = psnr(&got, &expected);
    assert!(db >= 40.0, "PSNR against the sRGB conversion: {db:.1} dB");
    let untouched = psnr(&got, &decoded);
    assert!(
        untouched < db - 5.0,
        "the conversion changed nothing ({untouched:.1} dB to the raw pixels)"
    );
}

#[test]
fn srgb_tagged_pictures_are_left_alone() {
    let (w, h) = (120, 80);
    let rgb = photo(w, h, 3);
    let srgb = Profile::new_srgb().icc().unwrap();
    let bytes = tagged_jpeg(w, h, &rgb, &srgb);
    let (_, _, decoded) = decode_reference(&bytes, 3);
    let got = top_tile("srgb.jpg", &bytes);
    assert!(psnr(&got, &decoded) >= 40.0);
}

//! libjpeg (libjpeg-turbo's code, as `mozjpeg-sys` builds it) through its C API: the
//! error plumbing the decoder and the encoder share, and the tile compressor. libjpeg
//! reports errors by calling `error_exit`, which must not return; ours unwinds with the
//! error as payload, and every call into libjpeg runs under `guarded`.

use std::os::raw::c_int;
use std::panic::{self, AssertUnwindSafe};

use mozjpeg_sys::{
    boolean, jpeg_common_struct, jpeg_compress_struct, jpeg_destination_mgr, jpeg_error_mgr,
    jpeg_std_error, JHUFF_TBL, JPEG_LIB_VERSION, JSAMPROW, J_COLOR_SPACE,
};

use crate::encode::huffman::{HuffTable, SharedTables};
use crate::error::TileError;

/// An error libjpeg raised, carried through the unwind.
pub(crate) struct Failure(pub TileError);

/// libjpeg's message for its current error or warning.
pub(crate) fn message(cinfo: &mut jpeg_common_struct) -> String {
    let buffer = [0u8; 80];
    // SAFETY: `err` is set by libjpeg before any callback; format_message writes at most
    // 80 bytes (JMSG_LENGTH_MAX) into the buffer.
    let formatter = unsafe { cinfo.err.as_ref() }.and_then(|e| e.format_message);
    if let Some(format) = formatter {
        unsafe { format(cinfo, &buffer) };
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

/// A standard error manager whose `error_exit` unwinds with `Failure`.
pub(crate) fn error_manager(
    error_exit: unsafe extern "C-unwind" fn(&mut jpeg_common_struct),
) -> jpeg_error_mgr {
    // SAFETY: jpeg_std_error fills every field of a zeroed jpeg_error_mgr.
    let mut err: jpeg_error_mgr = unsafe { std::mem::zeroed() };
    unsafe { jpeg_std_error(&mut err) };
    err.error_exit = Some(error_exit);
    err
}

/// Runs libjpeg code; its unwinding errors come back as the `TileError` they carry, any
/// other panic as `other(message)`.
pub(crate) fn guarded<T>(
    f: impl FnOnce() -> Result<T, TileError>,
    other: fn(String) -> TileError,
) -> Result<T, TileError> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => Err(match payload.downcast::<Failure>() {
            Ok(failure) => failure.0,
            Err(payload) => match payload.downcast::<String>() {
                Ok(text) => other(*text),
                Err(_) => other("libjpeg failed".into()),
            },
        }),
    }
}

unsafe extern "C-unwind" fn encode_error_exit(cinfo: &mut jpeg_common_struct) {
    let text = message(cinfo);
    panic::resume_unwind(Box::new(Failure(TileError::Encode(text))));
}

/// Which Huffman tables a JPEG is written with.
#[derive(Clone, Copy)]
pub enum Huffman<'a> {
    /// The standard tables of the JPEG spec (one pass).
    Standard,
    /// Tables optimised for this image (libjpeg gathers statistics first: two passes
    /// over the coefficients, which it holds for the whole image).
    Optimised,
    /// Given tables (one pass); they must code every symbol the image needs, as
    /// `SharedTables::learnt` makes them.
    Shared(&'a SharedTables),
}

/// libjpeg's output going into a `Vec`: its buffer is the vector's spare capacity.
#[repr(C)]
struct VecDestination {
    /// First, so libjpeg's `dest` pointer is also a pointer to this struct.
    mgr: jpeg_destination_mgr,
    out: Vec<u8>,
}

/// Bytes the output grows by when libjpeg fills it.
const OUTPUT_CHUNK: usize = 16 << 10;

impl VecDestination {
    fn new(capacity: usize) -> Box<VecDestination> {
        Box::new(VecDestination {
            mgr: jpeg_destination_mgr {
                next_output_byte: std::ptr::null_mut(),
                free_in_buffer: 0,
                init_destination: Some(init_destination),
                empty_output_buffer: Some(empty_output_buffer),
                term_destination: Some(term_destination),
            },
            out: Vec::with_capacity(capacity.max(OUTPUT_CHUNK)),
        })
    }

    /// Points libjpeg at the spare capacity (growing it if there is none).
    fn expose_spare(&mut self) {
        if self.out.capacity() == self.out.len() {
            self.out.reserve(self.out.len().max(OUTPUT_CHUNK));
        }
        let spare = self.out.spare_capacity_mut();
        self.mgr.free_in_buffer = spare.len();
        self.mgr.next_output_byte = spare.as_mut_ptr().cast();
    }

    /// Counts what libjpeg wrote into the spare capacity as the vector's.
    fn keep_written(&mut self) {
        let written = self.out.capacity() - self.out.len() - self.mgr.free_in_buffer;
        // SAFETY: libjpeg wrote `written` bytes at the start of the spare capacity.
        unsafe { self.out.set_len(self.out.len() + written) };
    }

    /// # Safety
    /// `cinfo.dest` is the `mgr` of a live `VecDestination`.
    unsafe fn of(cinfo: &mut jpeg_compress_struct) -> &mut VecDestination {
        // SAFETY: per the contract; `mgr` is the first field of a repr(C) struct.
        unsafe { &mut *cinfo.dest.cast::<VecDestination>() }
    }
}

unsafe extern "C-unwind" fn init_destination(cinfo: &mut jpeg_compress_struct) {
    // SAFETY: only installed by `Compressor::start`, with a VecDestination.
    unsafe { VecDestination::of(cinfo) }.expose_spare();
}

unsafe extern "C-unwind" fn empty_output_buffer(cinfo: &mut jpeg_compress_struct) -> boolean {
    // SAFETY: as above. libjpeg calls this with the whole buffer written.
    let dest = unsafe { VecDestination::of(cinfo) };
    dest.mgr.free_in_buffer = 0;
    dest.keep_written();
    dest.expose_spare();
    boolean::from(true)
}

unsafe extern "C-unwind" fn term_destination(cinfo: &mut jpeg_compress_struct) {
    // SAFETY: as above.
    unsafe { VecDestination::of(cinfo) }.keep_written();
}

/// One RGB image being compressed to JPEG in memory.
pub struct Compressor {
    // Boxed: libjpeg keeps pointers to the error manager and the destination.
    cinfo: Box<jpeg_compress_struct>,
    _err: Box<jpeg_error_mgr>,
    dest: Box<VecDestination>,
    failed: bool,
}

// SAFETY: the compressor owns all of libjpeg's state for this image, nothing in it is
// shared, and it is used from one thread at a time.
unsafe impl Send for Compressor {}

impl Compressor {
    /// Starts an image of `width` × `height` RGB pixels at `quality` (libjpeg's scale,
    /// standard quantisation tables, 4:2:0, baseline).
    pub fn start(
        width: u32,
        height: u32,
        quality: u8,
        huffman: Huffman<'_>,
    ) -> Result<Self, TileError> {
        Compressor::start_with(width, height, quality, huffman, 0)
    }

    /// As [`Compressor::start`], with a restart marker every `restart_interval` MCUs
    /// (0: none).
    pub(crate) fn start_with(
        width: u32,
        height: u32,
        quality: u8,
        huffman: Huffman<'_>,
        restart_interval: u32,
    ) -> Result<Self, TileError> {
        let mut err = Box::new(error_manager(encode_error_exit));
        // SAFETY: a zeroed struct is what jpeg_CreateCompress expects to initialise.
        let mut cinfo: Box<jpeg_compress_struct> = Box::new(unsafe { std::mem::zeroed() });
        cinfo.common.err = &mut *err;
        let mut compressor = Compressor {
            cinfo,
            _err: err,
            dest: VecDestination::new(width as usize * height as usize / 2),
            failed: false,
        };
        let dest = &mut compressor.dest.mgr as *mut jpeg_destination_mgr;
        compressor.call(|cinfo| {
            // SAFETY: cinfo is zeroed with its error manager set; the destination is
            // boxed and lives as long as the compressor.
            unsafe {
                mozjpeg_sys::jpeg_CreateCompress(
                    cinfo,
                    JPEG_LIB_VERSION,
                    std::mem::size_of::<jpeg_compress_struct>(),
                );
                cinfo.image_width = width;
                cinfo.image_height = height;
                cinfo.input_components = 3;
                cinfo.in_color_space = J_COLOR_SPACE::JCS_RGB;
                mozjpeg_sys::jpeg_c_set_int_param(
                    cinfo,
                    mozjpeg_sys::J_INT_PARAM::JINT_COMPRESS_PROFILE,
                    mozjpeg_sys::JCP_FASTEST as c_int,
                );
                mozjpeg_sys::jpeg_set_defaults(cinfo);
                mozjpeg_sys::jpeg_set_quality(cinfo, c_int::from(quality), boolean::from(false));
                cinfo.optimize_coding = boolean::from(matches!(huffman, Huffman::Optimised));
                cinfo.restart_interval = restart_interval;
                if let Huffman::Shared(tables) = huffman {
                    for i in 0..2 {
                        set_table(cinfo.dc_huff_tbl_ptrs[i], &tables.dc[i])?;
                        set_table(cinfo.ac_huff_tbl_ptrs[i], &tables.ac[i])?;
                    }
                }
                cinfo.dest = dest;
                mozjpeg_sys::jpeg_start_compress(cinfo, boolean::from(true));
            }
            Ok(())
        })?;
        Ok(compressor)
    }

    /// Compresses the next rows (each `width` × 3 bytes).
    pub fn write(&mut self, rows: &[&[u8]]) -> Result<(), TileError> {
        let width = self.cinfo.image_width as usize * 3;
        if rows.iter().any(|r| r.len() < width) {
            return Err(TileError::Encode("a row is shorter than the image".into()));
        }
        let pointers: Vec<JSAMPROW> = rows.iter().map(|r| r.as_ptr()).collect();
        self.call(|cinfo| {
            let mut done = 0;
            while done < pointers.len() {
                // SAFETY: every pointer is to a row of at least `width` × 3 bytes that
                // outlives the call; libjpeg only reads them.
                let n = unsafe {
                    mozjpeg_sys::jpeg_write_scanlines(
                        cinfo,
                        pointers[done..].as_ptr(),
                        (pointers.len() - done) as u32,
                    )
                };
                if n == 0 {
                    return Err(TileError::Encode("libjpeg took no rows".into()));
                }
                done += n as usize;
            }
            Ok(())
        })
    }

    /// Finishes the image and returns the JPEG file.
    pub fn finish(mut self) -> Result<Vec<u8>, TileError> {
        self.call(|cinfo| {
            // SAFETY: started in `start`; libjpeg checks that every row was written.
            unsafe { mozjpeg_sys::jpeg_finish_compress(cinfo) };
            Ok(())
        })?;
        Ok(std::mem::take(&mut self.dest.out))
    }

    fn call(
        &mut self,
        f: impl FnOnce(&mut jpeg_compress_struct) -> Result<(), TileError>,
    ) -> Result<(), TileError> {
        if self.failed {
            return Err(TileError::Encode("the JPEG encoder already failed".into()));
        }
        let cinfo = &mut *self.cinfo;
        let result = guarded(|| f(cinfo), TileError::Encode);
        // libjpeg's state is undefined after an error; never call into it again.
        self.failed = result.is_err();
        result
    }
}

/// The JPEG spec's standard Huffman tables (Annex K.3), as libjpeg holds them: read from
/// a compressor set up with them (and dropped unfinished).
pub fn standard_tables() -> Result<SharedTables, TileError> {
    let compressor = Compressor::start(1, 1, 85, Huffman::Standard)?;
    let read = |slot: *mut JHUFF_TBL| {
        // SAFETY: libjpeg allocated these slots for the live compressor (or left null).
        unsafe { slot.as_ref() }.map(|t| {
            let n: usize = t.bits.iter().skip(1).map(|&b| usize::from(b)).sum();
            HuffTable {
                bits: t.bits,
                values: t.huffval[..n.min(256)].to_vec(),
            }
        })
    };
    let cinfo = &compressor.cinfo;
    (|| {
        Some(SharedTables {
            dc: [
                read(cinfo.dc_huff_tbl_ptrs[0])?,
                read(cinfo.dc_huff_tbl_ptrs[1])?,
            ],
            ac: [
                read(cinfo.ac_huff_tbl_ptrs[0])?,
                read(cinfo.ac_huff_tbl_ptrs[1])?,
            ],
        })
    })()
    .ok_or_else(|| TileError::Encode("libjpeg has no standard tables".into()))
}

/// Writes `table` into one of libjpeg's Huffman table slots.
///
/// # Safety
/// `slot` is null or a table libjpeg allocated for the compressor being set up.
unsafe fn set_table(slot: *mut JHUFF_TBL, table: &HuffTable) -> Result<(), TileError> {
    // SAFETY: per the contract above.
    let Some(slot) = (unsafe { slot.as_mut() }) else {
        return Err(TileError::Encode(
            "libjpeg has no Huffman table slot".into(),
        ));
    };
    if table.values.len() > 256 {
        return Err(TileError::Encode(
            "a Huffman table with too many symbols".into(),
        ));
    }
    slot.bits = table.bits;
    slot.huffval = [0; 256];
    slot.huffval[..table.values.len()].copy_from_slice(&table.values);
    Ok(())
}

impl Drop for Compressor {
    fn drop(&mut self) {
        // SAFETY: destroy is valid in any state after create, failed ones included.
        unsafe { mozjpeg_sys::jpeg_destroy_compress(&mut self.cinfo) };
    }
}

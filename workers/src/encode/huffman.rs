//! Huffman tables shared by many tiles. A JPEG tile with tables optimised for it alone
//! costs libjpeg a second pass over the tile's coefficients (the statistics), about 40%
//! of the encoding. Neighbouring tiles of one picture use nearly the same symbols, so a
//! few sample tiles are encoded with their own optimal tables, their symbols counted
//! here, and the rest encoded in one pass with tables built from those counts.
//!
//! Counting reads the sample's entropy-coded data back (baseline, as our encoder writes
//! it): exact counts, taken after libjpeg's own colour conversion, subsampling and
//! quantisation. Tables are built as JPEG's Annex K.2 describes (libjpeg's
//! `jpeg_gen_optimal_table`), so the counts of one tile give back exactly the tables
//! libjpeg would have chosen for it.

use std::fmt;

/// A Huffman table as JPEG's DHT segment holds it.
#[derive(Clone, PartialEq, Eq)]
pub struct HuffTable {
    /// `bits[n]`: how many codes are `n` bits long (`bits[0]` unused).
    pub bits: [u8; 17],
    /// Symbols in order of increasing code length.
    pub values: Vec<u8>,
}

impl fmt::Debug for HuffTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HuffTable({:?}, {} symbols)",
            &self.bits[1..],
            self.values.len()
        )
    }
}

/// Symbol counts per table: index 0 is luma, 1 chroma (libjpeg's default assignment).
#[derive(Clone)]
pub struct SymbolCounts {
    /// DC symbols (difference categories 0–11).
    pub dc: [[u64; 256]; 2],
    /// AC symbols (run/size bytes, EOB 0x00, ZRL 0xF0).
    pub ac: [[u64; 256]; 2],
}

impl Default for SymbolCounts {
    fn default() -> Self {
        SymbolCounts {
            dc: [[0; 256]; 2],
            ac: [[0; 256]; 2],
        }
    }
}

/// Tables for a one-pass encode: DC and AC, luma and chroma.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedTables {
    /// DC tables, luma then chroma.
    pub dc: [HuffTable; 2],
    /// AC tables, luma then chroma.
    pub ac: [HuffTable; 2],
}

/// Why a JPEG's entropy-coded data could not be counted.
#[derive(Debug, thiserror::Error)]
#[error("counting JPEG symbols: {0}")]
pub struct CountError(&'static str);

impl SymbolCounts {
    /// Adds another tile's counts.
    pub fn add(&mut self, other: &SymbolCounts) {
        for t in 0..2 {
            for s in 0..256 {
                self.dc[t][s] += other.dc[t][s];
                self.ac[t][s] += other.ac[t][s];
            }
        }
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.dc.iter().all(|t| t.iter().all(|&c| c == 0))
    }

    /// Counts the Huffman symbols of a baseline JPEG (one scan, no restart markers, up
    /// to three components using tables 0 and 1: what our encoder writes).
    pub fn count_jpeg(&mut self, jpeg: &[u8]) -> Result<(), CountError> {
        let file = parse(jpeg)?;
        let mut bits = BitReader::new(&jpeg[file.scan_start..]);
        let (hmax, vmax) = file
            .components
            .iter()
            .fold((1, 1), |(h, v), c| (h.max(c.h), v.max(c.v)));
        let interleaved = file.components.len() > 1;
        let (mcus_x, mcus_y, per_mcu): (usize, usize, Vec<(usize, usize)>) = if interleaved {
            (
                file.width.div_ceil(8 * hmax),
                file.height.div_ceil(8 * vmax),
                file.components
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (i, c.h * c.v))
                    .collect(),
            )
        } else {
            let c = &file.components[0];
            (
                (file.width * c.h).div_ceil(hmax).div_ceil(8),
                (file.height * c.v).div_ceil(vmax).div_ceil(8),
                vec![(0, 1)],
            )
        };
        for _ in 0..mcus_x * mcus_y {
            for &(index, blocks) in &per_mcu {
                let component = &file.components[index];
                let dc = &file.tables[component.dc];
                let ac = &file.tables[2 + component.ac];
                for _ in 0..blocks {
                    let category = dc.decode(&mut bits)?;
                    self.dc[component.dc][usize::from(category)] += 1;
                    bits.skip(u32::from(category))?;
                    let mut k = 1;
                    while k < 64 {
                        let symbol = ac.decode(&mut bits)?;
                        self.ac[component.ac][usize::from(symbol)] += 1;
                        let (run, size) = (usize::from(symbol >> 4), u32::from(symbol & 15));
                        if size == 0 {
                            if run != 15 {
                                break; // end of block
                            }
                            k += 16;
                        } else {
                            bits.skip(size)?;
                            k += run + 1;
                        }
                    }
                    if k > 64 {
                        return Err(CountError("a block runs past 64 coefficients"));
                    }
                }
            }
        }
        Ok(())
    }
}

/// The share of the standard tables' implied frequencies mixed into learnt tables
/// (1/PRIOR_SHARE of the counted symbols): every symbol keeps a code about as long as
/// the standard one would give it when the samples lack it, so a tile unlike the samples
/// costs about what standard tables would, while the samples' common symbols get the
/// short codes.
const PRIOR_SHARE: u64 = 8;

impl SymbolCounts {
    /// Scales every count by `num / den` (older rows weigh less than newer ones).
    pub fn scale(&mut self, num: u64, den: u64) {
        for table in self.dc.iter_mut().chain(self.ac.iter_mut()) {
            for c in table.iter_mut() {
                *c = *c * num / den;
            }
        }
    }
}

impl SharedTables {
    /// Tables for `counts` that code every symbol `standard` codes (any tile can be
    /// encoded with them), mixing in `standard`'s implied frequencies (see `PRIOR_SHARE`).
    pub fn learnt(counts: &SymbolCounts, standard: &SharedTables) -> SharedTables {
        let table = |freq: &[u64; 256], prior: &HuffTable| {
            // Nothing counted yet: the prior alone, at any scale.
            let total = match freq.iter().sum::<u64>() {
                0 => 1 << 20,
                counted => counted,
            };
            let mut mixed = [0u64; 256];
            for (m, &f) in mixed.iter_mut().zip(freq.iter()) {
                *m = f << 16;
            }
            let mut symbols = prior.values.iter();
            for len in 1..=16 {
                for &symbol in symbols.by_ref().take(usize::from(prior.bits[len])) {
                    let weight = (total << (16 - len)) / PRIOR_SHARE;
                    mixed[usize::from(symbol)] += weight.max(1);
                }
            }
            optimal_table(&mixed)
        };
        SharedTables {
            dc: [0, 1].map(|t| table(&counts.dc[t], &standard.dc[t])),
            ac: [0, 1].map(|t| table(&counts.ac[t], &standard.ac[t])),
        }
    }
}

/// The optimal length-limited (16 bits) Huffman table for these symbol frequencies, as
/// JPEG's Annex K.2 builds it (ties go to the higher symbol, as in libjpeg). Symbols
/// with frequency 0 get no code.
pub fn optimal_table(freq: &[u64; 256]) -> HuffTable {
    const RESERVED: usize = 256; // never a code of all ones
    let mut freq: Vec<u64> = freq.iter().copied().chain(std::iter::once(1)).collect();
    let mut codesize = [0usize; 257];
    let mut others = [usize::MAX; 257];
    loop {
        // The two least frequent nonzero entries; ties to the larger index.
        let (mut c1, mut c2) = (usize::MAX, usize::MAX);
        let (mut v1, mut v2) = (u64::MAX, u64::MAX);
        for (i, &f) in freq.iter().enumerate() {
            if f == 0 {
                continue;
            }
            if f <= v1 {
                (c2, v2) = (c1, v1);
                (c1, v1) = (i, f);
            } else if f <= v2 {
                (c2, v2) = (i, f);
            }
        }
        if c2 == usize::MAX {
            break;
        }
        freq[c1] += freq[c2];
        freq[c2] = 0;
        codesize[c1] += 1;
        while others[c1] != usize::MAX {
            c1 = others[c1];
            codesize[c1] += 1;
        }
        others[c1] = c2;
        codesize[c2] += 1;
        while others[c2] != usize::MAX {
            c2 = others[c2];
            codesize[c2] += 1;
        }
    }
    let mut bits = [0usize; 33];
    for &size in &codesize {
        if size > 0 {
            bits[size.min(32)] += 1;
        }
    }
    // Move codes longer than 16 bits up the tree (K.3: a prefix pair becomes one
    // shorter code and a longer code is split).
    for i in (17..=32).rev() {
        while bits[i] > 0 {
            let mut j = i - 2;
            while bits[j] == 0 {
                j -= 1;
            }
            bits[i] -= 2;
            bits[i - 1] += 1;
            bits[j + 1] += 2;
            bits[j] -= 1;
        }
    }
    // Drop the reserved symbol's code, the longest.
    let mut i = 16;
    while i > 0 && bits[i] == 0 {
        i -= 1;
    }
    if i > 0 {
        bits[i] -= 1;
    }
    let mut values = Vec::new();
    for size in 1..=32 {
        for (symbol, &s) in codesize.iter().enumerate().take(RESERVED) {
            if s == size {
                values.push(symbol as u8);
            }
        }
    }
    let mut out = [0u8; 17];
    for (o, &b) in out.iter_mut().zip(bits.iter()).skip(1) {
        *o = b as u8;
    }
    HuffTable { bits: out, values }
}

/// One component of the frame and the tables its scan uses.
struct Component {
    h: usize,
    v: usize,
    dc: usize,
    ac: usize,
}

/// A frame header: width, height, and per component its id and (h, v) sampling.
type Frame = (usize, usize, Vec<(u8, usize, usize)>);

/// What counting needs from a JPEG's markers.
struct Parsed {
    width: usize,
    height: usize,
    components: Vec<Component>,
    /// Decoders for DC 0, DC 1, AC 0, AC 1.
    tables: [Decoder; 4],
    /// Offset of the entropy-coded data.
    scan_start: usize,
}

fn parse(jpeg: &[u8]) -> Result<Parsed, CountError> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return Err(CountError("not a JPEG"));
    }
    let mut at = 2;
    // Width, height, and per component: id and sampling factors.
    let mut frame: Option<Frame> = None;
    let mut tables: [Option<Decoder>; 4] = [None, None, None, None];
    loop {
        let marker = *jpeg.get(at + 1).ok_or(CountError("no scan"))?;
        if jpeg[at] != 0xFF {
            return Err(CountError("bad marker"));
        }
        let len = jpeg
            .get(at + 2..at + 4)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .ok_or(CountError("truncated segment"))?;
        let body = jpeg
            .get(at + 4..at + 2 + len)
            .ok_or(CountError("truncated segment"))?;
        match marker {
            0xC0 | 0xC1 => {
                let n = usize::from(*body.get(5).ok_or(CountError("short frame"))?);
                let components = (0..n)
                    .map(|i| {
                        let c = body
                            .get(6 + i * 3..9 + i * 3)
                            .ok_or(CountError("short frame"))?;
                        Ok((
                            c[0],
                            usize::from((c[1] >> 4).max(1)),
                            usize::from((c[1] & 15).max(1)),
                        ))
                    })
                    .collect::<Result<Vec<_>, CountError>>()?;
                let height = usize::from(u16::from_be_bytes([body[1], body[2]]));
                let width = usize::from(u16::from_be_bytes([body[3], body[4]]));
                frame = Some((width, height, components));
            }
            0xC2..=0xCF if marker != 0xC4 && marker != 0xC8 && marker != 0xCC => {
                return Err(CountError("not a baseline JPEG"));
            }
            0xC4 => {
                let mut rest = body;
                while let Some((&class_id, after)) = rest.split_first() {
                    let (class, id) = (usize::from(class_id >> 4), usize::from(class_id & 15));
                    if class > 1 || id > 1 || after.len() < 16 {
                        return Err(CountError("unexpected Huffman table"));
                    }
                    let mut bits = [0u8; 17];
                    bits[1..].copy_from_slice(&after[..16]);
                    let count: usize = bits.iter().map(|&b| usize::from(b)).sum();
                    let values = after
                        .get(16..16 + count)
                        .ok_or(CountError("short Huffman table"))?;
                    tables[class * 2 + id] = Some(Decoder::new(&bits, values));
                    rest = &after[16 + count..];
                }
            }
            0xDD => return Err(CountError("restart markers are not counted")),
            0xDA => {
                let (width, height, frame_components) =
                    frame.ok_or(CountError("scan before frame"))?;
                let n = usize::from(*body.first().ok_or(CountError("short scan"))?);
                let mut components = Vec::with_capacity(n);
                for i in 0..n {
                    let c = body
                        .get(1 + i * 2..3 + i * 2)
                        .ok_or(CountError("short scan"))?;
                    let &(_, h, v) = frame_components
                        .iter()
                        .find(|f| f.0 == c[0])
                        .ok_or(CountError("scan of an unknown component"))?;
                    let (dc, ac) = (usize::from(c[1] >> 4), usize::from(c[1] & 15));
                    if dc > 1 || ac > 1 {
                        return Err(CountError("unexpected table selector"));
                    }
                    components.push(Component { h, v, dc, ac });
                }
                if components.is_empty() || n != frame_components.len() {
                    return Err(CountError("not a single interleaved scan"));
                }
                let [dc0, dc1, ac0, ac1] = tables;
                let missing = || CountError("scan without its Huffman tables");
                return Ok(Parsed {
                    width,
                    height,
                    components,
                    tables: [
                        dc0.ok_or_else(missing)?,
                        dc1.unwrap_or_default(),
                        ac0.ok_or_else(missing)?,
                        ac1.unwrap_or_default(),
                    ],
                    scan_start: at + 2 + len,
                });
            }
            _ => {}
        }
        at += 2 + len;
    }
}

/// Canonical Huffman decoding, one bit at a time (the samples are few).
#[derive(Default)]
struct Decoder {
    /// Per length: the largest code (exclusive) and where its symbols start.
    max_code: [i32; 17],
    offset: [i32; 17],
    values: Vec<u8>,
}

impl Decoder {
    fn new(bits: &[u8; 17], values: &[u8]) -> Decoder {
        let mut decoder = Decoder {
            values: values.to_vec(),
            ..Decoder::default()
        };
        let (mut code, mut index) = (0i32, 0i32);
        for (len, &count) in bits.iter().enumerate().skip(1) {
            let n = i32::from(count);
            decoder.offset[len] = index - code;
            code += n;
            index += n;
            decoder.max_code[len] = code;
            code <<= 1;
        }
        decoder
    }

    fn decode(&self, bits: &mut BitReader<'_>) -> Result<u8, CountError> {
        let mut code = 0i32;
        for len in 1..=16 {
            code = (code << 1) | bits.bit()? as i32;
            if code < self.max_code[len] {
                let index = (code + self.offset[len]) as usize;
                return self
                    .values
                    .get(index)
                    .copied()
                    .ok_or(CountError("bad code"));
            }
        }
        Err(CountError("a code longer than 16 bits"))
    }
}

/// Reads entropy-coded bits: `FF 00` is a data byte `FF`; any other marker ends the data.
struct BitReader<'a> {
    data: &'a [u8],
    at: usize,
    byte: u8,
    left: u32,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8]) -> Self {
        BitReader {
            data,
            at: 0,
            byte: 0,
            left: 0,
        }
    }

    fn bit(&mut self) -> Result<u32, CountError> {
        if self.left == 0 {
            let byte = *self
                .data
                .get(self.at)
                .ok_or(CountError("data ends early"))?;
            self.at += 1;
            if byte == 0xFF {
                if self.data.get(self.at) != Some(&0) {
                    return Err(CountError("data ends early"));
                }
                self.at += 1;
            }
            self.byte = byte;
            self.left = 8;
        }
        self.left -= 1;
        Ok(u32::from(self.byte >> self.left) & 1)
    }

    fn skip(&mut self, n: u32) -> Result<(), CountError> {
        for _ in 0..n {
            self.bit()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `table` is a complete-enough prefix code: canonical codes fit 16 bits.
    fn valid(table: &HuffTable) -> bool {
        let mut code = 0u32;
        for len in 1..=16 {
            code += u32::from(table.bits[len]);
            if code > 1 << len {
                return false;
            }
            code <<= 1;
        }
        table.bits.iter().map(|&b| usize::from(b)).sum::<usize>() == table.values.len()
    }

    #[test]
    fn frequent_symbols_get_short_codes() {
        let mut freq = [0u64; 256];
        freq[0] = 1000;
        freq[1] = 10;
        freq[2] = 10;
        freq[3] = 1;
        let table = optimal_table(&freq);
        assert!(valid(&table));
        assert_eq!(table.values[0], 0);
        assert_eq!(table.values.len(), 4);
        assert_eq!(table.bits[1], 1);
    }

    #[test]
    fn lengths_are_limited_to_16_bits() {
        // Fibonacci frequencies make the deepest possible tree.
        let mut freq = [0u64; 256];
        let (mut a, mut b) = (1u64, 1u64);
        for f in freq.iter_mut().take(40) {
            *f = a;
            (a, b) = (b, a + b);
        }
        let table = optimal_table(&freq);
        assert!(valid(&table));
        assert_eq!(table.values.len(), 40);
    }

    #[test]
    fn learnt_tables_code_every_standard_symbol() {
        let standard = crate::jpeglib::standard_tables().unwrap();
        assert_eq!(standard.dc[0].values.len(), 12);
        assert_eq!(standard.ac[0].values.len(), 162);
        // With nothing counted: about the standard code lengths.
        let lengths = |t: &HuffTable| {
            let mut by_symbol = [0usize; 256];
            let mut symbols = t.values.iter();
            for len in 1..=16 {
                for &s in symbols.by_ref().take(usize::from(t.bits[len])) {
                    by_symbol[usize::from(s)] = len;
                }
            }
            by_symbol
        };
        let none = SharedTables::learnt(&SymbolCounts::default(), &standard);
        for (a, b) in lengths(&none.ac[0]).iter().zip(lengths(&standard.ac[0])) {
            assert!(a.abs_diff(b) <= 1, "{a} vs {b}");
        }
        // With counts, the counted symbols come first and nothing is lost.
        let mut counts = SymbolCounts::default();
        counts.ac[0][0x35] = 1_000_000;
        let learnt = SharedTables::learnt(&counts, &standard);
        for (t, s) in learnt
            .dc
            .iter()
            .chain(&learnt.ac)
            .zip(standard.dc.iter().chain(&standard.ac))
        {
            assert!(valid(t));
            let (mut a, mut b) = (t.values.clone(), s.values.clone());
            a.sort_unstable();
            b.sort_unstable();
            assert_eq!(a, b);
        }
        assert_eq!(learnt.ac[0].values[0], 0x35);
    }

    #[test]
    fn counting_refuses_what_is_not_a_jpeg() {
        let mut counts = SymbolCounts::default();
        assert!(counts.count_jpeg(b"not a jpeg").is_err());
        assert!(counts.count_jpeg(&[0xFF, 0xD8, 0xFF]).is_err());
        assert!(counts.is_empty());
    }
}

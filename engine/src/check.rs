//! Offline verification of an engine directory, for `warren check`: every checksum the
//! engine writes is recomputed and every fault is reported with its file and offset,
//! rather than stopping at the first as a read does.
//!
//! * `CURRENT` must name a manifest; every manifest record's CRC32 and payload are checked
//!   (a record cut short at the end is a write that never completed and is only noted).
//! * Every table the manifest names must exist with the recorded size.
//! * Every `.sst` file: header magic and version, footer magic, CRC and version, and every
//!   block (index, filter, and each data block the index points to): its CRC32, its
//!   decompression, and that its entries decode.
//!
//! Read-only: nothing is opened for writing and no lock is taken.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::coding::u32_at;
use crate::error::{EngineError, Result};
use crate::manifest::{self, read_current, Frame, HeaderFault, ManifestState, VersionEdit};
use crate::sstable::block::Block;
use crate::sstable::{
    block_crc, BlockHandle, Footer, BLOCK_RAW, BLOCK_ZSTD, FOOTER_LEN, FORMAT_VERSION, HEADER_LEN,
    HEADER_MAGIC,
};
use crate::version::table_name;

/// One damaged place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The file.
    pub file: PathBuf,
    /// Byte offset of the damaged record, block or field.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
}

/// What [`check_dir`] looked at and found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Manifest files checked (0 or 1: the one `CURRENT` names).
    pub manifests: usize,
    /// Manifest records whose checksum was checked.
    pub manifest_records: u64,
    /// SSTables checked.
    pub tables: usize,
    /// Blocks whose checksum was checked (data, index and filter).
    pub blocks: u64,
    /// Entries decoded in data blocks.
    pub entries: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Every fault, in the order found.
    pub faults: Vec<Fault>,
}

impl CheckReport {
    fn fault(&mut self, file: &Path, offset: u64, reason: impl Into<String>) {
        self.faults.push(Fault {
            file: file.to_path_buf(),
            offset,
            reason: reason.into(),
        });
    }
}

/// Checks every file of the engine directory `dir`.
///
/// # Errors
/// Only I/O errors (a directory or file that cannot be read); damage is in the report.
pub fn check_dir(dir: &Path) -> Result<CheckReport> {
    let mut report = CheckReport::default();
    let mut named: Vec<(u64, u64)> = Vec::new();
    match read_current(dir) {
        Ok(None) => report.fault(&dir.join("CURRENT"), 0, "missing: not an engine directory"),
        Ok(Some(name)) => {
            report.manifests += 1;
            named = check_manifest(&dir.join(name), &mut report)?;
        }
        Err(EngineError::Corruption {
            path,
            offset,
            detail,
        }) => report.fault(&path, offset, detail),
        Err(e) => return Err(e),
    }
    for (id, size) in &named {
        let p = dir.join(table_name(*id));
        match fs::metadata(&p) {
            Err(_) => report.fault(&p, 0, "named by the manifest but missing"),
            Ok(m) if m.len() != *size => report.fault(
                &p,
                0,
                format!(
                    "the manifest records {size} bytes, the file has {}",
                    m.len()
                ),
            ),
            Ok(_) => {}
        }
    }
    let mut tables: Vec<PathBuf> = Vec::new();
    for e in fs::read_dir(dir).map_err(|e| EngineError::io(dir, e))? {
        let e = e.map_err(|e| EngineError::io(dir, e))?;
        if e.file_name().to_str().is_some_and(|n| n.ends_with(".sst")) {
            tables.push(e.path());
        }
    }
    tables.sort();
    for t in &tables {
        check_table(t, &mut report)?;
    }
    Ok(report)
}

/// Checks one manifest, returning the (file id, size) of every table it leaves live.
fn check_manifest(path: &Path, report: &mut CheckReport) -> Result<Vec<(u64, u64)>> {
    let b = fs::read(path).map_err(|e| EngineError::io(path, e))?;
    report.bytes += b.len() as u64;
    match manifest::check_header(&b) {
        Ok(()) => {}
        Err(HeaderFault::BadMagic) => {
            report.fault(path, 0, "bad manifest header magic");
            return Ok(Vec::new());
        }
        Err(HeaderFault::Version(v)) => {
            report.fault(path, 4, format!("unsupported manifest version {v}"));
            return Ok(Vec::new());
        }
    }
    let mut state = ManifestState::default();
    for frame in manifest::frames(&b) {
        let (off, payload, crc_ok) = match frame {
            Frame::Record {
                off,
                payload,
                crc_ok,
            } => (off, payload, crc_ok),
            // A record cut short is an edit that was never acknowledged: not a fault.
            Frame::TornHeader { .. } | Frame::TornRecord { .. } => break,
            Frame::Damaged { off, detail } => {
                report.fault(path, off as u64, detail);
                break;
            }
        };
        report.manifest_records += 1;
        if !crc_ok {
            report.fault(path, off as u64, "manifest record checksum mismatch");
        } else {
            match VersionEdit::decode(payload) {
                None => report.fault(path, off as u64, "malformed manifest record"),
                Some(e) => state.apply(&e),
            }
        }
    }
    if report.manifest_records == 0 {
        report.fault(path, 8, "manifest has no records");
    }
    Ok(state
        .files
        .iter()
        .map(|(id, (_, f))| (*id, f.props.size))
        .collect())
}

/// Reads, checks and decodes the block at `h`; `None` (with a fault) when it is bad.
fn read_block(
    path: &Path,
    file: &[u8],
    h: BlockHandle,
    what: &str,
    report: &mut CheckReport,
) -> Option<Vec<u8>> {
    let data_end = file.len().saturating_sub(FOOTER_LEN) as u64;
    match h.end_with_trailer() {
        Some(end) if h.offset >= HEADER_LEN && end <= data_end => {}
        _ => {
            report.fault(
                path,
                h.offset,
                format!(
                    "{what} block handle ({}, {}) outside the file",
                    h.offset, h.size
                ),
            );
            return None;
        }
    }
    report.blocks += 1;
    let (o, n) = (h.offset as usize, h.size as usize);
    let payload = &file[o..o + n];
    let kind = file[o + n];
    let want = u32_at(file, o + n + 1);
    let got = block_crc(payload, kind);
    if got != want {
        report.fault(
            path,
            h.offset,
            format!("{what} block checksum mismatch (stored {want:08x}, computed {got:08x})"),
        );
        return None;
    }
    let unpacked = unpack_block(payload, kind, what);
    if let Err(reason) = &unpacked {
        report.fault(path, h.offset, reason.as_str());
    }
    unpacked.ok()
}

/// The contents of a block from its checksummed stored bytes `payload` of type `kind`,
/// or why they cannot be had.
fn unpack_block(payload: &[u8], kind: u8, what: &str) -> std::result::Result<Vec<u8>, String> {
    match kind {
        BLOCK_RAW => Ok(payload.to_vec()),
        BLOCK_ZSTD if payload.len() >= 4 => {
            let raw_len = u32_at(payload, 0) as usize;
            match zstd::bulk::decompress(&payload[4..], raw_len) {
                Ok(d) if d.len() == raw_len => Ok(d),
                Ok(_) => Err(format!("{what} block: decompressed size differs")),
                Err(e) => Err(format!("{what} block: zstd: {e}")),
            }
        }
        other => Err(format!("{what} block: unknown block type {other}")),
    }
}

/// Decodes every entry of a block, calling `f` on each (key, value).
fn walk_block(
    data: Vec<u8>,
    mut f: impl FnMut(&[u8], &[u8]),
) -> std::result::Result<u64, &'static str> {
    let mut it = Block::new(Arc::new(data))?.iter();
    it.seek_to_first()?;
    let mut n = 0;
    while it.valid() {
        f(it.key(), it.value());
        n += 1;
        it.advance()?;
    }
    Ok(n)
}

/// Checks one SSTable file, adding what it finds to `report`.
///
/// # Errors
/// Only I/O errors.
pub fn check_table(path: &Path, report: &mut CheckReport) -> Result<()> {
    let file = fs::read(path).map_err(|e| EngineError::io(path, e))?;
    report.tables += 1;
    report.bytes += file.len() as u64;
    if file.len() < HEADER_LEN as usize + FOOTER_LEN {
        report.fault(
            path,
            0,
            format!("{} bytes: too short to be an SSTable", file.len()),
        );
        return Ok(());
    }
    check_header(path, &file, report);
    let foff = file.len() - FOOTER_LEN;
    let Some(footer) = check_footer(path, &file[foff..], foff as u64, report) else {
        return Ok(());
    };
    if footer.filter.size > 0 {
        let _ = read_block(path, &file, footer.filter, "filter", report);
    }
    let Some(handles) = data_block_handles(path, &file, footer.index, report) else {
        return Ok(());
    };
    let mut seen = 0u64;
    for h in handles {
        if let Some(data) = read_block(path, &file, h, "data", report) {
            match walk_block(data, |_, _| {}) {
                Ok(n) => seen += n,
                Err(m) => report.fault(path, h.offset, format!("data block: {m}")),
            }
        }
    }
    report.entries += seen;
    let clean = !report.faults.iter().any(|x| x.file == path);
    if clean && seen != footer.entries {
        report.fault(
            path,
            foff as u64 + Footer::ENTRIES_AT as u64,
            format!(
                "footer counts {} entries, the data blocks hold {seen}",
                footer.entries
            ),
        );
    }
    Ok(())
}

/// Checks the header of the table `file`: magic and format version.
fn check_header(path: &Path, file: &[u8], report: &mut CheckReport) {
    if &file[..4] != HEADER_MAGIC {
        report.fault(path, 0, "bad SSTable header magic");
    }
    if u32_at(file, 4) != FORMAT_VERSION {
        report.fault(
            path,
            4,
            format!("unsupported SSTable format version {}", u32_at(file, 4)),
        );
    }
}

/// Checks the footer bytes `f` found at `foff`: magic, checksum, format version. `None`
/// when its fields cannot be trusted (bad magic or checksum).
fn check_footer(path: &Path, f: &[u8], foff: u64, report: &mut CheckReport) -> Option<Footer> {
    if !Footer::magic_ok(f) {
        report.fault(path, foff + Footer::MAGIC_AT as u64, "bad footer magic");
        return None;
    }
    if !Footer::crc_ok(f) {
        report.fault(path, foff, "footer checksum mismatch");
        return None;
    }
    let footer = Footer::decode(f);
    if footer.version != FORMAT_VERSION {
        report.fault(
            path,
            foff + Footer::VERSION_AT as u64,
            "unsupported footer format version",
        );
    }
    Some(footer)
}

/// Reads the index block at `index` and returns the handle of every data block it
/// points to; `None` when the index block itself is unreadable.
fn data_block_handles(
    path: &Path,
    file: &[u8],
    index: BlockHandle,
    report: &mut CheckReport,
) -> Option<Vec<BlockHandle>> {
    let idx = read_block(path, file, index, "index", report)?;
    let mut handles = Vec::new();
    let mut bad_handle = false;
    if let Err(m) = walk_block(idx, |_, v| match BlockHandle::decode(v) {
        Some(h) => handles.push(h),
        None => bad_handle = true,
    }) {
        report.fault(path, index.offset, format!("index block: {m}"));
    }
    if bad_handle {
        report.fault(path, index.offset, "index block: bad block handle");
    }
    Some(handles)
}

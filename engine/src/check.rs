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

use crate::error::{EngineError, Result};
use crate::manifest::{read_current, VersionEdit, MANIFEST_MAGIC, MANIFEST_VERSION};
use crate::sstable::block::Block;
use crate::sstable::{
    BlockHandle, BLOCK_RAW, BLOCK_TRAILER_LEN, BLOCK_ZSTD, FOOTER_LEN, FOOTER_MAGIC,
    FORMAT_VERSION, HEADER_LEN, HEADER_MAGIC,
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

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(x)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
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
    if b.len() < 8 || &b[..4] != MANIFEST_MAGIC {
        report.fault(path, 0, "bad manifest header magic");
        return Ok(Vec::new());
    }
    if u32_at(&b, 4) != MANIFEST_VERSION {
        report.fault(
            path,
            4,
            format!("unsupported manifest version {}", u32_at(&b, 4)),
        );
        return Ok(Vec::new());
    }
    let mut live = std::collections::BTreeMap::new();
    let mut off = 8usize;
    while off < b.len() {
        if b.len() - off < 8 {
            break; // a record header cut short: an edit that was never acknowledged
        }
        let len = u32_at(&b, off) as usize;
        let crc = u32_at(&b, off + 4);
        let start = off + 8;
        if b.len() - start < len {
            break; // a record cut short, likewise
        }
        let payload = &b[start..start + len];
        report.manifest_records += 1;
        if crc32fast::hash(payload) != crc {
            report.fault(path, off as u64, "manifest record checksum mismatch");
        } else {
            match VersionEdit::decode(payload) {
                None => report.fault(path, off as u64, "malformed manifest record"),
                Some(e) => {
                    for (_, id) in &e.deleted {
                        live.remove(id);
                    }
                    for (_, f) in &e.added {
                        live.insert(f.id, f.props.size);
                    }
                }
            }
        }
        off = start + len;
    }
    if report.manifest_records == 0 {
        report.fault(path, 8, "manifest has no records");
    }
    Ok(live.into_iter().collect())
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
    let end = h
        .offset
        .checked_add(h.size)
        .and_then(|e| e.checked_add(BLOCK_TRAILER_LEN as u64));
    match end {
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
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(payload);
    hasher.update(&[kind]);
    let got = hasher.finalize();
    if got != want {
        report.fault(
            path,
            h.offset,
            format!("{what} block checksum mismatch (stored {want:08x}, computed {got:08x})"),
        );
        return None;
    }
    match kind {
        BLOCK_RAW => Some(payload.to_vec()),
        BLOCK_ZSTD if payload.len() >= 4 => {
            let raw_len = u32_at(payload, 0) as usize;
            match zstd::bulk::decompress(&payload[4..], raw_len) {
                Ok(d) if d.len() == raw_len => Some(d),
                Ok(_) => {
                    report.fault(
                        path,
                        h.offset,
                        format!("{what} block: decompressed size differs"),
                    );
                    None
                }
                Err(e) => {
                    report.fault(path, h.offset, format!("{what} block: zstd: {e}"));
                    None
                }
            }
        }
        other => {
            report.fault(
                path,
                h.offset,
                format!("{what} block: unknown block type {other}"),
            );
            None
        }
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
    if &file[..4] != HEADER_MAGIC {
        report.fault(path, 0, "bad SSTable header magic");
    }
    if u32_at(&file, 4) != FORMAT_VERSION {
        report.fault(
            path,
            4,
            format!("unsupported SSTable format version {}", u32_at(&file, 4)),
        );
    }
    let foff = file.len() - FOOTER_LEN;
    let f = &file[foff..];
    if u64_at(f, 64) != FOOTER_MAGIC {
        report.fault(path, foff as u64 + 64, "bad footer magic");
        return Ok(());
    }
    if crc32fast::hash(&f[..60]) != u32_at(f, 60) {
        report.fault(path, foff as u64, "footer checksum mismatch");
        return Ok(());
    }
    if u32_at(f, 56) != FORMAT_VERSION {
        report.fault(path, foff as u64 + 56, "unsupported footer format version");
    }
    let filter = BlockHandle {
        offset: u64_at(f, 0),
        size: u64_at(f, 8),
    };
    let index = BlockHandle {
        offset: u64_at(f, 16),
        size: u64_at(f, 24),
    };
    let entries = u64_at(f, 32);
    if filter.size > 0 {
        let _ = read_block(path, &file, filter, "filter", report);
    }
    let Some(idx) = read_block(path, &file, index, "index", report) else {
        return Ok(());
    };
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
    if clean && seen != entries {
        report.fault(
            path,
            foff as u64 + 32,
            format!("footer counts {entries} entries, the data blocks hold {seen}"),
        );
    }
    Ok(())
}

//! The manifest: an append-only log of checksummed version edits, named by `CURRENT`.
//!
//! Each flush or compaction appends one edit (files added and removed, `persisted_seq`,
//! the next file number) and fsyncs it before the change becomes visible, so the set of
//! live SSTables and `persisted_seq` change together and survive a crash. A new manifest
//! (one snapshot edit) is started at every open and when the log grows large; `CURRENT`
//! is switched to it by write-temp + fsync + rename + directory fsync.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::coding::u32_at;
use crate::error::{EngineError, Result};
use crate::sstable::TableMeta;
use crate::version::FileMeta;

/// First four bytes of a manifest file.
pub const MANIFEST_MAGIC: &[u8; 4] = b"WMAN";
/// Manifest format version.
pub const MANIFEST_VERSION: u32 = 1;
/// Start a new manifest when the log passes this size.
pub const ROTATE_BYTES: u64 = 16 << 20;

const TAG_PERSISTED_SEQ: u8 = 1;
const TAG_NEXT_FILE: u8 = 2;
const TAG_ADD_FILE: u8 = 3;
const TAG_DELETE_FILE: u8 = 4;
const TAG_GC_HORIZON: u8 = 5;

/// Name of the manifest with file number `n`.
pub fn manifest_name(n: u64) -> String {
    format!("MANIFEST-{n:06}")
}

/// One atomic change to the version set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionEdit {
    /// New `persisted_seq`, if it changes.
    pub persisted_seq: Option<u64>,
    /// File numbers below this are in use or were used.
    pub next_file_id: Option<u64>,
    /// Tables added, with their level.
    pub added: Vec<(usize, FileMeta)>,
    /// Tables removed: (level, file id).
    pub deleted: Vec<(usize, u64)>,
    /// The horizon a compaction dropped versions below, if it raises the recorded one:
    /// reads below it can no longer be answered, whatever retention a later open asks for.
    pub gc_horizon: Option<u64>,
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Some(h)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        let mut x = [0u8; 4];
        x.copy_from_slice(self.take(4)?);
        Some(u32::from_le_bytes(x))
    }
    fn u64(&mut self) -> Option<u64> {
        let mut x = [0u8; 8];
        x.copy_from_slice(self.take(8)?);
        Some(u64::from_le_bytes(x))
    }
    fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = self.u32()? as usize;
        self.take(n).map(|b| b.to_vec())
    }
}

impl VersionEdit {
    /// Serialises the edit (the record payload).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(s) = self.persisted_seq {
            out.push(TAG_PERSISTED_SEQ);
            out.extend_from_slice(&s.to_le_bytes());
        }
        if let Some(n) = self.next_file_id {
            out.push(TAG_NEXT_FILE);
            out.extend_from_slice(&n.to_le_bytes());
        }
        for (level, f) in &self.added {
            out.push(TAG_ADD_FILE);
            out.push(*level as u8);
            let t = &f.props;
            for v in [f.id, t.size, t.min_seq, t.max_seq, t.entries] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            put_bytes(&mut out, &t.smallest);
            put_bytes(&mut out, &t.largest);
        }
        for (level, id) in &self.deleted {
            out.push(TAG_DELETE_FILE);
            out.push(*level as u8);
            out.extend_from_slice(&id.to_le_bytes());
        }
        if let Some(h) = self.gc_horizon {
            out.push(TAG_GC_HORIZON);
            out.extend_from_slice(&h.to_le_bytes());
        }
        out
    }

    /// Parses a payload; `None` when it is malformed.
    pub fn decode(b: &[u8]) -> Option<VersionEdit> {
        let mut r = Reader { b };
        let mut e = VersionEdit::default();
        while !r.b.is_empty() {
            match r.u8()? {
                TAG_PERSISTED_SEQ => e.persisted_seq = Some(r.u64()?),
                TAG_NEXT_FILE => e.next_file_id = Some(r.u64()?),
                TAG_ADD_FILE => {
                    let level = r.u8()? as usize;
                    let (id, size, min_seq, max_seq, entries) =
                        (r.u64()?, r.u64()?, r.u64()?, r.u64()?, r.u64()?);
                    let smallest = r.bytes()?;
                    let largest = r.bytes()?;
                    e.added.push((
                        level,
                        FileMeta {
                            id,
                            props: TableMeta {
                                size,
                                smallest,
                                largest,
                                min_seq,
                                max_seq,
                                entries,
                            },
                        },
                    ));
                }
                TAG_DELETE_FILE => {
                    let level = r.u8()? as usize;
                    e.deleted.push((level, r.u64()?));
                }
                TAG_GC_HORIZON => e.gc_horizon = Some(r.u64()?),
                _ => return None,
            }
        }
        Some(e)
    }
}

/// The state a manifest describes.
#[derive(Debug, Default, Clone)]
pub struct ManifestState {
    /// Live files by id, with their level.
    pub files: BTreeMap<u64, (usize, FileMeta)>,
    /// Highest seq contained in SSTables.
    pub persisted_seq: u64,
    /// Next unused file number.
    pub next_file_id: u64,
    /// Highest horizon any compaction dropped versions below.
    pub gc_horizon: u64,
}

impl ManifestState {
    /// Applies one edit.
    pub fn apply(&mut self, e: &VersionEdit) {
        if let Some(s) = e.persisted_seq {
            self.persisted_seq = s;
        }
        if let Some(n) = e.next_file_id {
            self.next_file_id = self.next_file_id.max(n);
        }
        if let Some(h) = e.gc_horizon {
            self.gc_horizon = self.gc_horizon.max(h);
        }
        for (_, id) in &e.deleted {
            self.files.remove(id);
        }
        for (level, f) in &e.added {
            self.files.insert(f.id, (*level, f.clone()));
        }
    }

    /// An edit that recreates this state from nothing.
    pub fn snapshot_edit(&self) -> VersionEdit {
        VersionEdit {
            persisted_seq: Some(self.persisted_seq),
            next_file_id: Some(self.next_file_id),
            added: self.files.values().cloned().collect(),
            deleted: Vec::new(),
            gc_horizon: Some(self.gc_horizon),
        }
    }
}

fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| EngineError::io(dir, e))
}

/// Reads `CURRENT`; `None` when it does not exist.
///
/// # Errors
/// I/O errors, or corruption when the file does not name a manifest.
pub fn read_current(dir: &Path) -> Result<Option<String>> {
    let p = dir.join("CURRENT");
    match fs::read(&p) {
        Ok(b) => {
            let s = std::str::from_utf8(&b)
                .ok()
                .and_then(|s| s.strip_suffix('\n'))
                .filter(|s| {
                    s.strip_prefix("MANIFEST-")
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
                })
                .ok_or_else(|| {
                    EngineError::corruption(&p, 0, "CURRENT does not name a manifest file")
                })?;
            Ok(Some(s.to_string()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(EngineError::io(p, e)),
    }
}

/// Replays the manifest at `path`.
///
/// A record cut short by the end of the file, with nothing after its header that could
/// be a record, is a write that never completed (the edit was never acknowledged, as
/// edits are fsynced before use) and is ignored with a warning. Any other damage is an
/// error naming the file and offset: a checksum mismatch or a malformed payload, and a
/// length field that reaches past the end of the file while a valid record starts
/// inside the extent it claims (a damaged length, which would otherwise silently drop
/// every later edit).
///
/// # Errors
/// I/O errors and [`EngineError::Corruption`].
pub fn replay(path: &Path) -> Result<ManifestState> {
    let b = fs::read(path).map_err(|e| EngineError::io(path, e))?;
    match check_header(&b) {
        Ok(()) => {}
        Err(HeaderFault::BadMagic) => {
            return Err(EngineError::corruption(path, 0, "bad manifest header"))
        }
        Err(HeaderFault::Version(_)) => {
            return Err(EngineError::corruption(
                path,
                4,
                "unsupported manifest version",
            ))
        }
    }
    let mut st = ManifestState::default();
    let mut records = 0;
    for frame in frames(&b) {
        let (off, payload) = match frame {
            Frame::TornHeader { off } => {
                tracing::warn!(path = %path.display(), off, "ignoring torn manifest record header");
                break;
            }
            Frame::TornRecord { off } => {
                tracing::warn!(path = %path.display(), off, "ignoring torn manifest record");
                break;
            }
            Frame::Damaged { off, detail } => return Err(refuse(path, off, &detail)),
            Frame::Record {
                off,
                payload,
                crc_ok,
            } => {
                if !crc_ok {
                    return Err(refuse(path, off, "manifest record checksum mismatch"));
                }
                (off, payload)
            }
        };
        let e = VersionEdit::decode(payload)
            .ok_or_else(|| refuse(path, off, "malformed manifest record"))?;
        st.apply(&e);
        records += 1;
    }
    if records == 0 {
        return Err(EngineError::corruption(path, 8, "manifest has no records"));
    }
    Ok(st)
}

/// The error for a damaged manifest record at `off`: what is wrong, and what to do.
fn refuse(path: &Path, off: usize, detail: &str) -> EngineError {
    EngineError::corruption(
        path,
        off as u64,
        format!(
            "{detail}. The manifest lists the engine's tables; reading on past a damaged \
             record could silently drop the edits after it, so the engine does not open. \
             Keep the data directory as it is, run `warren check` on it to list every \
             fault, and restore it from a backup or another server"
        ),
    )
}

/// What is wrong with a manifest's 8-byte header.
pub(crate) enum HeaderFault {
    /// The file is shorter than a header or does not start with [`MANIFEST_MAGIC`].
    BadMagic,
    /// The header names this format version, not [`MANIFEST_VERSION`].
    Version(u32),
}

/// Checks the header of the manifest bytes `b`: [`MANIFEST_MAGIC`], then
/// [`MANIFEST_VERSION`] as a little-endian u32.
pub(crate) fn check_header(b: &[u8]) -> std::result::Result<(), HeaderFault> {
    if b.len() < 8 || &b[..4] != MANIFEST_MAGIC {
        return Err(HeaderFault::BadMagic);
    }
    match u32_at(b, 4) {
        MANIFEST_VERSION => Ok(()),
        v => Err(HeaderFault::Version(v)),
    }
}

/// One step through the records of a manifest, as [`frames`] finds them.
pub(crate) enum Frame<'a> {
    /// A whole record at byte `off`: its payload, and whether the payload matches the
    /// CRC32 stored before it.
    Record {
        /// Offset of the record's header.
        off: usize,
        /// The encoded [`VersionEdit`].
        payload: &'a [u8],
        /// Whether the stored CRC32 matches `payload`.
        crc_ok: bool,
    },
    /// The file ends inside the 8-byte header of the record at `off`.
    TornHeader {
        /// Offset of the torn header.
        off: usize,
    },
    /// The file ends inside the payload of the record at `off`, and no valid record
    /// starts after its header: the last append, cut short.
    TornRecord {
        /// Offset of the torn record's header.
        off: usize,
    },
    /// The record at `off` claims more bytes than the file holds, yet the bytes after its
    /// header hold (or may hold) valid records: its length field is damaged, and the
    /// records after it must not be dropped as a torn tail would be.
    Damaged {
        /// Offset of the damaged record's header.
        off: usize,
        /// What was found, for the error.
        detail: String,
    },
}

/// Upper bound on payload bytes checksummed while looking for a valid record inside the
/// extent a record's length claims past the end of the file. Past it the record counts
/// as damaged: refusing to start is recoverable, silently dropping edits is not.
const RESYNC_BUDGET: usize = 64 << 20;

/// The offset of the first valid record (a non-empty payload that matches its CRC32 and
/// decodes as a [`VersionEdit`]) that starts at or after `from` and ends inside `b`;
/// `Err(())` when finding out would checksum more than [`RESYNC_BUDGET`] bytes.
fn first_valid_record(b: &[u8], from: usize) -> std::result::Result<Option<usize>, ()> {
    let mut budget = RESYNC_BUDGET;
    // A valid record needs its 8-byte header and at least one payload byte.
    for y in from..b.len().saturating_sub(8) {
        let len = u32_at(b, y) as usize;
        let start = y + 8;
        if len == 0 || b.len() - start < len {
            continue;
        }
        if len > budget {
            return Err(());
        }
        budget -= len;
        let payload = &b[start..start + len];
        if crc32fast::hash(payload) == u32_at(b, y + 4) && VersionEdit::decode(payload).is_some() {
            return Ok(Some(y));
        }
    }
    Ok(None)
}

/// The records of the manifest bytes `b` after the 8-byte file header, each framed as
/// `[payload length: u32][CRC32 of payload: u32][payload]`. A record cut short by the end
/// of the file is the last item: torn (an edit that was never acknowledged) when nothing
/// after its header is a valid record, else [`Frame::Damaged`].
pub(crate) fn frames(b: &[u8]) -> Frames<'_> {
    Frames { b, off: 8 }
}

/// Iterator returned by [`frames`].
pub(crate) struct Frames<'a> {
    b: &'a [u8],
    off: usize,
}

impl<'a> Iterator for Frames<'a> {
    type Item = Frame<'a>;

    fn next(&mut self) -> Option<Frame<'a>> {
        let (b, off) = (self.b, self.off);
        if off >= b.len() {
            return None;
        }
        // Whatever follows, this is the last frame unless it is a whole record.
        self.off = b.len();
        if b.len() - off < 8 {
            return Some(Frame::TornHeader { off });
        }
        let len = u32_at(b, off) as usize;
        let crc = u32_at(b, off + 4);
        let start = off + 8;
        if b.len() - start < len {
            // A torn append leaves a prefix of one record, which holds no whole record
            // of its own; a damaged length overshoots the records that follow it.
            return Some(match first_valid_record(b, off + 1) {
                Ok(None) => Frame::TornRecord { off },
                Ok(Some(at)) => Frame::Damaged {
                    off,
                    detail: format!(
                        "the record's length field says {len} bytes, past the end of \
                         the file ({} bytes), but a valid record starts at offset {at}: \
                         the length is damaged",
                        b.len()
                    ),
                },
                Err(()) => Frame::Damaged {
                    off,
                    detail: format!(
                        "the record's length field says {len} bytes, past the end of \
                         the file ({} bytes), with too much data after it to rule out \
                         valid records: the length is damaged or the file is",
                        b.len()
                    ),
                },
            });
        }
        let payload = &b[start..start + len];
        self.off = start + len;
        Some(Frame::Record {
            off,
            payload,
            crc_ok: crc32fast::hash(payload) == crc,
        })
    }
}

/// The manifest being appended to.
pub struct ManifestWriter {
    file: File,
    path: PathBuf,
    number: u64,
    size: u64,
}

impl ManifestWriter {
    /// Writes a new manifest `number` holding `state`, fsyncs it, and points `CURRENT` at
    /// it atomically. The previous manifest is left for the caller to delete.
    ///
    /// # Errors
    /// I/O errors naming the file.
    pub fn create(dir: &Path, number: u64, state: &ManifestState) -> Result<ManifestWriter> {
        let path = dir.join(manifest_name(number));
        let file = File::options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| EngineError::io(&path, e))?;
        let mut w = ManifestWriter {
            file,
            path,
            number,
            size: 0,
        };
        let mut header = Vec::with_capacity(8);
        header.extend_from_slice(MANIFEST_MAGIC);
        header.extend_from_slice(&MANIFEST_VERSION.to_le_bytes());
        w.file
            .write_all(&header)
            .map_err(|e| EngineError::io(&w.path, e))?;
        w.size = 8;
        w.append(&state.snapshot_edit())?;
        let tmp = dir.join("CURRENT.tmp");
        let cur = dir.join("CURRENT");
        {
            let mut f = File::create(&tmp).map_err(|e| EngineError::io(&tmp, e))?;
            f.write_all(format!("{}\n", manifest_name(number)).as_bytes())
                .and_then(|_| f.sync_all())
                .map_err(|e| EngineError::io(&tmp, e))?;
        }
        fs::rename(&tmp, &cur).map_err(|e| EngineError::io(&cur, e))?;
        fsync_dir(dir)?;
        Ok(w)
    }

    /// Appends one edit and fsyncs it.
    ///
    /// # Errors
    /// I/O errors naming the file.
    pub fn append(&mut self, e: &VersionEdit) -> Result<()> {
        let payload = e.encode();
        let mut rec = Vec::with_capacity(payload.len() + 8);
        rec.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        rec.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        rec.extend_from_slice(&payload);
        self.file
            .write_all(&rec)
            .and_then(|_| self.file.sync_data())
            .map_err(|e| EngineError::io(&self.path, e))?;
        self.size += rec.len() as u64;
        Ok(())
    }

    /// Current size of the log.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// File number of this manifest.
    pub fn number(&self) -> u64 {
        self.number
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: u64) -> FileMeta {
        FileMeta {
            id,
            props: TableMeta {
                size: 100 + id,
                smallest: b"a\0\0\0\0\0\0\0\0".to_vec(),
                largest: b"z\0\0\0\0\0\0\0\0".to_vec(),
                min_seq: 1,
                max_seq: id,
                entries: 3,
            },
        }
    }

    #[test]
    fn edits_round_trip_and_replay() {
        let e = VersionEdit {
            persisted_seq: Some(42),
            next_file_id: Some(9),
            added: vec![(0, meta(5)), (2, meta(6))],
            deleted: vec![(1, 3)],
            gc_horizon: Some(17),
        };
        assert_eq!(VersionEdit::decode(&e.encode()), Some(e.clone()));
        let dir = tempfile::tempdir().unwrap();
        let mut st = ManifestState::default();
        st.apply(&e);
        let mut w = ManifestWriter::create(dir.path(), 1, &st).unwrap();
        w.append(&VersionEdit {
            persisted_seq: Some(50),
            deleted: vec![(0, 5)],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            read_current(dir.path()).unwrap().unwrap(),
            "MANIFEST-000001"
        );
        let got = replay(&dir.path().join("MANIFEST-000001")).unwrap();
        assert_eq!(got.persisted_seq, 50);
        assert_eq!(got.files.keys().copied().collect::<Vec<_>>(), vec![6]);
        assert_eq!(got.next_file_id, 9);
    }

    #[test]
    fn torn_tail_is_ignored_but_a_bad_checksum_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let st = ManifestState::default();
        let mut w = ManifestWriter::create(dir.path(), 3, &st).unwrap();
        w.append(&VersionEdit {
            persisted_seq: Some(7),
            ..Default::default()
        })
        .unwrap();
        let p = dir.path().join("MANIFEST-000003");
        let good = fs::read(&p).unwrap();
        let mut torn = good.clone();
        torn.extend_from_slice(&[20, 0, 0, 0, 1, 2, 3, 4, 5]);
        fs::write(&p, &torn).unwrap();
        assert_eq!(replay(&p).unwrap().persisted_seq, 7);
        let mut bad = good;
        let n = bad.len();
        bad[n - 2] ^= 1;
        fs::write(&p, &bad).unwrap();
        let err = replay(&p).unwrap_err();
        assert!(err.to_string().contains("MANIFEST-000003"), "{err}");
        fs::write(dir.path().join("CURRENT"), "garbage").unwrap();
        assert!(read_current(dir.path()).is_err());
    }
}

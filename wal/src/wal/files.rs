//! The segment files as the log holds them: the list in seq order and the handle of the
//! one appends go to.
//!
//! Only the writer writes records, but `purge_below` and `truncate_after` delete and cut
//! files too, so every change to the list goes through [`Files`] under the `files` lock.
//! Deletions keep the directory a valid log at every step: purging removes the oldest
//! first (a crash leaves a suffix), truncating removes the newest first (a crash leaves a
//! prefix).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use super::options::SegmentInfo;
use super::queue::Tail;
use crate::error::{Result, WalError};
use crate::format::HEADER_LEN;
use crate::io::{remove_file, zero_range};
use crate::scan::SegmentReader;

pub(super) struct Seg {
    pub(super) path: PathBuf,
    pub(super) first_seq: u64,
    pub(super) last_seq: Option<u64>,
    pub(super) used: u64,
}

pub(super) struct ActiveFile {
    pub(super) file: File,
    pub(super) pos: u64,
    pub(super) dirty: bool,
}

pub(super) struct Files {
    /// In seq order; appends go to the last one, whose handle is `active`.
    pub(super) segs: Vec<Seg>,
    pub(super) active: Option<ActiveFile>,
}

impl Files {
    /// Seq of the last written record; 0 for an empty log.
    pub(super) fn last_seq(&self) -> u64 {
        self.segs.iter().rev().find_map(|s| s.last_seq).unwrap_or(0)
    }

    /// Where the next record goes, for a queue that has nothing in it.
    pub(super) fn tail(&self) -> Tail {
        match (self.segs.last(), &self.active) {
            (Some(s), Some(a)) => Tail {
                has_segment: true,
                used: a.pos,
                records: u64::from(s.last_seq.is_some()),
            },
            _ => Tail::NONE,
        }
    }

    /// Makes a freshly created (empty) segment the active one.
    pub(super) fn start_segment(&mut self, first_seq: u64, path: PathBuf, file: File) {
        self.segs.push(Seg {
            path,
            first_seq,
            last_seq: None,
            used: HEADER_LEN,
        });
        self.active = Some(ActiveFile {
            file,
            pos: HEADER_LEN,
            dirty: false,
        });
    }

    pub(super) fn infos(&self) -> Vec<SegmentInfo> {
        let n = self.segs.len();
        self.segs
            .iter()
            .enumerate()
            .map(|(i, s)| SegmentInfo {
                path: s.path.clone(),
                first_seq: s.first_seq,
                last_seq: s.last_seq,
                bytes: s.used,
                active: i + 1 == n && self.active.is_some(),
            })
            .collect()
    }

    /// The segments that may hold seqs from `from` on, each with how far it may be read:
    /// the last one only up to what the writer has written.
    pub(super) fn replay_list(&self, from: u64) -> Vec<(PathBuf, Option<u64>)> {
        let start = self
            .segs
            .iter()
            .rposition(|s| s.first_seq <= from)
            .unwrap_or(0);
        let n = self.segs.len();
        self.segs[start..]
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let limit = if start + i + 1 == n {
                    Some(s.used)
                } else {
                    None
                };
                (s.path.clone(), limit)
            })
            .collect()
    }

    /// Deletes, oldest first, the segments all of whose records are below `seq`; never
    /// the last. Returns how many. The caller syncs the directory.
    pub(super) fn purge_below(&mut self, seq: u64) -> Result<usize> {
        let mut n = 0;
        // Segment i holds only seqs below segs[i+1].first_seq.
        while self.segs.len() >= 2 && self.segs[1].first_seq <= seq {
            let seg = self.segs.remove(0);
            remove_file(&seg.path)?;
            n += 1;
        }
        Ok(n)
    }

    /// Deletes, newest first, the segments that start above `seq`. Returns how many. The
    /// caller syncs the directory.
    pub(super) fn delete_after(&mut self, seq: u64) -> Result<u64> {
        let mut deleted = 0u64;
        while self.segs.last().is_some_and(|s| s.first_seq > seq) {
            self.active = None;
            if let Some(seg) = self.segs.pop() {
                remove_file(&seg.path)?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// Zeroes every record above `seq` in the last segment and makes it the active one
    /// again, positioned just after the last record kept. Returns the new last seq (0 if
    /// no record is left).
    pub(super) fn cut_last_after(&mut self, seq: u64) -> Result<u64> {
        self.active = None;
        let Some(seg) = self.segs.last_mut() else {
            return Ok(0);
        };
        let (cut, kept) = end_of_kept(seg, seq)?;
        let file = open_rw(&seg.path)?;
        zero_range(&file, &seg.path, cut, seg.used)?;
        seg.used = cut;
        seg.last_seq = kept;
        self.active = Some(ActiveFile {
            file,
            pos: cut,
            dirty: false,
        });
        Ok(kept.unwrap_or(0))
    }
}

/// Where the records of `seg` up to `seq` end, and the seq of the last of them. Reading
/// re-verifies them, so a segment damaged since open is `Corrupt` rather than cut blind.
fn end_of_kept(seg: &Seg, seq: u64) -> Result<(u64, Option<u64>)> {
    let mut cut = HEADER_LEN;
    let mut kept = None;
    let mut reader = SegmentReader::open_limited(&seg.path, Some(seg.used))?;
    while let Some(item) = reader.next() {
        let (_, rec) = item?;
        if rec.seq > seq {
            break;
        }
        kept = Some(rec.seq);
        cut = reader.offset();
    }
    Ok((cut, kept))
}

/// Opens a segment to append to it.
pub(super) fn open_rw(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| WalError::io("open", path, e))
}

//! What `Wal::open` does to the files before the writer starts: verify, repair, tidy.
//!
//! Every record the caller will read back (from `WalOptions::verify_from` on) is
//! checked, not just the tail, because a log that starts over damage would later replay
//! it as if it were good. Older segments, whose records lie wholly below that point, get
//! a header check only: their records are never replayed again, and checking them would
//! make every start-up as slow as the whole retained history is long. Only one kind of damage
//! is repaired: a torn tail, the partial last write of a crash, which by the rule in
//! `scan` can only hold records that were never acknowledged. It is zeroed (keeping the
//! preallocated size) and the log goes on from the last good record. Anything else is
//! `Corrupt` with file and offset, because silently dropping acknowledged txns is worse
//! than not starting.
//!
//! Two leftovers of a crash during segment creation are removed as well: temporary
//! files that never became segments, and an empty last segment whose first write never
//! landed.

use std::fs::OpenOptions;
use std::path::Path;

use super::files::{open_rw, ActiveFile, Files, Seg};
use crate::error::{Result, WalError};
use crate::format::{decode_header, parse_segment_file_name, HEADER_LEN};
use crate::io::{remove_file, sync_dir, zero_range};
use crate::scan::{list_segments, placement_faults, scan_segment, Fault, FaultKind};

/// Makes `dir` a valid log to append to. Returns its segments, with the last one open
/// as the active segment, and how many (empty) segments were deleted.
pub(super) fn recover(dir: &Path, verify_from: u64) -> Result<(Files, u64)> {
    remove_temp_files(dir)?;
    let mut segs = verify_segments(dir, verify_from)?;
    let deleted = drop_empty_last(dir, &mut segs)?;
    let active = segs.last().map(open_active).transpose()?;
    Ok((Files { segs, active }, deleted))
}

/// Removes `wal-*.log.tmp` left by a crash during segment creation; they never held
/// records (a segment is renamed into place before its first write).
fn remove_temp_files(dir: &Path) -> Result<()> {
    let rd = std::fs::read_dir(dir).map_err(|e| WalError::io("list directory", dir, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| WalError::io("list directory", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(base) = name.strip_suffix(".tmp") {
            if parse_segment_file_name(base).is_some() {
                let p = entry.path();
                tracing::warn!(path = %p.display(), "wal: removing unfinished segment file");
                remove_file(&p)?;
            }
        }
    }
    Ok(())
}

/// Verifies the segments in seq order, repairing a torn tail in the last one; a segment
/// whose successor starts at or below `verify_from` holds only records below it and
/// gets a header check.
fn verify_segments(dir: &Path, verify_from: u64) -> Result<Vec<Seg>> {
    let listed = list_segments(dir)?;
    let mut segs: Vec<Seg> = Vec::with_capacity(listed.len());
    let mut prev_last: Option<u64> = None;
    for (i, (name_seq, path)) in listed.iter().enumerate() {
        let next_first = listed.get(i + 1).map(|(seq, _)| *seq);
        let seg = match next_first {
            Some(next) if next <= verify_from => {
                check_old_segment(path, *name_seq, next, prev_last)?
            }
            _ => verify_segment(path, *name_seq, i + 1 == listed.len(), prev_last)?,
        };
        if seg.last_seq.is_some() {
            prev_last = seg.last_seq;
        }
        segs.push(seg);
    }
    Ok(segs)
}

/// Verifies one segment named for `name_seq` and placed after segments reaching
/// `prev_last`; `is_last` allows a torn tail, which is zeroed.
fn verify_segment(
    path: &Path,
    name_seq: u64,
    is_last: bool,
    prev_last: Option<u64>,
) -> Result<Seg> {
    let report = scan_segment(path, is_last, false)?;
    if let Some(fault) = report.faults.first() {
        if fault.kind != FaultKind::TornTail {
            return Err(fault.to_error());
        }
        repair_torn_tail(path, fault, report.valid_end)?;
    }
    let header = report
        .header
        .ok_or_else(|| WalError::corrupt(path, 0, "bad header"))?;
    if let Some(fault) = placement_faults(path, name_seq, &header, prev_last).first() {
        return Err(fault.to_error());
    }
    Ok(Seg {
        path: path.to_path_buf(),
        first_seq: header.first_seq,
        last_seq: report.last_seq,
        used: report.valid_end,
    })
}

/// The header check of a segment that is not read back: its magic, version, checksum
/// and placement. Its records run up to the next segment's first seq.
fn check_old_segment(
    path: &Path,
    name_seq: u64,
    next_first: u64,
    prev_last: Option<u64>,
) -> Result<Seg> {
    let mut head = vec![0u8; HEADER_LEN as usize];
    let mut file = std::fs::File::open(path).map_err(|e| WalError::io("open", path, e))?;
    std::io::Read::read_exact(&mut file, &mut head)
        .map_err(|e| WalError::corrupt(path, 0, format!("cannot read the header: {e}")))?;
    let header = decode_header(&head).map_err(|reason| WalError::corrupt(path, 0, reason))?;
    if let Some(fault) = placement_faults(path, name_seq, &header, prev_last).first() {
        return Err(fault.to_error());
    }
    let used = file
        .metadata()
        .map_err(|e| WalError::io("stat", path, e))?
        .len();
    Ok(Seg {
        path: path.to_path_buf(),
        first_seq: header.first_seq,
        last_seq: Some(next_first.saturating_sub(1).max(header.first_seq)),
        used,
    })
}

/// Zeroes a torn tail from the end of the last good record to the end of the fault.
fn repair_torn_tail(path: &Path, fault: &Fault, valid_end: u64) -> Result<()> {
    tracing::warn!(
        file = %fault.file.display(),
        offset = fault.offset,
        bytes = fault.end.saturating_sub(fault.offset),
        reason = %fault.reason,
        "wal: truncating torn tail"
    );
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| WalError::io("open", path, e))?;
    zero_range(&file, path, valid_end, fault.end)
}

/// An empty last segment is one whose first write never landed; its first seq may be
/// reused, so drop it rather than append below its name. Returns how many were dropped.
fn drop_empty_last(dir: &Path, segs: &mut Vec<Seg>) -> Result<u64> {
    if segs.last().is_some_and(|s| s.last_seq.is_none()) {
        if let Some(seg) = segs.pop() {
            tracing::warn!(path = %seg.path.display(), "wal: removing empty last segment");
            remove_file(&seg.path)?;
            sync_dir(dir)?;
            return Ok(1);
        }
    }
    Ok(0)
}

/// Opens the last segment for appending after its last good record.
fn open_active(seg: &Seg) -> Result<ActiveFile> {
    let file = open_rw(&seg.path)?;
    // Whatever a crashed process left in the page cache is made durable now, so
    // durable_seq can start at last_seq.
    file.sync_data()
        .map_err(|e| WalError::io("fsync", &seg.path, e))?;
    Ok(ActiveFile {
        file,
        pos: seg.used,
        dirty: false,
    })
}

//! `txnlog chop`: writes a copy of a ZooKeeper txn log that ends at a given zxid, as
//! ZooKeeper's LogChopper does: the same header, every entry up to and including that zxid,
//! and nothing after (no padding; ZooKeeper reads the end of the file as the end of the log).
//! [`chop_warren`] does the same for Warren's WAL segments and wal dirs.

use std::io::Write;
use std::path::Path;

use crate::error::ToolError;
use crate::walfile::{WalFile, WalScan};
use crate::zklog::{encode_entry, LogEnd, Scan, ZkLog, FILE_HEADER_LEN};

/// What `chop` wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChopSummary {
    /// Entries copied.
    pub kept: usize,
    /// Entries left out.
    pub dropped: usize,
}

/// Copies the entries of `input` with zxid <= `zxid` to the new file `output`, reporting
/// on `out` as the reference tool does. The output must not exist yet.
///
/// # Errors
/// [`ToolError::ZxidNotFound`] when no entry has exactly `zxid` (nothing is written);
/// [`ToolError::Corrupt`] for an entry, up to the cut, with a bad checksum, end marker or
/// header; [`ToolError::Io`] when reading or writing fails; [`ToolError::Usage`] when
/// `output` exists.
pub fn chop(
    input: &Path,
    zxid: i64,
    output: &Path,
    out: &mut dyn Write,
) -> Result<ChopSummary, ToolError> {
    let log = ZkLog::open(input)?;
    let say = |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(ToolError::Output);
    say(
        out,
        format!(
            "ZooKeeper Transactional Log File with dbid {} txnlog format version {}",
            log.header.dbid, log.header.version
        ),
    )?;
    let mut buf = log.bytes[..FILE_HEADER_LEN].to_vec();
    let mut kept = 0usize;
    let mut total = 0usize;
    let mut found = false;
    let mut prev: Option<i64> = None;
    let mut cut = false;
    for item in log.entries() {
        let e = match item {
            Scan::Entry(e) => e,
            Scan::End(LogEnd::Truncated { offset, reason }) if !cut => {
                return Err(ToolError::corrupt(input, offset, reason));
            }
            Scan::End(_) => break,
        };
        total += 1;
        if cut {
            continue;
        }
        let (h, _) = e
            .txn_header()
            .map_err(|err| ToolError::corrupt(input, e.offset, format!("txn header: {err}")))?;
        if h.zxid > zxid {
            cut = true;
            continue;
        }
        if !e.crc_ok() {
            return Err(ToolError::corrupt(
                input,
                e.offset,
                format!(
                    "checksum mismatch in zxid {:#x} (stored {:#x}, computed {:#x}); run `txnlog recover` first",
                    h.zxid,
                    e.stored_crc,
                    e.computed_crc()
                ),
            ));
        }
        if !e.eor_ok() {
            return Err(ToolError::corrupt(
                input,
                e.end() - 1,
                "entry does not end with 'B': the last transaction was partial",
            ));
        }
        if let Some(p) = prev {
            if h.zxid != p + 1 {
                let (epoch, counter, pepoch) = (h.zxid >> 32, h.zxid & 0xffff_ffff, p >> 32);
                if epoch == pepoch {
                    say(
                        out,
                        format!("There is intra-epoch gap between {p:x} and {:x}", h.zxid),
                    )?;
                } else if counter != 1 {
                    say(
                        out,
                        format!("There is inter-epoch gap between {p:x} and {:x}", h.zxid),
                    )?;
                }
            }
        }
        prev = Some(h.zxid);
        found |= h.zxid == zxid;
        encode_entry(e.stored_crc, e.body, &mut buf);
        kept += 1;
    }
    if !found {
        say(out, format!("This log does not contain zxid {zxid:x}"))?;
        return Err(ToolError::ZxidNotFound {
            path: input.to_owned(),
            zxid,
        });
    }
    create_new(output, &buf)?;
    say(
        out,
        format!("Chopping at {zxid:x} new log has {kept} records"),
    )?;
    Ok(ChopSummary {
        kept,
        dropped: total - kept,
    })
}

/// Copies the bytes of one Warren segment up to and including the record with seq `zxid`
/// (or all of it when every record is below), returning the bytes, the records kept,
/// whether `zxid` was found, and whether a later record was seen.
fn cut_segment(path: &Path, zxid: u64) -> Result<(Vec<u8>, usize, bool, bool), ToolError> {
    let seg = WalFile::open(path)?;
    if !seg.header.crc_ok {
        return Err(ToolError::corrupt(
            path,
            0,
            "segment header checksum mismatch",
        ));
    }
    let mut end = crate::walfile::HEADER_LEN as u64;
    let (mut kept, mut found, mut beyond) = (0usize, false, false);
    for item in seg.frames() {
        match item {
            WalScan::Entry(e) => {
                if e.seq > zxid {
                    beyond = true;
                    break;
                }
                if !e.crc_ok() {
                    return Err(ToolError::corrupt(
                        path,
                        e.offset,
                        format!(
                            "checksum mismatch in zxid {:#x} (stored {:08x}, computed {:08x}); run `txnlog recover` first",
                            e.seq, e.stored_crc, e.computed_crc
                        ),
                    ));
                }
                kept += 1;
                end = e.end();
                found |= e.seq == zxid;
            }
            WalScan::End { .. } => break,
            WalScan::Bad { offset, reason } => {
                return Err(ToolError::corrupt(path, offset, reason));
            }
        }
    }
    Ok((seg.bytes[..end as usize].to_vec(), kept, found, beyond))
}

fn create_new(path: &Path, bytes: &[u8]) -> Result<(), ToolError> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                ToolError::Usage(format!(
                    "{}: already exists; not overwriting it",
                    path.display()
                ))
            } else {
                ToolError::io(path, e)
            }
        })?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| ToolError::io(path, e))
}

/// `txnlog chop` on Warren's WAL: `input` is a segment file (the output is one segment
/// file) or a wal dir (the output is a new wal dir holding every segment up to the one
/// with `zxid`, that one cut after it). Records are copied byte for byte; the files end
/// right after the last record kept (the wal reads the end of a file as the end of data).
///
/// # Errors
/// [`ToolError::ZxidNotFound`] when no record has exactly `zxid` (nothing is written);
/// [`ToolError::Corrupt`] for a bad header or record up to the cut; [`ToolError::Usage`]
/// when the output exists; I/O errors.
pub fn chop_warren(
    input: &Path,
    zxid: i64,
    output: &Path,
    out: &mut dyn Write,
) -> Result<ChopSummary, ToolError> {
    let z = zxid as u64;
    let say = |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(ToolError::Output);
    let files = if input.is_dir() {
        crate::walfile::segments(input)?
    } else {
        vec![input.to_owned()]
    };
    let mut parts: Vec<(std::path::PathBuf, Vec<u8>)> = Vec::new();
    let (mut kept, mut total, mut found, mut done) = (0usize, 0usize, false, false);
    for f in &files {
        let seg = WalFile::open(f)?;
        total += seg
            .frames()
            .filter(|s| matches!(s, WalScan::Entry(_)))
            .count();
        if done {
            continue;
        }
        let (bytes, k, hit, beyond) = cut_segment(f, z)?;
        say(
            out,
            format!(
                "Warren WAL segment with first zxid 0x{:x} format version {}",
                seg.header.first_seq, seg.header.version
            ),
        )?;
        if k > 0 {
            parts.push((f.clone(), bytes));
        }
        kept += k;
        found |= hit;
        // Past the zxid: later segments are dropped whole.
        done = hit || beyond;
    }
    if !found {
        say(out, format!("This log does not contain zxid {zxid:x}"))?;
        return Err(ToolError::ZxidNotFound {
            path: input.to_owned(),
            zxid,
        });
    }
    if input.is_dir() {
        if output.exists() {
            return Err(ToolError::Usage(format!(
                "{}: already exists; not overwriting it",
                output.display()
            )));
        }
        std::fs::create_dir_all(output).map_err(|e| ToolError::io(output, e))?;
        for (src, bytes) in &parts {
            let name = src.file_name().unwrap_or_default();
            create_new(&output.join(name), bytes)?;
        }
    } else {
        let bytes = parts.first().map(|p| p.1.as_slice()).unwrap_or_default();
        create_new(output, bytes)?;
    }
    say(
        out,
        format!("Chopping at {zxid:x} new log has {kept} records"),
    )?;
    Ok(ChopSummary {
        kept,
        dropped: total - kept,
    })
}

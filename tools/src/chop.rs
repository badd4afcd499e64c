//! `txnlog chop`: writes a copy of a ZooKeeper txn log that ends at a given zxid, as
//! ZooKeeper's LogChopper does: the same header, every entry up to and including that zxid,
//! and nothing after (no padding; ZooKeeper reads the end of the file as the end of the log).
//! [`chop_warren`] does the same for Warren's WAL segments and wal dirs.

use std::fmt::LowerHex;
use std::io::Write;
use std::path::Path;

use crate::error::ToolError;
use crate::log_header::HeaderLine;
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

/// Prints one line of the report.
fn say(out: &mut dyn Write, s: &str) -> Result<(), ToolError> {
    writeln!(out, "{s}").map_err(ToolError::Output)
}

/// The cut a chop makes through the entries of a log, ZooKeeper's or Warren's, taken in
/// order: each entry up to and including the zxid asked for is kept, and must have a good
/// checksum; the first entry after it ends the copy.
struct Cut<Z> {
    /// The zxid asked for, as the caller gave it.
    asked: i64,
    /// The same in the log's own zxid type (Warren's seqs are unsigned).
    at: Z,
    /// Entries kept so far.
    kept: usize,
    /// Whether an entry with exactly `at` was kept.
    found: bool,
    /// Whether an entry after `at` was seen: nothing more is kept.
    past: bool,
}

impl<Z: Copy + PartialOrd + LowerHex> Cut<Z> {
    fn new(asked: i64, at: Z) -> Cut<Z> {
        Cut {
            asked,
            at,
            kept: 0,
            found: false,
            past: false,
        }
    }

    /// Takes the next entry, with `zxid`, at `offset` of `path`: `Ok(true)` when it is
    /// kept, `Ok(false)` once past the cut. `bad_crc` holds the stored and computed
    /// checksums, as the error shows them, when they differ.
    ///
    /// # Errors
    /// [`ToolError::Corrupt`] for a kept entry with a bad checksum.
    fn keep(
        &mut self,
        path: &Path,
        offset: u64,
        zxid: Z,
        bad_crc: Option<(String, String)>,
    ) -> Result<bool, ToolError> {
        if self.past || zxid > self.at {
            self.past = true;
            return Ok(false);
        }
        if let Some((stored, computed)) = bad_crc {
            return Err(ToolError::corrupt(
                path,
                offset,
                format!(
                    "checksum mismatch in zxid {zxid:#x} (stored {stored}, computed {computed}); run `txnlog recover` first"
                ),
            ));
        }
        self.kept += 1;
        self.found |= zxid == self.at;
        Ok(true)
    }

    /// Ends the chop of `input`, which holds `total` entries: when the zxid was found,
    /// `write` writes the output and the result is reported; otherwise nothing is written.
    ///
    /// # Errors
    /// [`ToolError::ZxidNotFound`], or what `write` or the report returns.
    fn finish(
        &self,
        input: &Path,
        total: usize,
        out: &mut dyn Write,
        write: impl FnOnce() -> Result<(), ToolError>,
    ) -> Result<ChopSummary, ToolError> {
        let (zxid, kept) = (self.asked, self.kept);
        if !self.found {
            say(out, &format!("This log does not contain zxid {zxid:x}"))?;
            return Err(ToolError::ZxidNotFound {
                path: input.to_owned(),
                zxid,
            });
        }
        write()?;
        say(
            out,
            &format!("Chopping at {zxid:x} new log has {kept} records"),
        )?;
        Ok(ChopSummary {
            kept,
            dropped: total - kept,
        })
    }
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
    say(out, &log.header_line())?;
    let mut buf = log.bytes[..FILE_HEADER_LEN].to_vec();
    let mut cut = Cut::new(zxid, zxid);
    let mut total = 0usize;
    let mut prev: Option<i64> = None;
    for item in log.entries() {
        let e = match item {
            Scan::Entry(e) => e,
            Scan::End(LogEnd::Truncated { offset, reason }) if !cut.past => {
                return Err(ToolError::corrupt(input, offset, reason));
            }
            Scan::End(_) => break,
        };
        total += 1;
        if cut.past {
            continue;
        }
        let (h, _) = e
            .txn_header()
            .map_err(|err| ToolError::corrupt(input, e.offset, format!("txn header: {err}")))?;
        let bad_crc = (!e.crc_ok()).then(|| {
            (
                format!("{:#x}", e.stored_crc),
                format!("{:#x}", e.computed_crc()),
            )
        });
        if !cut.keep(input, e.offset, h.zxid, bad_crc)? {
            continue;
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
                        &format!("There is intra-epoch gap between {p:x} and {:x}", h.zxid),
                    )?;
                } else if counter != 1 {
                    say(
                        out,
                        &format!("There is inter-epoch gap between {p:x} and {:x}", h.zxid),
                    )?;
                }
            }
        }
        prev = Some(h.zxid);
        encode_entry(e.stored_crc, e.body, &mut buf);
    }
    cut.finish(input, total, out, || create_new(output, &buf))
}

/// Cuts one Warren segment: its bytes up to the last record `cut` keeps (all of them when
/// every record is below the cut).
fn cut_segment(seg: &WalFile, cut: &mut Cut<u64>) -> Result<Vec<u8>, ToolError> {
    let path = &seg.path;
    if !seg.header.crc_ok {
        return Err(ToolError::corrupt(
            path,
            0,
            "segment header checksum mismatch",
        ));
    }
    let mut end = crate::walfile::HEADER_LEN as u64;
    for item in seg.frames() {
        match item {
            WalScan::Entry(e) => {
                let bad_crc = (!e.crc_ok()).then(|| {
                    (
                        format!("{:08x}", e.stored_crc),
                        format!("{:08x}", e.computed_crc),
                    )
                });
                if !cut.keep(path, e.offset, e.seq, bad_crc)? {
                    break;
                }
                end = e.end();
            }
            WalScan::End { .. } => break,
            WalScan::Bad { offset, reason } => {
                return Err(ToolError::corrupt(path, offset, reason));
            }
        }
    }
    Ok(seg.bytes[..end as usize].to_vec())
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
    let files = if input.is_dir() {
        crate::walfile::segments(input)?
    } else {
        vec![input.to_owned()]
    };
    let mut parts: Vec<(std::path::PathBuf, Vec<u8>)> = Vec::new();
    let mut cut = Cut::new(zxid, zxid as u64);
    let mut total = 0usize;
    for f in &files {
        let seg = WalFile::open(f)?;
        total += seg
            .frames()
            .filter(|s| matches!(s, WalScan::Entry(_)))
            .count();
        // Past the zxid: later segments are dropped whole.
        if cut.found || cut.past {
            continue;
        }
        let before = cut.kept;
        let bytes = cut_segment(&seg, &mut cut)?;
        say(out, &seg.header_line())?;
        if cut.kept > before {
            parts.push((f.clone(), bytes));
        }
    }
    cut.finish(input, total, out, || {
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
            Ok(())
        } else {
            let bytes = parts.first().map(|p| p.1.as_slice()).unwrap_or_default();
            create_new(output, bytes)
        }
    })
}

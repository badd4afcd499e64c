//! `txnlog chop`: writes a copy of a ZooKeeper txn log that ends at a given zxid, as
//! ZooKeeper's LogChopper does: the same header, every entry up to and including that zxid,
//! and nothing after (no padding; ZooKeeper reads the end of the file as the end of the log).

use std::io::Write;
use std::path::Path;

use crate::error::ToolError;
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
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(output)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                ToolError::Usage(format!(
                    "{}: already exists; not overwriting it",
                    output.display()
                ))
            } else {
                ToolError::io(output, e)
            }
        })?;
    f.write_all(&buf)
        .and_then(|()| f.sync_all())
        .map_err(|e| ToolError::io(output, e))?;
    say(
        out,
        format!("Chopping at {zxid:x} new log has {kept} records"),
    )?;
    Ok(ChopSummary {
        kept,
        dropped: total - kept,
    })
}

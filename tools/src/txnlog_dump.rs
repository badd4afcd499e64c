//! `txnlog dump`: prints ZooKeeper txn logs line by line as ZooKeeper 3.8's TxnLogToolkit
//! does (header line, one line per txn, `EOF reached after N txns.`, and a txn whose
//! checksum is wrong printed twice, first behind `CRC ERROR - `), or as one JSON object
//! per txn; with zxid, session and path filters. A directory means all its `log.*` files
//! in zxid order.
//!
//! Warren's WAL segments hold the same txn bytes, so [`dump_warren`] prints them the same
//! way; only the per-file header line names the segment instead of a ZooKeeper log.

use std::io::Write;
use std::path::Path;

use serde_json::{json, Map, Value};
use warren_proto::consts::op;

use crate::error::ToolError;
use crate::java::short_long_date;
use crate::txnfmt::{decode_txn, toolkit_line, txn_json, txn_paths};
use warren_proto::{Jute, Reader, TxnHeader};

use crate::walfile::{WalFile, WalScan};
use crate::zklog::{expand_log_paths, LogEnd, Scan, ZkLog};

/// Which txns `txnlog dump` prints, and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DumpOptions {
    /// One JSON object per txn instead of the toolkit's text.
    pub json: bool,
    /// Only txns with zxid >= this.
    pub from_zxid: Option<i64>,
    /// Only txns with zxid <= this.
    pub to_zxid: Option<i64>,
    /// Only txns of this session.
    pub session: Option<i64>,
    /// Only txns naming a path that starts with this.
    pub path_prefix: Option<String>,
}

impl DumpOptions {
    fn wants(&self, zxid: i64, session: i64) -> bool {
        self.from_zxid.is_none_or(|z| zxid >= z)
            && self.to_zxid.is_none_or(|z| zxid <= z)
            && self.session.is_none_or(|s| s == session)
    }
}

/// What a dump saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DumpSummary {
    /// Txns read, in all files.
    pub txns: usize,
    /// Txns printed after filtering.
    pub printed: usize,
    /// Txns whose checksum did not match.
    pub crc_errors: usize,
}

fn w(out: &mut dyn Write, s: &str) -> Result<(), ToolError> {
    out.write_all(s.as_bytes()).map_err(ToolError::Output)
}

/// Dumps `path` (a log file or a directory of them) to `out`; damage that stops a file
/// early is reported on `warn` and then as the error.
///
/// # Errors
/// [`ToolError::Io`]/[`ToolError::BadMagic`] for an unreadable or foreign file,
/// [`ToolError::Corrupt`] (after printing everything readable) when an entry lacks its end
/// marker, [`ToolError::Output`] when writing fails.
pub fn dump(
    path: &Path,
    opts: &DumpOptions,
    out: &mut dyn Write,
    warn: &mut dyn Write,
) -> Result<DumpSummary, ToolError> {
    let files = expand_log_paths(path)?;
    let mut summary = DumpSummary::default();
    let mut first_damage: Option<ToolError> = None;
    for f in &files {
        if let Err(e) = dump_file(f, opts, out, warn, &mut summary) {
            match e {
                ToolError::Corrupt { .. } => {
                    let _ = writeln!(warn, "error: {e}");
                    first_damage.get_or_insert(e);
                }
                e => return Err(e),
            }
        }
    }
    match first_damage {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}

fn dump_file(
    path: &Path,
    opts: &DumpOptions,
    out: &mut dyn Write,
    warn: &mut dyn Write,
    summary: &mut DumpSummary,
) -> Result<(), ToolError> {
    let log = ZkLog::open(path)?;
    if !opts.json {
        w(
            out,
            &format!(
                "ZooKeeper Transactional Log File with dbid {} txnlog format version {}\n",
                log.header.dbid, log.header.version
            ),
        )?;
    }
    let mut count = 0usize;
    for item in log.entries() {
        match item {
            Scan::Entry(e) => {
                if !e.crc_ok() {
                    summary.crc_errors += 1;
                }
                print_entry(&log.path, e.offset, e.crc_ok(), e.body, opts, out, summary)?;
                if !e.eor_ok() {
                    return Err(ToolError::corrupt(
                        path,
                        e.end() - 1,
                        format!(
                            "entry at offset {} ends with byte {:#04x}, not 'B': the last transaction was partial",
                            e.offset, e.eor
                        ),
                    ));
                }
                count += 1;
                summary.txns += 1;
            }
            Scan::End(end) => {
                if let LogEnd::Truncated { offset, reason } = &end {
                    let _ = writeln!(
                        warn,
                        "warning: {}: offset {offset}: {reason}; treated as the end of the log",
                        path.display()
                    );
                }
                if !opts.json {
                    w(out, &format!("EOF reached after {count} txns.\n"))?;
                }
            }
        }
    }
    Ok(())
}

/// Prints one logged txn (`body` = TxnHeader, record, maybe a digest) if the filters want
/// it; shared by ZooKeeper logs and Warren WAL segments, whose payloads are the same bytes.
fn print_entry(
    path: &Path,
    offset: u64,
    crc_ok: bool,
    body: &[u8],
    opts: &DumpOptions,
    out: &mut dyn Write,
    summary: &mut DumpSummary,
) -> Result<(), ToolError> {
    let header = {
        let mut r = Reader::new(body);
        TxnHeader::read(&mut r).map(|h| (h, r.rest()))
    };
    let (h, rest) = match header {
        Ok(x) => x,
        Err(err) => {
            // Not even a header: say so in place of the txn.
            let msg = format!(
                "entry at offset {offset} has {} bytes, too few for a txn header: {err}",
                body.len()
            );
            if opts.json {
                let v = json!({"file": path.display().to_string(), "offset": offset, "error": msg});
                w(out, &format!("{v}\n"))?;
            } else {
                w(out, &format!("<{msg}>\n"))?;
            }
            return Ok(());
        }
    };
    if !opts.wants(h.zxid, h.client_id) {
        return Ok(());
    }
    let decoded = decode_txn(h.txn_type, rest);
    if let Some(prefix) = &opts.path_prefix {
        let hit = decoded
            .as_ref()
            .is_ok_and(|(t, _)| txn_paths(t).iter().any(|p| p.starts_with(prefix.as_str())));
        if !hit {
            return Ok(());
        }
    }
    summary.printed += 1;
    if opts.json {
        let mut m = Map::new();
        m.insert("file".into(), json!(path.display().to_string()));
        m.insert("offset".into(), json!(offset));
        m.insert("crc_ok".into(), json!(crc_ok));
        m.insert("time".into(), json!(h.time));
        m.insert("date".into(), json!(short_long_date(h.time)));
        m.insert("session".into(), json!(format!("0x{:x}", h.client_id)));
        m.insert("cxid".into(), json!(h.cxid));
        m.insert("zxid".into(), json!(format!("0x{:x}", h.zxid)));
        m.insert("type".into(), json!(op::name(h.txn_type)));
        match &decoded {
            Ok((t, digest)) => {
                m.insert("txn".into(), Value::Object(txn_json(t)));
                if let Some(d) = digest {
                    m.insert(
                        "digest".into(),
                        json!({"version": d.version, "tree_digest": d.tree_digest}),
                    );
                }
            }
            Err(err) => {
                m.insert("error".into(), json!(err.to_string()));
            }
        }
        w(out, &format!("{}\n", Value::Object(m)))
    } else {
        // Like the toolkit: a bad checksum prints the txn twice, flagged and then as usual.
        let line = toolkit_line(&h, rest);
        if !crc_ok {
            w(out, &format!("CRC ERROR - {line}"))?;
        }
        w(out, &line)
    }
}

/// Dumps Warren WAL segments (`files`, in seq order) as [`dump`] does ZooKeeper logs: a
/// header line per segment, the toolkit's line per txn (a record whose checksum is wrong
/// printed twice, first behind `CRC ERROR - `), `EOF reached after N txns.`
///
/// # Errors
/// [`ToolError::Io`]/[`ToolError::BadMagic`] for an unreadable or foreign file;
/// [`ToolError::Corrupt`] (after printing everything readable, and the rest of the files)
/// when a frame cannot be delimited; [`ToolError::Output`] when writing fails.
pub fn dump_warren(
    files: &[std::path::PathBuf],
    opts: &DumpOptions,
    out: &mut dyn Write,
    warn: &mut dyn Write,
) -> Result<DumpSummary, ToolError> {
    let mut summary = DumpSummary::default();
    let mut first_damage: Option<ToolError> = None;
    for f in files {
        let seg = WalFile::open(f)?;
        if !opts.json {
            w(
                out,
                &format!(
                    "Warren WAL segment with first zxid 0x{:x} format version {}\n",
                    seg.header.first_seq, seg.header.version
                ),
            )?;
        }
        if !seg.header.crc_ok {
            let _ = writeln!(
                warn,
                "warning: {}: offset 0: segment header checksum mismatch",
                f.display()
            );
        }
        let mut count = 0usize;
        for item in seg.frames() {
            match item {
                WalScan::Entry(e) => {
                    if !e.crc_ok() {
                        summary.crc_errors += 1;
                    }
                    print_entry(f, e.offset, e.crc_ok(), e.payload, opts, out, &mut summary)?;
                    count += 1;
                    summary.txns += 1;
                }
                WalScan::End { .. } => {}
                WalScan::Bad { offset, reason } => {
                    let err = ToolError::corrupt(f, offset, reason);
                    let _ = writeln!(warn, "error: {err}");
                    first_damage.get_or_insert(err);
                }
            }
        }
        if !opts.json {
            w(out, &format!("EOF reached after {count} txns.\n"))?;
        }
    }
    match first_damage {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}

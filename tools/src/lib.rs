//! `warren-tools`: offline inspection, repair, replay and import of Warren's and ZooKeeper's
//! files. The command line is [`ToolCommand`]; [`run`] carries one out. Each tool is also a
//! library function that writes to any `Write`, for tests and for other front ends.
//!
//! Formats are told apart by their magic ([`detect`]): Apache ZooKeeper's txn logs
//! ([`zklog`]) and snapshots ([`zksnap`]), Warren's WAL segments ([`walfile`]) and data dirs
//! ([`datadir`]). One module per tool: `txnlog_dump`, `txnlog_verify`, `chop`, `recover`,
//! `snapshot_dump`, `snapshot_diff`, `replay`, `import`, `check`.
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod check;
pub mod chop;
pub mod cli;
pub mod datadir;
pub mod detect;
pub mod error;
pub mod import;
pub mod java;
pub mod jute_text;
mod log_header;
pub mod recover;
pub mod replay;
pub mod snapshot_diff;
pub mod snapshot_dump;
pub mod txnfmt;
pub mod txnlog_dump;
pub mod txnlog_verify;
pub mod walfile;
pub mod zklog;
pub mod zksnap;

use std::io::{BufRead, Write};

pub use cli::{
    CheckArgs, HistoryArgs, ImportArgs, ReplayArgs, SnapshotCommand, ToolCommand, TxnlogCommand,
    TxnlogDumpArgs,
};
pub use error::ToolError;

use detect::{detect, FileKind};

/// Runs one tool command against the process's stdin, stdout and stderr.
///
/// # Errors
/// Whatever the tool reports: see [`run_with`].
pub fn run(cmd: ToolCommand) -> Result<(), ToolError> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut warn = std::io::stderr();
    let r = run_with(cmd, &mut out, &mut warn, &mut input);
    let flushed = out.flush().map_err(ToolError::Output);
    r.and(flushed)
}

/// A Warren WAL target: the wal dir (when PATH is a directory) and the segment files.
type WalTarget = (Option<std::path::PathBuf>, Vec<std::path::PathBuf>);

/// Where a txnlog command's PATH points to Warren's WAL: a segment file (the files), or
/// a wal dir or data dir (the wal dir and its segments). `None` for ZooKeeper's files.
fn warren_wal_target(path: &std::path::Path) -> Result<Option<WalTarget>, ToolError> {
    if path.is_dir() {
        if zklog::list_logs(path)?.is_empty() {
            if let Some(d) = walfile::warren_wal_dir(path) {
                let segs = walfile::segments(&d)?;
                return Ok(Some((Some(d), segs)));
            }
        }
        return Ok(None);
    }
    if detect(path)? == FileKind::WarrenWal {
        return Ok(Some((None, vec![path.to_owned()])));
    }
    Ok(None)
}

/// A file argument that must be of a ZooKeeper kind this command reads.
fn require(path: &std::path::Path, ok: &[FileKind]) -> Result<(), ToolError> {
    if path.is_dir() {
        return Ok(());
    }
    let kind = detect(path)?;
    if ok.contains(&kind) {
        return Ok(());
    }
    match kind {
        FileKind::WarrenWal | FileKind::WarrenSst | FileKind::WarrenManifest => {
            Err(ToolError::Unsupported {
                path: path.to_owned(),
                kind: kind.name(),
            })
        }
        // Let the reader produce its precise bad-magic error.
        _ => Ok(()),
    }
}

/// Runs one tool command, printing its report to `out`, warnings to `warn`, and reading
/// answers (for `txnlog recover`) from `input`.
///
/// # Errors
/// [`ToolError::VerifyFailed`] when `txnlog verify` found damage (after printing it), and
/// any error of the tool's own function (`txnlog_dump::dump`, `chop::chop`, …).
pub fn run_with(
    cmd: ToolCommand,
    out: &mut dyn Write,
    warn: &mut dyn Write,
    input: &mut dyn BufRead,
) -> Result<(), ToolError> {
    match cmd {
        ToolCommand::Txnlog(c) => run_txnlog(c, out, warn, input),
        ToolCommand::Snapshot(c) => run_snapshot(c, out, warn),
        ToolCommand::Replay(a) => run_replay(a, out),
        ToolCommand::Import(a) => run_import(a, out, warn),
        ToolCommand::Check(a) => run_check(&a, out),
    }
}

/// `txnlog …`: each subcommand reads ZooKeeper logs and Warren WAL segments alike, the
/// kind told by [`warren_wal_target`] (only `recover` needs a single file).
fn run_txnlog(
    cmd: TxnlogCommand,
    out: &mut dyn Write,
    warn: &mut dyn Write,
    input: &mut dyn BufRead,
) -> Result<(), ToolError> {
    match cmd {
        TxnlogCommand::Dump(a) => run_txnlog_dump(a, out, warn),
        TxnlogCommand::Verify { path } => run_txnlog_verify(&path, out),
        TxnlogCommand::Chop {
            zxid,
            file,
            out: to,
        } => run_txnlog_chop(zxid, file, &to, out),
        TxnlogCommand::Recover {
            file,
            yes,
            verbose,
            out: to,
        } => {
            let opts = recover::RecoverOptions {
                yes,
                verbose,
                out: to,
            };
            run_txnlog_recover(&file, &opts, out, input)
        }
    }
}

fn run_txnlog_dump(
    a: TxnlogDumpArgs,
    out: &mut dyn Write,
    warn: &mut dyn Write,
) -> Result<(), ToolError> {
    let opts = txnlog_dump::DumpOptions {
        json: a.json,
        from_zxid: a.from_zxid,
        to_zxid: a.to_zxid,
        session: a.session,
        path_prefix: a.path_prefix,
    };
    if let Some((_, files)) = warren_wal_target(&a.path)? {
        return txnlog_dump::dump_warren(&files, &opts, out, warn).map(|_| ());
    }
    require(&a.path, &[FileKind::ZkTxnLog])?;
    txnlog_dump::dump(&a.path, &opts, out, warn).map(|_| ())
}

/// The report is printed whatever it found; damage then becomes the error, so the exit
/// code tells a script what the text tells a person.
fn run_txnlog_verify(path: &std::path::Path, out: &mut dyn Write) -> Result<(), ToolError> {
    let report = match warren_wal_target(path)? {
        Some((dir, files)) => txnlog_verify::verify_warren(dir.as_deref(), &files, out)?,
        None => {
            require(path, &[FileKind::ZkTxnLog])?;
            txnlog_verify::verify(path, out)?
        }
    };
    if report.problems.is_empty() {
        Ok(())
    } else {
        Err(ToolError::VerifyFailed {
            bad: report.problems.len(),
        })
    }
}

/// A Warren wal dir (or data dir) is chopped as a whole, into a new wal dir; a single
/// segment is chopped on its own.
fn run_txnlog_chop(
    zxid: i64,
    file: std::path::PathBuf,
    to: &std::path::Path,
    out: &mut dyn Write,
) -> Result<(), ToolError> {
    if let Some((dir, _)) = warren_wal_target(&file)? {
        let input = dir.unwrap_or(file);
        return chop::chop_warren(&input, zxid, to, out).map(|_| ());
    }
    require(&file, &[FileKind::ZkTxnLog])?;
    chop::chop(&file, zxid, to, out).map(|_| ())
}

/// Recovery writes one output file, so it takes one file: a Warren segment or a
/// ZooKeeper log, never a directory.
fn run_txnlog_recover(
    file: &std::path::Path,
    opts: &recover::RecoverOptions,
    out: &mut dyn Write,
    input: &mut dyn BufRead,
) -> Result<(), ToolError> {
    if !file.is_dir() && detect(file)? == FileKind::WarrenWal {
        return recover::recover_warren(file, opts, out, input).map(|_| ());
    }
    require(file, &[FileKind::ZkTxnLog])?;
    recover::recover(file, opts, out, input).map(|_| ())
}

/// `snapshot …`: a directory is a Warren data dir, whose tree exists at every zxid within
/// retention; a file is a ZooKeeper snapshot, one state only.
fn run_snapshot(
    cmd: SnapshotCommand,
    out: &mut dyn Write,
    warn: &mut dyn Write,
) -> Result<(), ToolError> {
    match cmd {
        SnapshotCommand::Dump {
            file,
            data,
            json,
            at_zxid,
            history,
        } => {
            if file.is_dir() {
                let opts = snapshot_dump::WarrenDumpOptions {
                    data,
                    json,
                    at_zxid,
                    log_dir: history.log_dir,
                    retention_txns: history.retention_txns,
                };
                return snapshot_dump::dump_warren(&file, &opts, out);
            }
            if at_zxid.is_some() {
                return Err(ToolError::Usage(
                    "--at-zxid needs a Warren data dir: a ZooKeeper snapshot holds one state only"
                        .into(),
                ));
            }
            dump_zk_snapshot(
                &file,
                snapshot_dump::SnapshotDumpOptions { data, json },
                out,
                warn,
            )
        }
        SnapshotCommand::Diff {
            dir,
            from_zxid,
            to_zxid,
            json,
            history,
        } => {
            let opts = snapshot_diff::DiffOptions {
                from_zxid,
                to_zxid,
                json,
                log_dir: history.log_dir,
                retention_txns: history.retention_txns,
            };
            snapshot_diff::diff(&dir, &opts, out)
        }
    }
}

/// A ZooKeeper snapshot, plain or compressed (the compression is told by the magic).
fn dump_zk_snapshot(
    file: &std::path::Path,
    opts: snapshot_dump::SnapshotDumpOptions,
    out: &mut dyn Write,
    warn: &mut dyn Write,
) -> Result<(), ToolError> {
    require(
        file,
        &[
            FileKind::ZkSnapshot,
            FileKind::Gzip,
            FileKind::SnappyJava,
            FileKind::SnappyFramed,
        ],
    )?;
    snapshot_dump::dump(file, opts, out, warn)
}

fn run_replay(a: ReplayArgs, out: &mut dyn Write) -> Result<(), ToolError> {
    let opts = replay::ReplayOptions {
        data_dir: a.data_dir,
        log_dir: a.history.log_dir,
        to_zxid: a.to_zxid,
        out: a.out,
        retention_txns: a.history.retention_txns,
    };
    replay::replay(&opts, out).map(|_| ())
}

fn run_import(a: ImportArgs, out: &mut dyn Write, warn: &mut dyn Write) -> Result<(), ToolError> {
    let opts = import::ImportOptions {
        zk_data_dir: a.zookeeper_data_dir,
        zk_log_dir: a.zookeeper_log_dir,
        out: a.out,
    };
    import::import(&opts, out, warn).map(|_| ())
}

/// Like `txnlog verify`: every fault is printed, then their count is the error.
fn run_check(a: &CheckArgs, out: &mut dyn Write) -> Result<(), ToolError> {
    let s = check::check(&a.dir, a.log_dir.as_deref(), out)?;
    if s.faults.is_empty() {
        Ok(())
    } else {
        Err(ToolError::CheckFailed {
            faults: s.faults.len(),
        })
    }
}

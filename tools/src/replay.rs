//! `replay`: disaster recovery. Builds a new data dir holding exactly the state of a
//! Warren data dir at zxid Z, which a server can start on.
//!
//! * Z within the engine's retention: every key as of Z is copied (the engine's versions,
//!   read at Z) into a new engine with bootstrap writes at seq 0, in bounded batches, then
//!   one write at seq Z (the node counter rewritten with its value) so that the new
//!   engine's `last_seq` is Z; then it is flushed.
//! * Z older than that: the wal is replayed from its first record through
//!   `warren_tree::apply_txn` on a bootstrapped engine (with the source's session secret),
//!   up to Z. This needs the wal to reach back to zxid 1.
//!
//! The new dir gets an empty wal: the server starts at Z and logs from Z + 1.

use std::io::Write;
use std::path::{Path, PathBuf};

use warren_engine::{Engine, ReadSeq, WriteBatch};
use warren_tree::{meta_key, SESSION_SECRET};

use warren_datadir::{open_engine, DataDir, WalRecords};

use crate::datadir::TreeAt;
use crate::error::ToolError;

/// Keys (or txns) per bootstrap batch, and a byte bound on a batch.
const BATCH_KEYS: usize = 4096;
const BATCH_BYTES: usize = 8 << 20;

/// How `replay` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayOptions {
    /// The source data dir.
    pub data_dir: PathBuf,
    /// Its dataLogDir, when the wal is elsewhere.
    pub log_dir: Option<PathBuf>,
    /// The zxid whose state to rebuild.
    pub to_zxid: u64,
    /// The new data dir (must not exist, or be empty).
    pub out: PathBuf,
    /// How many txns of history the source engine keeps.
    pub retention_txns: u64,
}

/// How the state was rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayMethod {
    /// Copied from the engine's versions at Z; the number of keys.
    Mvcc { keys: u64 },
    /// Replayed from the wal; the number of txns.
    Wal { txns: u64 },
}

/// Creates `out` as an empty directory.
///
/// # Errors
/// [`ToolError::Usage`] when it exists and is not empty; I/O errors.
pub fn create_empty_dir(out: &Path) -> Result<(), ToolError> {
    if out.exists() {
        let empty = std::fs::read_dir(out)
            .map_err(|e| ToolError::io(out, e))?
            .next()
            .is_none();
        if !empty {
            return Err(ToolError::Usage(format!(
                "{}: already exists and is not empty; not overwriting it",
                out.display()
            )));
        }
    }
    std::fs::create_dir_all(out).map_err(|e| ToolError::io(out, e))
}

/// Writes an empty wal dir under the data dir `out`.
///
/// # Errors
/// [`ToolError::Wal`].
pub fn empty_wal(out: &Path) -> Result<(), ToolError> {
    let wal = warren_wal::Wal::open(&out.join("wal"), warren_wal::WalOptions::default())?;
    wal.sync()?;
    Ok(())
}

/// Ends a rebuilt engine at `zxid`: when nothing was written at it, the node counter is
/// written again with its value at seq `zxid`; then everything is flushed.
///
/// # Errors
/// [`ToolError::Engine`].
pub fn finish_engine(engine: &Engine, dir: &Path, zxid: u64) -> Result<(), ToolError> {
    if zxid > engine.last_seq() {
        let k = meta_key(warren_tree::NODE_COUNT);
        let v = engine
            .get(&k, ReadSeq::Latest)
            .map_err(|e| ToolError::engine(dir, e))?
            .unwrap_or_else(|| 0i64.to_le_bytes().to_vec());
        let mut b = WriteBatch::default();
        b.put(k, v);
        engine
            .write(zxid, b)
            .map_err(|e| ToolError::engine(dir, e))?;
    }
    engine.flush().map_err(|e| ToolError::engine(dir, e))
}

/// Rebuilds the state at `opts.to_zxid` into `opts.out`, reporting on `out`.
///
/// # Errors
/// [`ToolError::TooNew`] for a zxid beyond the data dir; [`ToolError::Usage`] when the
/// wal does not reach back far enough for a zxid outside retention, or `out` is in use;
/// engine, wal and decode errors naming file and offset.
pub fn replay(opts: &ReplayOptions, out: &mut dyn Write) -> Result<ReplayMethod, ToolError> {
    let dd = DataDir::locate(&opts.data_dir, opts.log_dir.as_deref())?;
    let src = dd.open_read(opts.retention_txns)?;
    let z = opts.to_zxid;
    let last = src.last_seq();
    if z > last {
        return Err(ToolError::TooNew { requested: z, last });
    }
    create_empty_dir(&opts.out)?;
    let edir = opts.out.join("engine");
    let dst = open_engine(&edir, 0)?;
    let bar = indicatif::ProgressBar::new_spinner();
    let method = if z >= src.oldest_readable_seq() {
        copy_from_mvcc(&src, &dd.engine_dir, &dst, &edir, z, &bar)?
    } else {
        replay_from_wal(&src, &dd, &dst, &edir, z, &bar)?
    };
    finish(dst, &edir, &bar, opts, method, out)
}

/// Z within retention: every key as the source engine holds it at Z is copied into `dst`
/// with seq-0 writes, in batches bounded in keys and bytes.
fn copy_from_mvcc(
    src: &Engine,
    src_dir: &Path,
    dst: &Engine,
    edir: &Path,
    z: u64,
    bar: &indicatif::ProgressBar,
) -> Result<ReplayMethod, ToolError> {
    let t = TreeAt::new(src, src_dir, Some(z))?;
    let mut keys = 0u64;
    let mut batch = WriteBatch::default();
    let mut bytes = 0usize;
    for kv in src
        .scan(.., ReadSeq::At(t.zxid))
        .map_err(|e| ToolError::engine(src_dir, e))?
    {
        let (k, v) = kv.map_err(|e| ToolError::engine(src_dir, e))?;
        bytes += k.len() + v.len();
        batch.put(k, v);
        keys += 1;
        if batch.len() >= BATCH_KEYS || bytes >= BATCH_BYTES {
            dst.write(0, std::mem::take(&mut batch))
                .map_err(|e| ToolError::engine(edir, e))?;
            bytes = 0;
            bar.set_message(format!("{keys} keys copied"));
            bar.tick();
        }
    }
    if !batch.is_empty() {
        dst.write(0, batch)
            .map_err(|e| ToolError::engine(edir, e))?;
    }
    Ok(ReplayMethod::Mvcc { keys })
}

/// Z older than retention: the wal is replayed into a bootstrapped `dst` from zxid 1 up
/// to Z, which needs a wal that still starts at zxid 1.
fn replay_from_wal(
    src: &Engine,
    dd: &DataDir,
    dst: &Engine,
    edir: &Path,
    z: u64,
    bar: &indicatif::ProgressBar,
) -> Result<ReplayMethod, ToolError> {
    let mut records = WalRecords::open(&dd.wal_dir)?.peekable();
    let first = match records.peek() {
        Some(Ok(r)) => Some(r.record.seq),
        _ => None,
    };
    if first != Some(1) {
        return Err(ToolError::Usage(format!(
            "zxid {z:#x} is older than the oldest readable zxid {:#x} of {}, and the wal in {} {}: \
             the state at that zxid cannot be rebuilt",
            src.oldest_readable_seq(),
            dd.engine_dir.display(),
            dd.wal_dir.display(),
            match first {
                Some(f) => format!("starts at zxid {f:#x}, not 0x1 (older segments were purged)"),
                None => "holds no readable record".to_owned(),
            }
        )));
    }
    warren_tree::bootstrap(dst).map_err(|e| ToolError::tree(edir, e))?;
    copy_session_secret(src, &dd.engine_dir, dst, edir)?;
    let mut read = 0u64;
    let records = records.inspect(|_| {
        read += 1;
        if read.is_multiple_of(1024) {
            bar.set_message(format!("{read} txns replayed"));
            bar.tick();
        }
    });
    let replayed = warren_datadir::replay(dst, &dd.wal_dir, records, Some(z))?;
    Ok(ReplayMethod::Wal {
        txns: replayed.txns,
    })
}

/// Keeps the source's session secret (over the one `bootstrap` made), so session
/// passwords stay valid.
fn copy_session_secret(
    src: &Engine,
    src_dir: &Path,
    dst: &Engine,
    edir: &Path,
) -> Result<(), ToolError> {
    if let Some(secret) = src
        .get(&meta_key(SESSION_SECRET), ReadSeq::Latest)
        .map_err(|e| ToolError::engine(src_dir, e))?
    {
        let mut b = WriteBatch::default();
        b.put(meta_key(SESSION_SECRET), secret);
        dst.write(0, b).map_err(|e| ToolError::engine(edir, e))?;
    }
    Ok(())
}

/// Ends the new engine at Z, closes it, gives the new data dir its empty wal and reports
/// how the state was rebuilt.
fn finish(
    dst: Engine,
    edir: &Path,
    bar: &indicatif::ProgressBar,
    opts: &ReplayOptions,
    method: ReplayMethod,
    out: &mut dyn Write,
) -> Result<ReplayMethod, ToolError> {
    let z = opts.to_zxid;
    finish_engine(&dst, edir, z)?;
    bar.finish_and_clear();
    dst.close().map_err(|e| ToolError::engine(edir, e))?;
    empty_wal(&opts.out)?;
    let how = match method {
        ReplayMethod::Mvcc { keys } => {
            format!("copied {keys} keys from the engine's versions at zxid {z:#x}")
        }
        ReplayMethod::Wal { txns } => {
            format!("replayed {txns} txns from the wal up to zxid {z:#x}")
        }
    };
    writeln!(
        out,
        "{}: {how}; the new data dir ends at zxid {z:#x}",
        opts.out.display()
    )
    .map_err(ToolError::Output)?;
    Ok(method)
}

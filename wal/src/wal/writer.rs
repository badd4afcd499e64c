//! The writer thread: the only code that writes records, and the group commit itself.
//!
//! Each round takes the whole queue, writes it (one write per segment it touches), and
//! fdatasyncs once if the fsync policy asks for it; then it publishes how far it got,
//! which completes every ticket of the round at once. Under `EveryMillis` the thread also
//! wakes on its own to sync writes that no further append would flush.
//!
//! Rotation syncs the segment being left before the first write to the next one: the
//! round's final fsync covers only the new segment, and a ticket completing must mean
//! that every lower seq is durable too.
//!
//! The first error ends the thread. It is published as the log's failure (see
//! `progress`), so nothing written after it is ever acknowledged.

use std::io;
use std::mem;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::files::Files;
use super::options::FsyncPolicy;
use super::progress::Failure;
use super::queue::{Chunk, Queue};
use super::shared::{lock, wait, Shared};
use crate::io::{create_segment, IoBackend};

/// Starts the writer thread over `shared`, writing through `io`.
pub(super) fn spawn(shared: Arc<Shared>, io: IoBackend) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("wal-writer".into())
        .spawn(move || writer_main(shared, io))
}

/// What the writer took from the queue for one round.
struct Round {
    chunks: Vec<Chunk>,
    sync_requested: bool,
    shutdown: bool,
}

/// The writer thread: take the whole queue, write it, fsync once, publish.
fn writer_main(sh: Arc<Shared>, mut io: IoBackend) {
    let mut last_sync = Instant::now();
    let mut dirty = false;
    let mut recycled: Vec<Vec<u8>> = Vec::new();
    loop {
        let round = take_round(&sh, &mut recycled, dirty, last_sync);
        let want_sync = wants_sync(sh.opts.fsync, &round, last_sync);
        match write_round(&sh, &mut io, &round.chunks, want_sync) {
            Ok(synced) => {
                let written = round.chunks.last().map(|c| c.last_seq);
                if written.is_some() {
                    dirty = true;
                }
                let durable = if synced {
                    dirty = false;
                    last_sync = Instant::now();
                    Some(lock(&sh.progress).written_seq.max(written.unwrap_or(0)))
                } else {
                    None
                };
                sh.publish(written, durable, None);
            }
            Err(f) => {
                tracing::error!(op = f.op, path = %f.path.display(), error = %f.source,
                    "wal: write failed; the log stops accepting appends");
                sh.publish(None, None, Some(f));
                return;
            }
        }
        recycled.extend(round.chunks.into_iter().map(|c| c.buf));
        if round.shutdown && lock(&sh.queue).chunks.is_empty() {
            return;
        }
    }
}

/// Hands the last round's buffers back, sleeps until there is work, and takes it all.
/// `dirty` and `last_sync` say whether an `EveryMillis` sync may fall due meanwhile.
fn take_round(sh: &Shared, recycled: &mut Vec<Vec<u8>>, dirty: bool, last_sync: Instant) -> Round {
    let mut q = lock(&sh.queue);
    q.recycle(recycled);
    let mut q = wait_for_work(sh, q, dirty, last_sync);
    Round {
        chunks: mem::take(&mut q.chunks),
        sync_requested: mem::take(&mut q.sync_requested),
        shutdown: q.shutdown,
    }
}

/// Sleeps on the queue until it holds records, a sync or shutdown is asked for, or (with
/// unsynced writes under `EveryMillis`) the sync deadline passes.
fn wait_for_work<'a>(
    sh: &'a Shared,
    mut q: MutexGuard<'a, Queue>,
    dirty: bool,
    last_sync: Instant,
) -> MutexGuard<'a, Queue> {
    loop {
        if !q.chunks.is_empty() || q.sync_requested || q.shutdown {
            return q;
        }
        match sh.opts.fsync {
            FsyncPolicy::EveryMillis(ms) if dirty => {
                let deadline = last_sync + Duration::from_millis(ms);
                let now = Instant::now();
                if now >= deadline {
                    return q;
                }
                q = sh
                    .writer_cv
                    .wait_timeout(q, deadline - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            _ => q = wait(&sh.writer_cv, q),
        }
    }
}

/// Whether this round ends with an fdatasync.
fn wants_sync(policy: FsyncPolicy, round: &Round, last_sync: Instant) -> bool {
    let asked = round.sync_requested || round.shutdown;
    match policy {
        FsyncPolicy::Always => true,
        FsyncPolicy::EveryMillis(ms) => asked || last_sync.elapsed() >= Duration::from_millis(ms),
        FsyncPolicy::Never => asked,
    }
}

/// Writes the chunks and, if asked, fdatasyncs. Returns whether the active segment is
/// now clean (everything written so far is durable).
fn write_round(
    sh: &Shared,
    io: &mut IoBackend,
    chunks: &[Chunk],
    want_sync: bool,
) -> Result<bool, Failure> {
    let mut files = lock(&sh.files);
    let n = chunks.len();
    for (i, chunk) in chunks.iter().enumerate() {
        if let Some(first_seq) = chunk.new_segment {
            // The segment being left must be durable before records after it are
            // acknowledged: the final fsync below only covers the new one.
            sync_active(sh, io, &mut files)?;
            start_segment(sh, &mut files, first_seq)?;
        }
        write_chunk(sh, io, &mut files, chunk, want_sync && i + 1 == n)?;
    }
    if !want_sync {
        return Ok(files.active.as_ref().is_none_or(|a| !a.dirty));
    }
    sync_active(sh, io, &mut files)?;
    Ok(true)
}

/// fdatasyncs the active segment if it has writes not yet synced.
fn sync_active(sh: &Shared, io: &mut IoBackend, files: &mut Files) -> Result<(), Failure> {
    let Files { segs, active } = files;
    let Some(a) = active.as_mut().filter(|a| a.dirty) else {
        return Ok(());
    };
    let t = Instant::now();
    io.datasync(&a.file).map_err(|e| {
        let path = segs.last().map(|s| s.path.clone()).unwrap_or_default();
        Failure::new("fsync", path, e)
    })?;
    sh.counters.count_fsync(t);
    a.dirty = false;
    Ok(())
}

/// Creates segment `first_seq` and makes it the active one.
fn start_segment(sh: &Shared, files: &mut Files, first_seq: u64) -> Result<(), Failure> {
    let prealloc = sh.opts.preallocate.then_some(sh.opts.segment_bytes);
    let (file, path) = create_segment(&sh.dir, first_seq, prealloc)
        .map_err(|e| Failure::from_error(e, &sh.dir))?;
    sh.counters.segments_created.fetch_add(1, Ordering::Relaxed);
    files.start_segment(first_seq, path, file);
    Ok(())
}

/// Writes one chunk at the end of the active segment, with its fdatasync if `sync_now`.
fn write_chunk(
    sh: &Shared,
    io: &mut IoBackend,
    files: &mut Files,
    chunk: &Chunk,
    sync_now: bool,
) -> Result<(), Failure> {
    let Files { segs, active } = files;
    let a = active
        .as_mut()
        .ok_or_else(|| Failure::missing_active(&sh.dir))?;
    let seg = segs
        .last_mut()
        .ok_or_else(|| Failure::missing_active(&sh.dir))?;
    let t = Instant::now();
    io.write_at(&a.file, &chunk.buf, a.pos, sync_now)
        .map_err(|(op, e)| Failure::new(op, seg.path.clone(), e))?;
    sh.counters.writes.fetch_add(1, Ordering::Relaxed);
    a.pos += chunk.buf.len() as u64;
    seg.used = a.pos;
    seg.last_seq = Some(chunk.last_seq);
    if sync_now {
        sh.counters.count_fsync(t);
        a.dirty = false;
    } else {
        a.dirty = true;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs::File;

    use crate::error::WalError;
    use crate::wal::shared::lock;
    use crate::wal::{Wal, WalOptions};

    #[test]
    fn failed_write_fails_waiters_and_later_appends() {
        let tmp = tempfile::tempdir().unwrap();
        let wal = Wal::open(tmp.path(), WalOptions::default()).unwrap();
        wal.append(1, b"ok").unwrap().wait().unwrap();
        {
            // Swap the active segment's handle for a read-only one: the next pwrite
            // fails with EBADF, as a dying disk would fail it.
            let mut files = lock(&wal.sh().files);
            let path = files.segs.last().unwrap().path.clone();
            files.active.as_mut().unwrap().file = File::open(path).unwrap();
        }
        let err = wal.append(2, b"lost").unwrap().wait().unwrap_err();
        assert!(matches!(err, WalError::Failed { op: "write", .. }), "{err}");
        assert!(matches!(wal.append(3, b"x"), Err(WalError::Failed { .. })));
        assert!(wal.sync().is_err());
        assert_eq!(wal.durable_seq(), 1);
        drop(wal);
        // Reopening recovers what was durable.
        let wal = Wal::open(tmp.path(), WalOptions::default()).unwrap();
        assert_eq!(wal.last_seq(), 1);
    }
}

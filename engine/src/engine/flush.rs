//! Flush: how writes leave memory.
//!
//! A full memtable is *frozen* (moved, whole, to the queue of immutable memtables in the
//! published [`SuperVersion`], with a fresh active memtable in
//! its place), so writers never wait for disk. One background thread takes the oldest
//! frozen memtable, writes it to a new L0 SSTable, and installs that table together with
//! `persisted_seq = memtable.max_seq()` in one manifest edit: after a crash the manifest
//! names exactly the tables whose writes are durable, and the server replays its log from
//! `persisted_seq + 1`. Only then does the memtable leave the queue, in the same swap that
//! makes its table visible.
//!
//! An empty memtable is "flushed" too (no table, only the edit), so that
//! [`Engine::flush`](super::Engine::flush) after writes of empty batches still moves
//! `persisted_seq` up to `last_seq`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::inner::{Inner, SuperVersion};
use crate::error::{EngineError, Result};
use crate::manifest::VersionEdit;
use crate::memtable::Memtable;
use crate::stats::StatsCounters;
use crate::version::TableFile;

impl Inner {
    /// Makes the active memtable immutable and queues it for flush.
    pub(super) fn freeze(&self) {
        self.swap_super_version(|cur| {
            let mut imms = cur.imms.clone();
            imms.push(cur.mem.clone());
            SuperVersion {
                mem: Arc::new(Memtable::new(cur.mem.max_seq())),
                imms,
                version: cur.version.clone(),
            }
        });
        self.notify_background();
    }

    /// Freezes whatever the active memtable holds (if anything is not yet persisted) and
    /// returns the sequence number that must become persisted.
    pub(super) fn freeze_for_flush(&self) -> Result<u64> {
        let _w = self.write_lock.lock();
        let sv = self.current();
        let target = sv.mem.max_seq();
        if !sv.mem.is_empty() || target > self.persisted_seq.load(Ordering::Acquire) {
            self.wait_for_room(true)?;
            self.freeze();
        }
        Ok(target)
    }

    /// Waits until `persisted_seq >= target` and no frozen memtable is left.
    pub(super) fn wait_until_persisted(&self, target: u64) -> Result<()> {
        let mut g = self.bg.lock();
        loop {
            if let Some(e) = g.failure() {
                return Err(e);
            }
            if self.persisted_seq.load(Ordering::Acquire) >= target
                && self.current().imms.is_empty()
            {
                return Ok(());
            }
            if g.shutdown {
                return Err(EngineError::Closed);
            }
            self.bg_cv.wait_for(&mut g, Duration::from_millis(100));
        }
    }

    /// Writes `imm` to a new L0 table and records it with `persisted_seq = imm.max_seq()`
    /// in one manifest edit.
    fn flush_memtable(&self, imm: &Arc<Memtable>) -> Result<()> {
        StatsCounters::add(&self.stats.flushes_running, 1);
        let r = self.flush_memtable_inner(imm);
        self.stats.flushes_running.fetch_sub(1, Ordering::Relaxed);
        r
    }

    fn flush_memtable_inner(&self, imm: &Arc<Memtable>) -> Result<()> {
        let max_seq = imm.max_seq();
        let mut edit = VersionEdit {
            persisted_seq: Some(max_seq),
            ..Default::default()
        };
        let mut added = Vec::new();
        if !imm.is_empty() {
            let f = self.write_l0_table(imm)?;
            StatsCounters::add(&self.stats.flush_bytes_written, f.meta.props.size);
            edit.added.push((0, f.meta.clone()));
            added.push((0, f));
        }
        self.install_with(edit, &added, Some(imm))?;
        self.persisted_seq.fetch_max(max_seq, Ordering::AcqRel);
        StatsCounters::add(&self.stats.flushes, 1);
        Ok(())
    }

    /// Writes every entry of `imm` to a new table file, makes the file's name durable and
    /// opens it. A table that could not be written completely is removed again.
    fn write_l0_table(&self, imm: &Memtable) -> Result<Arc<TableFile>> {
        let id = self.new_file_id();
        let path = self.table_path(id);
        let built = (|| {
            let mut b = self.create_table(&path)?;
            imm.for_each(|k, v| b.add(k, v))?;
            b.finish()
        })();
        let props = match built {
            Ok(m) => m,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
        };
        self.sync_dir()?;
        self.open_new_table(id, &path, props)
    }

    /// The oldest frozen memtable, once there is one; `None` when the engine shuts down or
    /// has failed.
    fn next_to_flush(&self) -> Option<Arc<Memtable>> {
        let mut g = self.bg.lock();
        loop {
            if g.shutdown || g.error.is_some() {
                return None;
            }
            if let Some(m) = self.current().imms.first().cloned() {
                return Some(m);
            }
            self.bg_cv.wait(&mut g);
        }
    }
}

/// Body of the flush thread: flushes frozen memtables oldest first until shutdown or the
/// first failure.
pub(super) fn flush_loop(inner: Arc<Inner>) {
    while let Some(imm) = inner.next_to_flush() {
        if let Err(e) = inner.flush_memtable(&imm) {
            inner.fail("flush", &e);
            return;
        }
        inner.notify_background();
    }
}

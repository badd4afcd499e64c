//! Cutting the merged stream of a compaction into output tables.
//!
//! A new table is started once the current one reaches `target_file_bytes` (by the larger
//! of its compressed and uncompressed size, so the index of very compressible data stays
//! small enough for the block cache), but never between two versions of one user key:
//! levels below L0 rely on no user key spanning two files. Files written by a compaction
//! that fails are removed again, so a failure leaves only tables the manifest names.

use std::sync::Arc;

use crate::engine::Inner;
use crate::error::Result;
use crate::key;
use crate::sstable::TableBuilder;
use crate::version::TableFile;

/// The output tables of one compaction: the finished ones and the one being written.
pub(super) struct Outputs<'a> {
    inner: &'a Inner,
    level: usize,
    pub(super) done: Vec<(usize, Arc<TableFile>)>,
    building: Option<(u64, TableBuilder)>,
    /// User key of the last entry written, so that no user key is split across files.
    last_written: Vec<u8>,
}

impl<'a> Outputs<'a> {
    pub(super) fn new(inner: &'a Inner, level: usize) -> Self {
        Outputs {
            inner,
            level,
            done: Vec::new(),
            building: None,
            last_written: Vec::new(),
        }
    }

    /// Appends one entry, first finishing the current file when it has reached the
    /// target size and `k` starts a new user key.
    pub(super) fn add(&mut self, k: &[u8], value: &[u8]) -> Result<()> {
        let user = key::user_key(k);
        let cut = match &self.building {
            Some((_, b)) => {
                b.estimated_size().max(b.raw_size()) >= self.inner.opts.target_file_bytes
                    && user != self.last_written.as_slice()
            }
            None => false,
        };
        if cut {
            self.finish_current()?;
        }
        if self.building.is_none() {
            let id = self.inner.new_file_id();
            let b = self.inner.create_table(&self.inner.table_path(id))?;
            self.building = Some((id, b));
        }
        if let Some((_, b)) = self.building.as_mut() {
            b.add(k, value)?;
        }
        self.last_written.clear();
        self.last_written.extend_from_slice(user);
        Ok(())
    }

    /// Finishes and opens the file being written, if any.
    pub(super) fn finish_current(&mut self) -> Result<()> {
        if let Some((id, b)) = self.building.take() {
            let path = b.path().to_path_buf();
            let props = b.finish()?;
            let f = self.inner.open_new_table(id, &path, props)?;
            self.done.push((self.level, f));
        }
        Ok(())
    }

    /// Removes every file this compaction wrote, after a failure.
    pub(super) fn abandon(&mut self) {
        if let Some((_, b)) = self.building.take() {
            let _ = std::fs::remove_file(b.path());
        }
        for (_, f) in &self.done {
            let _ = std::fs::remove_file(f.table.path());
        }
    }
}

//! fjall under the same durability contract as Warren: a txn is acknowledged only once
//! an fdatasync of the journal covers it, with group commit.
//!
//! fjall has no group commit of its own (`WriteBatch::durability(SyncData)` fsyncs under
//! the journal lock, one batch per fsync). So the database is opened with manual journal
//! persist: the writer thread commits each batch to the journal buffer, and an acker
//! thread, for the oldest unacknowledged batch, calls `persist(SyncData)` — which writes
//! and syncs every batch committed before it — then acknowledges all of them. Up to
//! `clients` batches are in flight, as for Warren. Memory budget as Warren's defaults:
//! 64 MiB memtable, 64 MiB block cache; block size 4 KiB and compression (lz4) are
//! fjall's defaults.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::Instant;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use super::{wait_quiet, Store, WritePlan};
use crate::error::BenchError;
use crate::measure::{drop_os_cache, Latencies};

const KEYSPACE: &str = "bench";
const CACHE_BYTES: u64 = 64 << 20;
const MEMTABLE_BYTES: u64 = 64 << 20;

pub(crate) struct FjallStore {
    dir: PathBuf,
    db: Option<Database>,
    ks: Option<Keyspace>,
    closed_blocks_read: u64,
    fsyncs: u64,
    write_details: serde_json::Value,
}

fn open_db(dir: &Path) -> Result<(Database, Keyspace), BenchError> {
    let db = Database::builder(dir)
        .cache_size(CACHE_BYTES)
        .manual_journal_persist(true)
        .open()?;
    let ks = db.keyspace(KEYSPACE, || {
        KeyspaceCreateOptions::default().max_memtable_size(MEMTABLE_BYTES)
    })?;
    Ok((db, ks))
}

impl FjallStore {
    pub(crate) fn open(dir: &Path) -> Result<Self, BenchError> {
        let (db, ks) = open_db(dir)?;
        Ok(FjallStore {
            dir: dir.to_path_buf(),
            db: Some(db),
            ks: Some(ks),
            closed_blocks_read: 0,
            fsyncs: 0,
            write_details: serde_json::Value::Null,
        })
    }

    fn parts(&self) -> Result<(&Database, &Keyspace), BenchError> {
        match (&self.db, &self.ks) {
            (Some(d), Some(k)) => Ok((d, k)),
            _ => Err(BenchError::Fjall(fjall::Error::Poisoned)),
        }
    }

    fn wait_idle(&self) -> Result<(), BenchError> {
        let (db, ks) = self.parts()?;
        wait_quiet(
            || db.outstanding_flushes() > 0 || db.active_compactions() > 0,
            || db.compactions_completed() as u64 + ks.table_count() as u64,
        )
    }
}

impl Store for FjallStore {
    fn write_phase(&mut self, plan: &WritePlan) -> Result<Latencies, BenchError> {
        let (db, ks) = self.parts()?;
        let (db, ks) = (db.clone(), ks.clone());
        let txns = plan.txns();
        let committed = Arc::new(AtomicU64::new(0));
        let (tx, rx) = sync_channel::<(u64, Instant)>(plan.clients);
        let acker = {
            let (db, committed) = (db.clone(), committed.clone());
            std::thread::Builder::new()
                .name("bench-fjall-acker".into())
                .spawn(move || -> Result<(Latencies, u64), BenchError> {
                    let mut lat = Latencies::with_capacity(txns as usize);
                    let (mut synced, mut fsyncs) = (0u64, 0u64);
                    for (seq, start) in rx {
                        if seq > synced {
                            // Everything committed before this call is in the journal
                            // buffer, so this persist makes all of it durable.
                            let target = committed.load(Ordering::Acquire);
                            db.persist(PersistMode::SyncData)?;
                            fsyncs += 1;
                            synced = target;
                        }
                        lat.record(start.elapsed());
                    }
                    Ok((lat, fsyncs))
                })
                .map_err(|e| BenchError::io("bench-fjall-acker thread", e))?
        };
        let mut value = Vec::new();
        let mut write_err = None;
        for t in 0..txns {
            let start = Instant::now();
            let mut batch = db.batch().durability(None);
            plan.for_each_op(t, &mut value, |k, v| batch.insert(&ks, k, v));
            if let Err(e) = batch.commit() {
                write_err = Some(e);
                break;
            }
            let seq = t + 1;
            committed.store(seq, Ordering::Release);
            if tx.send((seq, start)).is_err() {
                break;
            }
        }
        drop(tx);
        let (lat, fsyncs) = acker
            .join()
            .map_err(|_| BenchError::Panic("fjall acker".into()))??;
        self.fsyncs += fsyncs;
        if let Some(e) = write_err {
            return Err(e.into());
        }
        Ok(lat)
    }

    fn settle(&mut self) -> Result<(), BenchError> {
        {
            let (db, ks) = self.parts()?;
            db.persist(PersistMode::SyncData)?;
            ks.rotate_memtable_and_wait()?;
        }
        self.wait_idle()
    }

    fn counter_bytes_written(&self) -> Option<u64> {
        None
    }

    fn full_scan(&mut self) -> Result<u64, BenchError> {
        let (_, ks) = self.parts()?;
        let mut n = 0;
        for g in ks.iter() {
            g.into_inner()?;
            n += 1;
        }
        Ok(n)
    }

    fn range_scan(&mut self, start: &[u8], n: usize) -> Result<usize, BenchError> {
        let (_, ks) = self.parts()?;
        let mut got = 0;
        for g in ks.range(start.to_vec()..).take(n) {
            g.into_inner()?;
            got += 1;
        }
        Ok(got)
    }

    fn compact(&mut self) -> Result<(), BenchError> {
        {
            let (db, ks) = self.parts()?;
            let tables_before = ks.table_count();
            let l0_before = ks.l0_table_count();
            ks.rotate_memtable_and_wait()?;
            ks.major_compact()?;
            db.persist(PersistMode::SyncAll)?;
            self.write_details = serde_json::json!({
                "tables_before_major": tables_before,
                "l0_tables_before_major": l0_before,
                "compactions_completed": db.compactions_completed(),
                "journal_count": db.journal_count(),
                "journal_fsyncs": self.fsyncs,
            });
        }
        self.wait_idle()
    }

    fn reopen_cold(&mut self) -> Result<(), BenchError> {
        if let Some(ks) = self.ks.take() {
            self.closed_blocks_read += ks.metrics().block_load_io_count() as u64;
        }
        // Dropping the last handle stops and joins fjall's worker threads.
        self.db.take();
        drop_os_cache(&self.dir)?;
        let (db, ks) = open_db(&self.dir)?;
        self.db = Some(db);
        self.ks = Some(ks);
        Ok(())
    }

    fn get_len(&mut self, key: &[u8]) -> Result<Option<usize>, BenchError> {
        let (_, ks) = self.parts()?;
        Ok(ks.get(key)?.map(|v| v.len()))
    }

    fn blocks_read(&self) -> u64 {
        self.closed_blocks_read
            + self
                .ks
                .as_ref()
                .map_or(0, |k| k.metrics().block_load_io_count() as u64)
    }

    fn details(&self) -> serde_json::Value {
        let Ok((db, ks)) = self.parts() else {
            return serde_json::Value::Null;
        };
        let m = ks.metrics();
        serde_json::json!({
            "write_side": self.write_details,
            "tables": ks.table_count(),
            "since_reopen": {
                "data_block_loads_io": m.data_block_load_count() - m.data_block_load_cached_count(),
                "index_block_loads_io": m.index_block_load_count() - m.index_block_load_cached_count(),
                "filter_block_loads_io": m.filter_block_load_count() - m.filter_block_load_cached_count(),
                "block_loads_cached": m.block_load_cached_count(),
                "io_skipped_by_filter": m.io_skipped_by_filter(),
            },
            "journal_count": db.journal_count(),
        })
    }

    fn close(mut self: Box<Self>) -> Result<(), BenchError> {
        self.ks.take();
        self.db.take();
        Ok(())
    }
}

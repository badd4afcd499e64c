//! Warren under the server's write path: WAL append (group commit), then engine batch.
//!
//! The pipeline mirrors `server::pipeline`: one thread assigns seqs and appends records
//! without waiting (the writer), another waits for each ticket in seq order and applies
//! the batch to the engine (the applier). A bounded channel between them holds up to
//! `clients` txns, which is what lets one fdatasync cover many txns.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::{Duration, Instant};

use warren_engine::{Engine, EngineOptions, ReadSeq, WriteBatch};
use warren_wal::{AppendTicket, Wal, WalOptions, FRAME_LEN, HEADER_LEN};

use super::{wait_quiet, Store, WritePlan};
use crate::error::BenchError;
use crate::measure::{drop_os_cache, Latencies};

pub(crate) struct WarrenStore {
    engine_dir: PathBuf,
    opts: EngineOptions,
    engine: Option<Engine>,
    wal: Wal,
    seq: u64,
    /// Counters of engines closed by `reopen_cold` (the stats restart at open).
    closed_blocks_read: u64,
    /// Write-side counters captured before the cold reopen resets them.
    write_details: serde_json::Value,
}

impl WarrenStore {
    pub(crate) fn open(dir: &Path, wal_segment_bytes: u64) -> Result<Self, BenchError> {
        let engine_dir = dir.join("engine");
        let wal_dir = dir.join("wal");
        for d in [&engine_dir, &wal_dir] {
            std::fs::create_dir_all(d).map_err(|e| BenchError::io(d, e))?;
        }
        let wal = Wal::open(
            &wal_dir,
            WalOptions {
                segment_bytes: wal_segment_bytes,
                ..WalOptions::default()
            },
        )?;
        // The server's defaults: what a deployment gets without tuning.
        let opts = EngineOptions::default();
        let engine = Engine::open(&engine_dir, opts.clone())?;
        Ok(WarrenStore {
            engine_dir,
            opts,
            seq: engine.last_seq().max(wal.last_seq()),
            engine: Some(engine),
            wal,
            closed_blocks_read: 0,
            write_details: serde_json::Value::Null,
        })
    }

    fn engine(&self) -> Result<&Engine, BenchError> {
        self.engine
            .as_ref()
            .ok_or(BenchError::Engine(warren_engine::EngineError::Closed))
    }

    /// Deletes WAL segments the engine has persisted, as the server may.
    fn purge(&self) -> Result<(), BenchError> {
        let p = self.engine()?.persisted_seq();
        self.wal.purge_below(p + 1)?;
        Ok(())
    }
}

/// Appends one op to the record payload: u16 key length, key, u32 value length, value
/// (big-endian). Stands in for the server's jute-encoded txn, which is about as long.
fn encode_op(payload: &mut Vec<u8>, k: &[u8], v: &[u8]) {
    payload.extend_from_slice(&(k.len() as u16).to_be_bytes());
    payload.extend_from_slice(k);
    payload.extend_from_slice(&(v.len() as u32).to_be_bytes());
    payload.extend_from_slice(v);
}

fn join<T>(h: std::thread::JoinHandle<T>) -> Result<T, BenchError> {
    h.join().map_err(|p| {
        BenchError::Panic(
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default(),
        )
    })
}

impl Store for WarrenStore {
    fn write_phase(&mut self, plan: &WritePlan) -> Result<Latencies, BenchError> {
        let engine = self.engine()?.clone();
        let txns = plan.txns();
        let (tx, rx) = sync_channel::<(AppendTicket, WriteBatch, Instant)>(plan.clients);
        let applier = {
            let engine = engine.clone();
            std::thread::Builder::new()
                .name("bench-applier".into())
                .spawn(move || -> Result<Latencies, BenchError> {
                    let mut lat = Latencies::with_capacity(txns as usize);
                    for (ticket, batch, start) in rx {
                        let seq = ticket.seq();
                        ticket.wait()?;
                        engine.write(seq, batch)?;
                        lat.record(start.elapsed());
                    }
                    Ok(lat)
                })
                .map_err(|e| BenchError::io("bench-applier thread", e))?
        };
        let stop = Arc::new(AtomicBool::new(false));
        let purger = {
            let (stop, wal, engine) = (stop.clone(), self.wal.clone(), engine.clone());
            std::thread::Builder::new()
                .name("bench-wal-purge".into())
                .spawn(move || -> Result<(), BenchError> {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(200));
                        wal.purge_below(engine.persisted_seq() + 1)?;
                    }
                    Ok(())
                })
                .map_err(|e| BenchError::io("bench-wal-purge thread", e))?
        };
        let mut payload = Vec::new();
        let mut value = Vec::new();
        let mut write_err = None;
        for t in 0..txns {
            let start = Instant::now();
            let mut batch = WriteBatch::new();
            payload.clear();
            plan.for_each_op(t, &mut value, |k, v| {
                batch.put(k, v);
                encode_op(&mut payload, k, v);
            });
            self.seq += 1;
            match self.wal.append(self.seq, &payload) {
                Ok(ticket) => {
                    // A closed channel means the applier failed: its error is returned below.
                    if tx.send((ticket, batch, start)).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    write_err = Some(e);
                    break;
                }
            }
        }
        drop(tx);
        let lat = join(applier)?;
        stop.store(true, Ordering::Relaxed);
        join(purger)??;
        if let Some(e) = write_err {
            return Err(e.into());
        }
        lat
    }

    fn settle(&mut self) -> Result<(), BenchError> {
        let engine = self.engine()?.clone();
        engine.flush()?;
        let trigger = self.opts.l0_compaction_trigger as u64;
        wait_quiet(
            || {
                let s = engine.stats();
                s.flushes_running > 0
                    || s.compactions_running > 0
                    || s.immutable_memtables > 0
                    || s.levels.first().is_some_and(|l| l.files >= trigger)
            },
            || {
                let s = engine.stats();
                s.compactions + s.flushes + s.compaction_bytes_written
            },
        )?;
        self.purge()
    }

    fn counter_bytes_written(&self) -> Option<u64> {
        let s = self.engine.as_ref()?.stats();
        let w = self.wal.stats();
        let wal_bytes = w.appended_bytes + w.appends * FRAME_LEN + w.segments_created * HEADER_LEN;
        Some(wal_bytes + s.flush_bytes_written + s.compaction_bytes_written)
    }

    fn full_scan(&mut self) -> Result<u64, BenchError> {
        let mut n = 0;
        for item in self.engine()?.scan(.., ReadSeq::Latest)? {
            item?;
            n += 1;
        }
        Ok(n)
    }

    fn range_scan(&mut self, start: &[u8], n: usize) -> Result<usize, BenchError> {
        let range = (
            std::ops::Bound::Included(start.to_vec()),
            std::ops::Bound::Unbounded,
        );
        let mut got = 0;
        for item in self.engine()?.scan(range, ReadSeq::Latest)?.take(n) {
            item?;
            got += 1;
        }
        Ok(got)
    }

    fn compact(&mut self) -> Result<(), BenchError> {
        let before = self.engine()?.stats();
        self.engine()?.compact_all()?;
        let s = self.engine()?.stats();
        self.write_details = serde_json::json!({
            "user_bytes_written": before.user_bytes_written,
            "flushes": before.flushes,
            "flush_bytes_written": before.flush_bytes_written,
            "compactions": before.compactions,
            "trivial_moves": before.trivial_moves,
            "compaction_bytes_written": before.compaction_bytes_written,
            "compaction_bytes_read": before.compaction_bytes_read,
            "write_stalls": before.write_stalls,
            "levels_before_major": before.levels.iter().map(|l| [l.files, l.bytes]).collect::<Vec<_>>(),
            "major_compaction_bytes_written": s.compaction_bytes_written - before.compaction_bytes_written,
        });
        self.purge()
    }

    fn reopen_cold(&mut self) -> Result<(), BenchError> {
        if let Some(e) = self.engine.take() {
            self.closed_blocks_read += e.stats().blocks_read;
            e.close()?;
        }
        drop_os_cache(&self.engine_dir)?;
        self.engine = Some(Engine::open(&self.engine_dir, self.opts.clone())?);
        Ok(())
    }

    fn get_len(&mut self, key: &[u8]) -> Result<Option<usize>, BenchError> {
        Ok(self.engine()?.get(key, ReadSeq::Latest)?.map(|v| v.len()))
    }

    fn blocks_read(&self) -> u64 {
        self.closed_blocks_read + self.engine.as_ref().map_or(0, |e| e.stats().blocks_read)
    }

    fn details(&self) -> serde_json::Value {
        let w = self.wal.stats();
        let Some(e) = self.engine.as_ref() else {
            return serde_json::Value::Null;
        };
        let s = e.stats();
        serde_json::json!({
            "wal_appends": w.appends,
            "wal_fsyncs": w.fsyncs,
            "wal_writes": w.writes,
            "wal_segments_created": w.segments_created,
            "wal_segments_deleted": w.segments_deleted,
            "levels": s.levels.iter().map(|l| [l.files, l.bytes]).collect::<Vec<_>>(),
            "since_reopen": {
                "point_reads": s.point_reads,
                "blocks_read": s.blocks_read,
                "block_bytes_read": s.block_bytes_read,
                "bloom_negatives": s.bloom_negatives,
                "cache_hits": s.cache_hits,
                "cache_misses": s.cache_misses,
            },
            "write_side": self.write_details,
            "live_sst_bytes": s.live_sst_bytes,
            "live_disk_bytes": s.live_disk_bytes,
        })
    }

    fn close(mut self: Box<Self>) -> Result<(), BenchError> {
        if let Some(e) = self.engine.take() {
            e.close()?;
        }
        Ok(())
    }
}

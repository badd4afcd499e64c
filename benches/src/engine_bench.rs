//! `bench engine`: throughput, latency and write/read/space amplification of the storage
//! engine under the server's write path, optionally side by side with `fjall`.
//!
//! # What one run does, per engine (each in a fresh directory, one engine at a time)
//!
//! 1. **Load.** `--keys N` keys (16 bytes: a bijective hash of the key's index, so they
//!    arrive in random key order) with `--value-size B` random, incompressible bytes.
//!    Keys are grouped `--batch K` per txn. Warren: each txn is one WAL record
//!    (`wal.append(seq, payload)`, seq = 1, 2, …, payload = the K keys and values with a
//!    6-byte header each), then once its ticket is durable (fdatasync, group commit) one
//!    `engine.write(seq, batch)` — the server's pipeline: one thread appends, another
//!    waits for durability and applies in seq order, with up to `--clients C` txns in
//!    flight (C closed-loop clients), so one fdatasync covers many txns. A background
//!    thread purges WAL segments at or below the engine's `persisted_seq`, as the server
//!    may. fjall: each txn is one `WriteBatch` committed to its journal (manual journal
//!    persist), and a second thread acknowledges it after a `persist(SyncData)` issued
//!    after its commit: the same group commit, through fjall's public API, with the same
//!    C txns in flight. A txn's latency runs from the start of its append/commit to its
//!    acknowledgement (Warren: applied to the engine; fjall: synced).
//! 2. `overwrite` only: settle (below), then write every key once more in another random
//!    order (a permutation of the indexes); the figures are for this second pass.
//! 3. **Settle.** Flush the memtable and wait until no flush or compaction has run for
//!    ~1 s. The write amplification covers the write phase plus this settling.
//! 4. `scan` only: one full scan (checked to return N entries), then range scans of 100
//!    entries from random existing keys; the figures are for the range scans.
//! 5. **Compact.** A full major compaction, then WAL/journal segments the engine no longer
//!    needs are purged; space amplification is measured here.
//! 6. **Cold reads.** Close the engine, write back and evict its files from the OS page
//!    cache, reopen it (empty block cache), and read random existing keys (N for
//!    `readrandom`, else `min(N, 100000)`, or `--reads`), one thread. Every read must
//!    find its value.
//!
//! # Figures
//!
//! * `ops_per_s`, `p50_us`, `p99_us`: of the workload's own phase: keys written per
//!   second and per-txn latency (fill, overwrite), point reads (readrandom), 100-entry
//!   range scans (scan).
//! * `write_amp`: disk bytes written during load + settle ÷ user bytes (key + value) of
//!   that phase. Disk bytes come from `/proc/self/io` (`write_bytes - cancelled_write_bytes`,
//!   all threads), the same ruler for both engines; it counts WAL/journal, SSTables,
//!   manifests, and a WAL page re-dirtied after each fdatasync. For Warren the engine's
//!   own counters give `write_amp_counters` (WAL record bytes + flush + compaction bytes).
//! * `read_amp`: blocks fetched from the file (block-cache misses: data, index and filter
//!   blocks) per point read in step 6. `disk_read_bytes_per_read` is the kernel's view.
//! * `space_amp`: bytes of all files in the engine's directories (SSTables, manifest,
//!   WAL/journal, preallocated segment at full size) after step 5 ÷ N × (16 + B).
//! * `disk_bytes`: that numerator.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::BenchError;
use crate::measure::{dir_bytes, Latencies, ProcIo};

mod fjall_store;
mod warren_store;

/// Key length of every benchmark key.
pub const KEY_LEN: usize = 16;

/// Length of one range scan in the `scan` workload.
pub const RANGE_SCAN_LEN: usize = 100;

/// Which workload to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// Insert N keys in random order.
    Fill,
    /// Fill, then overwrite every key once in another random order.
    Overwrite,
    /// Fill, compact, reopen cold, then N random point reads.
    Readrandom,
    /// Fill, then a full scan and 100-entry range scans from random keys.
    Scan,
}

/// The engine to compare against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Versus {
    /// fjall 3 (pure-Rust LSM), journal on, group-committed with `PersistMode::SyncData`.
    Fjall,
}

/// Arguments of `bench engine`.
#[derive(Debug, Clone, clap::Args)]
pub struct EngineBenchArgs {
    /// Which workload to run.
    #[arg(long, value_enum, default_value_t = Workload::Fill)]
    pub workload: Workload,
    /// Number of distinct keys.
    #[arg(long, default_value_t = 1_000_000)]
    pub keys: u64,
    /// Bytes of each value (keys are 16 bytes).
    #[arg(long, default_value_t = 256)]
    pub value_size: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Run the same workload on another engine too and print the ratios.
    #[arg(long, value_enum)]
    pub vs: Option<Versus>,
    /// Parent directory for the data directories (default: the system temp dir). Each
    /// engine's data is deleted after its run unless `--keep`.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Keys per txn (per WAL record and engine batch).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Txns in flight (closed-loop clients sharing group commits).
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Number of cold point reads (default: N for readrandom, min(N, 100000) otherwise;
    /// for scan, also the number of range scans, default min(N, 10000)).
    #[arg(long)]
    pub reads: Option<u64>,
    /// WAL segment size in MiB (the server's default is 64).
    #[arg(long, default_value_t = 64)]
    pub wal_segment_mib: u64,
    /// Keep the data directories after the run.
    #[arg(long)]
    pub keep: bool,
}

impl EngineBenchArgs {
    /// The defaults, as the command line would give them, for `workload` and `keys`.
    pub fn new(workload: Workload, keys: u64) -> Self {
        EngineBenchArgs {
            workload,
            keys,
            value_size: 256,
            json: false,
            vs: None,
            dir: None,
            batch: 1,
            clients: 64,
            reads: None,
            wal_segment_mib: 64,
            keep: false,
        }
    }

    fn validate(&self) -> Result<(), BenchError> {
        let bad = |m: &str| Err(BenchError::InvalidArgs(m.to_string()));
        if self.keys == 0 {
            return bad("--keys must be > 0");
        }
        if self.batch == 0 {
            return bad("--batch must be > 0");
        }
        if self.clients == 0 {
            return bad("--clients must be > 0");
        }
        if self.wal_segment_mib == 0 {
            return bad("--wal-segment-mib must be > 0");
        }
        if self.reads == Some(0) {
            return bad("--reads must be > 0");
        }
        Ok(())
    }

    fn point_reads(&self) -> u64 {
        self.reads.unwrap_or(match self.workload {
            Workload::Readrandom => self.keys,
            _ => self.keys.min(100_000),
        })
    }

    fn range_scans(&self) -> u64 {
        self.reads.unwrap_or(self.keys.min(10_000))
    }
}

/// The figures of one engine.
#[derive(Debug, Clone, Serialize)]
pub struct EngineFigures {
    /// "warren" or "fjall".
    pub engine: String,
    /// Operations per second of the workload's phase (see the module docs).
    pub ops_per_s: f64,
    /// Median latency of one operation (txn, read or range scan), microseconds.
    pub p50_us: f64,
    /// 99th percentile latency, microseconds.
    pub p99_us: f64,
    /// Disk bytes written (from `/proc/self/io`) ÷ user bytes, over write phase + settle.
    pub write_amp: f64,
    /// Warren only: (WAL record bytes + flush + compaction bytes) ÷ user bytes, from the
    /// engine's and WAL's own counters.
    pub write_amp_counters: Option<f64>,
    /// Blocks read from the files per cold point read.
    pub read_amp: f64,
    /// Bytes of all files after compaction ÷ live logical bytes.
    pub space_amp: f64,
    /// Bytes of all files after compaction.
    pub disk_bytes: u64,
    /// N × (16 + value size).
    pub live_logical_bytes: u64,
    /// User bytes (key + value) written in the measured write phase.
    pub user_bytes_written: u64,
    /// Disk bytes written during the measured write phase and settling.
    pub disk_bytes_written: u64,
    /// Keys per second of the initial fill (every workload has one).
    pub fill_ops_per_s: f64,
    /// Seconds spent settling (flush + background compactions) after the write phase.
    pub settle_s: f64,
    /// Seconds of the full major compaction.
    pub compact_s: f64,
    /// Cold point reads done.
    pub reads: u64,
    /// Point reads per second (cold start).
    pub read_ops_per_s: f64,
    /// Median point read latency, microseconds.
    pub read_p50_us: f64,
    /// 99th percentile point read latency, microseconds.
    pub read_p99_us: f64,
    /// Bytes the kernel read from the device per point read.
    pub disk_read_bytes_per_read: f64,
    /// `scan` only: entries per second of one full scan.
    pub full_scan_entries_per_s: Option<f64>,
    /// Engine-specific counters (levels, fsyncs, stalls …).
    pub details: serde_json::Value,
}

/// Warren ÷ other engine, for each headline figure.
#[derive(Debug, Clone, Serialize)]
pub struct Ratios {
    /// Throughput ratio (> 1: Warren is faster).
    pub ops_per_s: f64,
    /// p50 latency ratio (< 1: Warren is faster).
    pub p50_us: f64,
    /// p99 latency ratio.
    pub p99_us: f64,
    /// Write amplification ratio (< 1: Warren writes less).
    pub write_amp: f64,
    /// Read amplification ratio.
    pub read_amp: f64,
    /// Space amplification ratio.
    pub space_amp: f64,
    /// Initial fill throughput ratio.
    pub fill_ops_per_s: f64,
    /// Cold point read throughput ratio.
    pub read_ops_per_s: f64,
}

/// The result of `bench engine`: what was run and the figures of each engine.
#[derive(Debug, Clone, Serialize)]
pub struct EngineBenchReport {
    /// The workload.
    pub workload: Workload,
    /// N.
    pub keys: u64,
    /// Value bytes.
    pub value_size: usize,
    /// Key bytes.
    pub key_size: usize,
    /// Keys per txn.
    pub batch: usize,
    /// Txns in flight.
    pub clients: usize,
    /// How writes were made durable, in words.
    pub method: String,
    /// Warren's figures.
    pub warren: EngineFigures,
    /// The other engine's figures, with `--vs`.
    pub other: Option<EngineFigures>,
    /// Warren ÷ other, with `--vs`.
    pub ratios: Option<Ratios>,
}

impl EngineBenchReport {
    /// One JSON object.
    ///
    /// # Errors
    /// Serialization failure (not expected: every field is plain data).
    pub fn to_json(&self) -> Result<String, BenchError> {
        Ok(serde_json::to_string(self)?)
    }

    /// A table for people.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "bench engine --workload {:?} --keys {} --value-size {} --batch {} --clients {}",
            self.workload, self.keys, self.value_size, self.batch, self.clients
        );
        let _ = writeln!(s, "{}", self.method);
        let w = &self.warren;
        let o = self.other.as_ref();
        let _ = writeln!(
            s,
            "{:<28} {:>14} {:>14} {:>10}",
            "",
            "warren",
            o.map_or("", |o| o.engine.as_str()),
            if o.is_some() { "ratio" } else { "" }
        );
        let row = |s: &mut String, name: &str, f: &dyn Fn(&EngineFigures) -> f64| {
            let a = f(w);
            match o {
                Some(o) => {
                    let b = f(o);
                    let _ = writeln!(s, "{name:<28} {a:>14.3} {b:>14.3} {:>10.3}", ratio(a, b));
                }
                None => {
                    let _ = writeln!(s, "{name:<28} {a:>14.3}");
                }
            }
        };
        row(&mut s, "ops_per_s", &|f| f.ops_per_s);
        row(&mut s, "p50_us", &|f| f.p50_us);
        row(&mut s, "p99_us", &|f| f.p99_us);
        row(&mut s, "write_amp", &|f| f.write_amp);
        row(&mut s, "read_amp", &|f| f.read_amp);
        row(&mut s, "space_amp", &|f| f.space_amp);
        row(&mut s, "disk_bytes", &|f| f.disk_bytes as f64);
        row(&mut s, "fill_ops_per_s", &|f| f.fill_ops_per_s);
        row(&mut s, "read_ops_per_s", &|f| f.read_ops_per_s);
        row(&mut s, "read_p50_us", &|f| f.read_p50_us);
        row(&mut s, "read_p99_us", &|f| f.read_p99_us);
        row(&mut s, "disk_read_bytes_per_read", &|f| {
            f.disk_read_bytes_per_read
        });
        row(&mut s, "settle_s", &|f| f.settle_s);
        row(&mut s, "compact_s", &|f| f.compact_s);
        if let Some(wc) = w.write_amp_counters {
            let _ = writeln!(s, "{:<28} {wc:>14.3}", "write_amp_counters");
        }
        if let Some(fs) = w.full_scan_entries_per_s {
            let _ = writeln!(s, "{:<28} {fs:>14.0}", "full_scan_entries_per_s");
        }
        let _ = writeln!(s, "warren details: {}", w.details);
        if let Some(o) = o {
            let _ = writeln!(s, "{} details: {}", o.engine, o.details);
        }
        s
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        if a == 0.0 {
            1.0
        } else {
            f64::INFINITY
        }
    } else {
        a / b
    }
}

/// A 64-bit mixing function (splitmix64's finalizer after an odd-constant add). It is a
/// bijection on u64, so distinct indexes give distinct keys, in an order unrelated to the
/// index order.
#[inline]
pub fn mix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The key of index `i`: 16 bytes, the first 8 alone unique per index.
#[inline]
pub fn key_of(i: u64) -> [u8; KEY_LEN] {
    let mut k = [0u8; KEY_LEN];
    k[..8].copy_from_slice(&mix64(i).to_be_bytes());
    k[8..].copy_from_slice(&mix64(i ^ 0x5555_5555_5555_5555).to_be_bytes());
    k
}

/// Fills `out` with pseudo-random (incompressible) bytes for index `i` in write round
/// `round`, so an overwrite writes different bytes.
#[inline]
pub fn fill_value(i: u64, round: u64, out: &mut [u8]) {
    let mut s = mix64(i ^ (round << 48) ^ 0xA5A5_0000_0000_0000);
    for chunk in out.chunks_mut(8) {
        s = mix64(s);
        let b = s.to_le_bytes();
        chunk.copy_from_slice(&b[..chunk.len()]);
    }
}

/// One write pass over every key.
#[derive(Debug, Clone)]
pub(crate) struct WritePlan {
    pub keys: u64,
    pub batch: usize,
    pub clients: usize,
    pub value_size: usize,
    pub round: u64,
    /// Index order: `t → t * stride mod keys` (stride coprime to keys), 1 = by index.
    pub stride: u64,
}

impl WritePlan {
    pub fn txns(&self) -> u64 {
        self.keys.div_ceil(self.batch as u64)
    }

    /// Calls `f(key, value)` for each key of txn `t`.
    pub fn for_each_op(&self, t: u64, value: &mut Vec<u8>, mut f: impl FnMut(&[u8], &[u8])) {
        value.resize(self.value_size, 0);
        let start = t * self.batch as u64;
        let end = (start + self.batch as u64).min(self.keys);
        for pos in start..end {
            let idx = ((u128::from(pos) * u128::from(self.stride)) % u128::from(self.keys)) as u64;
            fill_value(idx, self.round, value);
            f(&key_of(idx), value);
        }
    }

    pub fn user_bytes(&self) -> u64 {
        self.keys * (KEY_LEN + self.value_size) as u64
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A stride coprime to `n` that scatters consecutive positions over the key space.
fn permutation_stride(n: u64) -> u64 {
    let mut s = 1_000_000_007u64 % n.max(1);
    if s == 0 {
        s = 1;
    }
    while gcd(s, n) != 1 {
        s += 1;
    }
    s
}

/// What the driver needs from an engine. One implementation per engine, each writing
/// through that engine's durable write path (see the module docs).
pub(crate) trait Store {
    /// Runs one pass of durable writes; returns per-txn latencies.
    fn write_phase(&mut self, plan: &WritePlan) -> Result<Latencies, BenchError>;
    /// Flushes the memtable and waits for background work to stop.
    fn settle(&mut self) -> Result<(), BenchError>;
    /// The engine's own count of bytes written since open (WAL + flush + compaction),
    /// where it has one.
    fn counter_bytes_written(&self) -> Option<u64>;
    /// Scans everything; returns the number of entries.
    fn full_scan(&mut self) -> Result<u64, BenchError>;
    /// Reads up to `n` entries from `start`; returns how many there were.
    fn range_scan(&mut self, start: &[u8], n: usize) -> Result<usize, BenchError>;
    /// Full major compaction, then drops logs the engine no longer needs.
    fn compact(&mut self) -> Result<(), BenchError>;
    /// Closes, evicts the files from the OS page cache and reopens with an empty cache.
    fn reopen_cold(&mut self) -> Result<(), BenchError>;
    /// Length of the value of `key`, if present.
    fn get_len(&mut self, key: &[u8]) -> Result<Option<usize>, BenchError>;
    /// Blocks read from files (block-cache misses) since open.
    fn blocks_read(&self) -> u64;
    /// Engine-specific counters for the report.
    fn details(&self) -> serde_json::Value;
    /// Closes the engine.
    fn close(self: Box<Self>) -> Result<(), BenchError>;
}

/// Waits until `progress()` has not changed and `busy()` has been false for ~1 s.
/// Used after a write phase so write amplification includes the compaction debt.
pub(crate) fn wait_quiet(
    mut busy: impl FnMut() -> bool,
    mut progress: impl FnMut() -> u64,
) -> Result<(), BenchError> {
    let deadline = Instant::now() + Duration::from_secs(3600);
    let mut last = progress();
    let mut quiet = 0;
    while quiet < 4 {
        std::thread::sleep(Duration::from_millis(250));
        let p = progress();
        if busy() || p != last {
            quiet = 0;
        } else {
            quiet += 1;
        }
        last = p;
        if Instant::now() > deadline {
            return Err(BenchError::WrongResult(
                "background work did not settle within an hour".into(),
            ));
        }
    }
    Ok(())
}

/// Runs `bench engine`: Warren, then (with `--vs`) the other engine, each in a fresh
/// directory that is deleted afterwards unless `--keep`.
///
/// # Errors
/// Invalid arguments, I/O, WAL, engine or fjall errors, or a read that does not find a
/// written key.
pub fn run(args: &EngineBenchArgs) -> Result<EngineBenchReport, BenchError> {
    args.validate()?;
    let parent = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let root = parent.join(format!("warren-bench-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&root).map_err(|e| BenchError::io(&root, e))?;
    let result = run_in(args, &root);
    if !args.keep {
        let _ = std::fs::remove_dir_all(&root);
    }
    result
}

fn run_in(args: &EngineBenchArgs, root: &Path) -> Result<EngineBenchReport, BenchError> {
    let wdir = root.join("warren");
    let warren = run_one(args, &wdir, |d| {
        Ok(Box::new(warren_store::WarrenStore::open(
            d,
            args.wal_segment_mib << 20,
        )?))
    })?;
    if !args.keep {
        let _ = std::fs::remove_dir_all(&wdir);
    }
    let other = match args.vs {
        Some(Versus::Fjall) => {
            let fdir = root.join("fjall");
            let f = run_one(args, &fdir, |d| {
                Ok(Box::new(fjall_store::FjallStore::open(d)?))
            })?;
            if !args.keep {
                let _ = std::fs::remove_dir_all(&fdir);
            }
            Some(f)
        }
        None => None,
    };
    let ratios = other.as_ref().map(|o| Ratios {
        ops_per_s: ratio(warren.ops_per_s, o.ops_per_s),
        p50_us: ratio(warren.p50_us, o.p50_us),
        p99_us: ratio(warren.p99_us, o.p99_us),
        write_amp: ratio(warren.write_amp, o.write_amp),
        read_amp: ratio(warren.read_amp, o.read_amp),
        space_amp: ratio(warren.space_amp, o.space_amp),
        fill_ops_per_s: ratio(warren.fill_ops_per_s, o.fill_ops_per_s),
        read_ops_per_s: ratio(warren.read_ops_per_s, o.read_ops_per_s),
    });
    Ok(EngineBenchReport {
        workload: args.workload,
        keys: args.keys,
        value_size: args.value_size,
        key_size: KEY_LEN,
        batch: args.batch,
        clients: args.clients,
        method: format!(
            "each txn = {} key(s) = one WAL record (warren) / journal batch (fjall), acked after \
             fdatasync with group commit across {} txns in flight; write_amp = /proc/self/io \
             write_bytes (net of cancelled) / (key+value bytes) over write phase + settle; \
             read_amp = block-cache misses per cold point read; space_amp = file bytes after \
             major compaction and log purge / live key+value bytes",
            args.batch, args.clients
        ),
        warren,
        other,
        ratios,
    })
}

fn per_s(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

/// Runs the six steps of the module docs on one engine, opened by `open` in `dir`, and
/// gathers its figures. The engine is closed before the figures are worked out.
fn run_one(
    args: &EngineBenchArgs,
    dir: &Path,
    open: impl FnOnce(&Path) -> Result<Box<dyn Store>, BenchError>,
) -> Result<EngineFigures, BenchError> {
    std::fs::create_dir_all(dir).map_err(|e| BenchError::io(dir, e))?;
    // What opening the engine writes counts towards the fill's write amplification.
    let io_start = ProcIo::now();
    let mut store = open(dir)?;
    let name = if dir.ends_with("fjall") {
        "fjall"
    } else {
        "warren"
    };
    let mut writes = measure_writes(args, &mut *store, io_start)?;
    let mut scans = if args.workload == Workload::Scan {
        Some(measure_scans(args, &mut *store, name)?)
    } else {
        None
    };
    let space = measure_space(args, &mut *store, dir)?;
    let mut reads = measure_cold_reads(args, &mut *store, name)?;
    let details = store.details();
    store.close()?;

    let read_p50_us = reads.lat.quantile_us(0.5);
    let read_p99_us = reads.lat.quantile_us(0.99);
    let (ops_per_s, p50_us, p99_us) = match args.workload {
        Workload::Fill | Workload::Overwrite => (
            per_s(args.keys, writes.time),
            writes.lat.quantile_us(0.5),
            writes.lat.quantile_us(0.99),
        ),
        Workload::Readrandom => (reads.ops_per_s, read_p50_us, read_p99_us),
        Workload::Scan => match &mut scans {
            Some(sc) => (
                sc.ops_per_s,
                sc.lat.quantile_us(0.5),
                sc.lat.quantile_us(0.99),
            ),
            None => (0.0, 0.0, 0.0),
        },
    };
    Ok(EngineFigures {
        engine: name.to_string(),
        ops_per_s,
        p50_us,
        p99_us,
        write_amp: writes.write_amp,
        write_amp_counters: writes.write_amp_counters,
        read_amp: reads.read_amp,
        space_amp: space.space_amp,
        disk_bytes: space.disk_bytes,
        live_logical_bytes: space.live,
        user_bytes_written: writes.user_bytes,
        disk_bytes_written: writes.disk_written,
        fill_ops_per_s: writes.fill_ops_per_s,
        settle_s: writes.settle_s,
        compact_s: space.compact_s,
        reads: reads.reads,
        read_ops_per_s: reads.ops_per_s,
        read_p50_us,
        read_p99_us,
        disk_read_bytes_per_read: reads.disk_read_bytes_per_read,
        full_scan_entries_per_s: scans.as_ref().map(|sc| sc.full_scan_entries_per_s),
        details,
    })
}

/// Steps 1–3: what the measured write phase (the fill, or for `overwrite` the second
/// pass) and the settling after it cost.
struct WriteFigures {
    /// Per-txn latencies of the measured write phase.
    lat: Latencies,
    /// How long the measured write phase took.
    time: Duration,
    /// Keys per second of the initial fill.
    fill_ops_per_s: f64,
    settle_s: f64,
    /// User bytes (key + value) of the measured phase.
    user_bytes: u64,
    /// Disk bytes written over the measured phase and the settling.
    disk_written: u64,
    write_amp: f64,
    write_amp_counters: Option<f64>,
}

/// Fills (and for `overwrite` settles and writes every key again), then settles, counting
/// the bytes written from `io_start` (or from the start of the second pass) on.
fn measure_writes(
    args: &EngineBenchArgs,
    store: &mut dyn Store,
    io_start: Option<ProcIo>,
) -> Result<WriteFigures, BenchError> {
    let n = args.keys;
    let mut plan = WritePlan {
        keys: n,
        batch: args.batch,
        clients: args.clients,
        value_size: args.value_size,
        round: 0,
        stride: 1,
    };

    // 1. Fill.
    let t = Instant::now();
    let mut lat = store.write_phase(&plan)?;
    let fill_time = t.elapsed();
    let fill_ops_per_s = per_s(n, fill_time);
    let (mut io0, mut counters0, mut time) = (io_start, Some(0), fill_time);

    // 2. Overwrite.
    if args.workload == Workload::Overwrite {
        store.settle()?;
        io0 = ProcIo::now();
        counters0 = store.counter_bytes_written();
        plan.round = 1;
        plan.stride = permutation_stride(n);
        let t = Instant::now();
        lat = store.write_phase(&plan)?;
        time = t.elapsed();
    }

    // 3. Settle.
    let t = Instant::now();
    store.settle()?;
    let settle_s = t.elapsed().as_secs_f64();
    let user = plan.user_bytes();
    let counter_written = match (store.counter_bytes_written(), counters0) {
        (Some(b), Some(a)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    let write_amp_counters = counter_written.map(|b| b as f64 / user as f64);
    let disk_written = match (ProcIo::now(), io0) {
        (Some(b), Some(a)) => b.written_since(&a),
        // No /proc/self/io: the engine's own counters are the best we have.
        _ => counter_written.unwrap_or(0),
    };
    Ok(WriteFigures {
        lat,
        time,
        fill_ops_per_s,
        settle_s,
        user_bytes: user,
        disk_written,
        write_amp: disk_written as f64 / user as f64,
        write_amp_counters,
    })
}

/// Step 4 (`scan` only): one full scan, then the range scans the figures are for.
struct ScanFigures {
    full_scan_entries_per_s: f64,
    /// Range scans per second.
    ops_per_s: f64,
    /// Latency of each range scan.
    lat: Latencies,
}

/// A full scan, which must see every key, then range scans from random existing keys,
/// each of which must find something.
fn measure_scans(
    args: &EngineBenchArgs,
    store: &mut dyn Store,
    name: &str,
) -> Result<ScanFigures, BenchError> {
    let n = args.keys;
    let t = Instant::now();
    let seen = store.full_scan()?;
    if seen != n {
        return Err(BenchError::WrongResult(format!(
            "{name}: full scan returned {seen} entries, expected {n}"
        )));
    }
    let full_scan_entries_per_s = per_s(n, t.elapsed());
    let scans = args.range_scans();
    let mut lat = Latencies::with_capacity(scans as usize);
    let t = Instant::now();
    for r in 0..scans {
        let k = key_of(mix64(r ^ 0x0123_4567) % n);
        let s = Instant::now();
        let got = store.range_scan(&k, RANGE_SCAN_LEN)?;
        lat.record(s.elapsed());
        if got == 0 {
            return Err(BenchError::WrongResult(format!(
                "{name}: range scan from an existing key returned nothing"
            )));
        }
    }
    Ok(ScanFigures {
        full_scan_entries_per_s,
        ops_per_s: per_s(scans, t.elapsed()),
        lat,
    })
}

/// Step 5: the major compaction's duration and the space the files take after it.
struct SpaceFigures {
    compact_s: f64,
    disk_bytes: u64,
    /// N × (key + value bytes).
    live: u64,
    space_amp: f64,
}

/// Compacts fully (dropping logs no longer needed), then measures every file in `dir`.
fn measure_space(
    args: &EngineBenchArgs,
    store: &mut dyn Store,
    dir: &Path,
) -> Result<SpaceFigures, BenchError> {
    let t = Instant::now();
    store.compact()?;
    let compact_s = t.elapsed().as_secs_f64();
    let disk_bytes = dir_bytes(dir)?;
    let live = args.keys * (KEY_LEN + args.value_size) as u64;
    Ok(SpaceFigures {
        compact_s,
        disk_bytes,
        live,
        space_amp: disk_bytes as f64 / live as f64,
    })
}

/// Step 6: the cold point reads.
struct ReadFigures {
    reads: u64,
    ops_per_s: f64,
    lat: Latencies,
    /// Blocks fetched from files per read.
    read_amp: f64,
    /// Bytes the kernel read from the device per read.
    disk_read_bytes_per_read: f64,
}

/// Reopens the engine cold and reads random existing keys, each of which must come back
/// with a value of the written size. Blocks an engine reads while opening count too.
fn measure_cold_reads(
    args: &EngineBenchArgs,
    store: &mut dyn Store,
    name: &str,
) -> Result<ReadFigures, BenchError> {
    let n = args.keys;
    let b0 = store.blocks_read();
    store.reopen_cold()?;
    let reads = args.point_reads();
    let r0 = ProcIo::now();
    let mut lat = Latencies::with_capacity(reads as usize);
    let t = Instant::now();
    for r in 0..reads {
        let k = key_of(mix64(r ^ 0xC0FF_EE00) % n);
        let s = Instant::now();
        let got = store.get_len(&k)?;
        lat.record(s.elapsed());
        if got != Some(args.value_size) {
            return Err(BenchError::WrongResult(format!(
                "{name}: key {k:02x?} read back as {got:?}, expected a value of {} bytes",
                args.value_size
            )));
        }
    }
    let read_time = t.elapsed();
    let read_amp = (store.blocks_read() - b0) as f64 / reads as f64;
    let disk_read_bytes_per_read = match (ProcIo::now(), r0) {
        (Some(b), Some(a)) => b.read_since(&a) as f64 / reads as f64,
        _ => 0.0,
    };
    Ok(ReadFigures {
        reads,
        ops_per_s: per_s(reads, read_time),
        lat,
        read_amp,
        disk_read_bytes_per_read,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct_and_plans_cover_every_key_once() {
        let n = 1000;
        for stride in [1, permutation_stride(n)] {
            let plan = WritePlan {
                keys: n,
                batch: 7,
                clients: 1,
                value_size: 10,
                round: 0,
                stride,
            };
            let mut seen = std::collections::BTreeSet::new();
            let mut v = Vec::new();
            for t in 0..plan.txns() {
                plan.for_each_op(t, &mut v, |k, val| {
                    assert_eq!(val.len(), 10);
                    assert!(seen.insert(k.to_vec()));
                });
            }
            assert_eq!(seen.len() as u64, n);
        }
    }

    #[test]
    fn strides_are_coprime() {
        for n in [1, 2, 10, 1_000_000_007, 2_000_000_014, 10_000_000] {
            assert_eq!(gcd(permutation_stride(n), n), 1, "n = {n}");
        }
    }
}

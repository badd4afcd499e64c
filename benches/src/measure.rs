//! Engine-independent measurements: disk bytes written and read by this process, file
//! sizes on disk, latency percentiles, and dropping the OS page cache of a directory.
//!
//! They exist so that two different engines are measured with one ruler: an engine's own
//! counters say what it *thinks* it wrote, while `/proc/self/io` says what the kernel
//! sent (or will send) to the block device on its behalf, WAL page rewrites included.

use std::fs::File;
use std::path::Path;

use crate::error::BenchError;

/// The byte counters of `/proc/self/io` (summed over every thread of the process,
/// including threads that have exited, such as engine background threads).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcIo {
    /// Bytes this process caused to be read from the block device (page-cache misses).
    pub read_bytes: u64,
    /// Bytes this process dirtied in the page cache (counted when a page becomes dirty,
    /// so a page re-dirtied after an fsync counts again, as the device rewrites it).
    pub write_bytes: u64,
    /// Dirty bytes that were never written because their file was truncated or deleted.
    pub cancelled_write_bytes: u64,
}

impl ProcIo {
    /// Reads `/proc/self/io`; `None` where it does not exist (not Linux, or no task I/O
    /// accounting in the kernel), in which case callers fall back to engine counters.
    pub fn now() -> Option<ProcIo> {
        let text = std::fs::read_to_string("/proc/self/io").ok()?;
        let mut io = ProcIo::default();
        let mut seen = 0;
        for line in text.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let Ok(v) = v.trim().parse::<u64>() else {
                continue;
            };
            match k {
                "read_bytes" => io.read_bytes = v,
                "write_bytes" => io.write_bytes = v,
                "cancelled_write_bytes" => io.cancelled_write_bytes = v,
                _ => continue,
            }
            seen += 1;
        }
        (seen == 3).then_some(io)
    }

    /// Net bytes written to disk since `earlier` (written minus cancelled).
    pub fn written_since(&self, earlier: &ProcIo) -> u64 {
        let w = self.write_bytes.saturating_sub(earlier.write_bytes);
        let c = self
            .cancelled_write_bytes
            .saturating_sub(earlier.cancelled_write_bytes);
        w.saturating_sub(c)
    }

    /// Bytes read from disk since `earlier`.
    pub fn read_since(&self, earlier: &ProcIo) -> u64 {
        self.read_bytes.saturating_sub(earlier.read_bytes)
    }
}

/// Sum of the sizes (`st_size`) of every regular file under `dir`, recursively. This is
/// what an operator sees with `du --apparent-size`; a preallocated WAL segment counts at
/// its full preallocated size, because that space is taken.
///
/// # Errors
/// [`BenchError::Io`] when the directory cannot be listed.
pub fn dir_bytes(dir: &Path) -> Result<u64, BenchError> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).map_err(|e| BenchError::io(dir, e))? {
        let entry = entry.map_err(|e| BenchError::io(dir, e))?;
        let path = entry.path();
        // A file deleted by a background thread while we list is simply not counted.
        let Ok(md) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if md.is_dir() {
            total += dir_bytes(&path)?;
        } else if md.is_file() {
            total += md.len();
        }
    }
    Ok(total)
}

/// Writes back and then evicts from the OS page cache every file under `dir`, so the
/// next reads of those files come from the device. Only this directory's pages are
/// dropped (unlike `/proc/sys/vm/drop_caches`), so other users of the machine are not
/// disturbed and no privilege is needed.
///
/// # Errors
/// [`BenchError::Io`] when a file cannot be opened, synced or advised.
pub fn drop_os_cache(dir: &Path) -> Result<(), BenchError> {
    for entry in std::fs::read_dir(dir).map_err(|e| BenchError::io(dir, e))? {
        let entry = entry.map_err(|e| BenchError::io(dir, e))?;
        let path = entry.path();
        let Ok(md) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if md.is_dir() {
            drop_os_cache(&path)?;
        } else if md.is_file() {
            let f = match File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(BenchError::io(&path, e)),
            };
            // DONTNEED leaves dirty pages in place, so write them back first.
            f.sync_data().map_err(|e| BenchError::io(&path, e))?;
            rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed)
                .map_err(|e| BenchError::io(&path, e.into()))?;
        }
    }
    Ok(())
}

/// Per-operation latencies in nanoseconds (saturating at ~4.3 s), kept whole so the
/// percentiles are exact rather than bucketed. 4 bytes per op: 40 MB for 10M ops.
#[derive(Debug, Default, Clone)]
pub struct Latencies {
    ns: Vec<u32>,
}

impl Latencies {
    /// Room for `n` samples.
    pub fn with_capacity(n: usize) -> Self {
        Latencies {
            ns: Vec::with_capacity(n),
        }
    }

    /// Records one sample.
    #[inline]
    pub fn record(&mut self, d: std::time::Duration) {
        self.ns
            .push(u32::try_from(d.as_nanos()).unwrap_or(u32::MAX));
    }

    /// Appends another set of samples.
    pub fn extend(&mut self, other: Latencies) {
        self.ns.extend(other.ns);
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.ns.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.ns.is_empty()
    }

    /// The `q`-quantile (0..=1) in microseconds, nearest-rank; 0 without samples.
    pub fn quantile_us(&mut self, q: f64) -> f64 {
        if self.ns.is_empty() {
            return 0.0;
        }
        let rank =
            ((q.clamp(0.0, 1.0) * self.ns.len() as f64).ceil() as usize).clamp(1, self.ns.len());
        let (_, v, _) = self.ns.select_nth_unstable(rank - 1);
        f64::from(*v) / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn quantiles_are_nearest_rank() {
        let mut l = Latencies::with_capacity(100);
        for i in (1..=100u64).rev() {
            l.record(Duration::from_micros(i));
        }
        assert_eq!(l.quantile_us(0.5), 50.0);
        assert_eq!(l.quantile_us(0.99), 99.0);
        assert_eq!(l.quantile_us(1.0), 100.0);
        assert_eq!(Latencies::default().quantile_us(0.5), 0.0);
    }

    #[test]
    fn dir_bytes_sums_nested_files() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a"), [0u8; 10]).unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/b"), [0u8; 5]).unwrap();
        assert_eq!(dir_bytes(d.path()).unwrap(), 15);
        drop_os_cache(d.path()).unwrap();
    }
}

//! Where bytes meet the disk: the write + fdatasync backends and segment-file plumbing.
//!
//! The writer thread owns one [`IoBackend`] and calls exactly two operations on it per
//! group: write the batch at an offset, then fdatasync. Keeping the surface that small is
//! what lets the io_uring backend be a drop-in (and a fallback to std be trivial).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Result, WalError};
use crate::format::{encode_header, segment_file_name};

/// Which system calls carry the writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// `pwrite` + `fdatasync` through `std::fs`. Portable, the default.
    #[default]
    Std,
    /// One io_uring submission per group: the write linked to an fdatasync. Needs the
    /// `io-uring` feature; without it, or when the kernel refuses to set up a ring
    /// (old kernel, seccomp), the log warns and uses `Std`.
    IoUring,
}

pub(crate) enum IoBackend {
    Std,
    #[cfg(feature = "io-uring")]
    Uring(Box<crate::uring::Ring>),
}

impl IoBackend {
    pub(crate) fn new(requested: Backend) -> IoBackend {
        match requested {
            Backend::Std => IoBackend::Std,
            #[cfg(feature = "io-uring")]
            Backend::IoUring => match crate::uring::Ring::new() {
                Ok(ring) => IoBackend::Uring(Box::new(ring)),
                Err(e) => {
                    tracing::warn!(error = %e, "wal: io_uring unavailable, using the std backend");
                    IoBackend::Std
                }
            },
            #[cfg(not(feature = "io-uring"))]
            Backend::IoUring => {
                tracing::warn!(
                    "wal: io_uring backend requested but the `io-uring` feature is off; using std"
                );
                IoBackend::Std
            }
        }
    }

    pub(crate) fn kind(&self) -> Backend {
        match self {
            IoBackend::Std => Backend::Std,
            #[cfg(feature = "io-uring")]
            IoBackend::Uring(_) => Backend::IoUring,
        }
    }

    /// Writes all of `buf` at `off`, then (if `sync`) fdatasyncs. On error, names the
    /// operation that failed.
    pub(crate) fn write_at(
        &mut self,
        file: &File,
        buf: &[u8],
        off: u64,
        sync: bool,
    ) -> std::result::Result<(), (&'static str, io::Error)> {
        match self {
            IoBackend::Std => {
                file.write_all_at(buf, off).map_err(|e| ("write", e))?;
                if sync {
                    file.sync_data().map_err(|e| ("fsync", e))?;
                }
                Ok(())
            }
            #[cfg(feature = "io-uring")]
            IoBackend::Uring(ring) => ring.write_all_at(file, buf, off, sync),
        }
    }

    pub(crate) fn datasync(&mut self, file: &File) -> io::Result<()> {
        match self {
            IoBackend::Std => file.sync_data(),
            #[cfg(feature = "io-uring")]
            IoBackend::Uring(ring) => ring.datasync(file),
        }
    }
}

/// fsync of a directory, so that creations, renames and deletions in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| WalError::io("fsync directory", dir, e))
}

/// Reserves `len` bytes for a segment so appends do not allocate blocks (and update
/// metadata) on every fsync. fallocate where the filesystem supports it, else a sparse
/// `set_len` which at least gives the zero tail the format relies on.
pub(crate) fn preallocate(file: &File, path: &Path, len: u64) -> Result<()> {
    match rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), 0, len) {
        Ok(()) => Ok(()),
        Err(e) => {
            tracing::debug!(error = %e, path = %path.display(), "wal: fallocate failed, using set_len");
            let cur = file_len(file, path)?;
            if cur < len {
                file.set_len(len)
                    .map_err(|e| WalError::io("extend", path, e))?;
            }
            Ok(())
        }
    }
}

/// Creates segment `first_seq` atomically: header written, space reserved and synced
/// under a temporary name, then renamed and the directory synced. A crash therefore
/// never leaves a segment with a half-written header, and a bad header at open is
/// always real damage.
pub(crate) fn create_segment(
    dir: &Path,
    first_seq: u64,
    prealloc: Option<u64>,
) -> Result<(File, PathBuf)> {
    let path = dir.join(segment_file_name(first_seq));
    let tmp = dir.join(format!("{}.tmp", segment_file_name(first_seq)));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| WalError::io("create", &tmp, e))?;
    file.write_all_at(&encode_header(first_seq), 0)
        .map_err(|e| WalError::io("write", &tmp, e))?;
    if let Some(len) = prealloc {
        preallocate(&file, &tmp, len)?;
    }
    file.sync_all()
        .map_err(|e| WalError::io("fsync", &tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| WalError::io("rename", &tmp, e))?;
    sync_dir(dir)?;
    Ok((file, path))
}

/// Writes zeros over `[from, to)`: how torn tails and truncated records are erased while
/// keeping the preallocated size.
pub(crate) fn zero_range(file: &File, path: &Path, from: u64, to: u64) -> Result<()> {
    const CHUNK: u64 = 1 << 20;
    let zeros = vec![0u8; CHUNK.min(to.saturating_sub(from)) as usize];
    let mut off = from;
    while off < to {
        let n = (to - off).min(CHUNK) as usize;
        file.write_all_at(&zeros[..n], off)
            .map_err(|e| WalError::io("write", path, e))?;
        off += n as u64;
    }
    file.sync_data().map_err(|e| WalError::io("fsync", path, e))
}

/// The size of `file` (at `path`, for the error).
pub(crate) fn file_len(file: &File, path: &Path) -> Result<u64> {
    file.metadata()
        .map(|m| m.len())
        .map_err(|e| WalError::io("stat", path, e))
}

/// Deletes a file, naming it in the error.
pub(crate) fn remove_file(path: &Path) -> Result<()> {
    std::fs::remove_file(path).map_err(|e| WalError::io("remove", path, e))
}

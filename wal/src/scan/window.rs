//! A cached window over a segment file.
//!
//! Frame-by-frame parsing would cost a syscall per record if it read each frame on its
//! own; reading a large window at a time makes verifying a 64 MiB segment a few dozen
//! syscalls. The window can still jump back, which resynchronising after a bad record
//! and looking for valid records inside a bad frame's extent both need.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Result, WalError};
use crate::io::file_len;

/// Read size for scans: large enough that verifying a 64 MiB segment is a few dozen
/// syscalls, small enough to keep replay memory flat.
const WINDOW: usize = 1 << 20;

static ZEROS: [u8; 4096] = [0; 4096];

/// A cached window over a file, so frame-by-frame parsing costs no syscall per record
/// yet can still jump back (to resynchronise after a bad record).
pub(crate) struct Window {
    file: File,
    path: PathBuf,
    buf: Vec<u8>,
    start: u64,
}

impl Window {
    /// Opens `path` for reading; returns the window and the file's length.
    pub(crate) fn open(path: &Path) -> Result<(Window, u64)> {
        let file = File::open(path).map_err(|e| WalError::io("open", path, e))?;
        let len = file_len(&file, path)?;
        let win = Window {
            file,
            path: path.to_path_buf(),
            buf: Vec::new(),
            start: 0,
        };
        Ok((win, len))
    }

    /// Up to `n` bytes at `off`; fewer only at end of file.
    pub(crate) fn get(&mut self, off: u64, n: usize) -> Result<&[u8]> {
        let have_end = self.start + self.buf.len() as u64;
        if off < self.start || off + n as u64 > have_end {
            self.buf.resize(n.max(WINDOW), 0);
            let mut filled = 0;
            while filled < self.buf.len() {
                match self
                    .file
                    .read_at(&mut self.buf[filled..], off + filled as u64)
                {
                    Ok(0) => break,
                    Ok(k) => filled += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(WalError::io("read", &self.path, e)),
                }
            }
            self.buf.truncate(filled);
            self.start = off;
        }
        let from = (off - self.start) as usize;
        let to = (from + n).min(self.buf.len());
        Ok(&self.buf[from.min(to)..to])
    }

    /// Offset of the first non-zero byte in `[from, limit)`, if any.
    pub(crate) fn first_nonzero(&mut self, from: u64, limit: u64) -> Result<Option<u64>> {
        self.nonzero(from, limit, false)
    }

    /// Offset of the last non-zero byte in `[from, limit)`, if any.
    pub(crate) fn last_nonzero(&mut self, from: u64, limit: u64) -> Result<Option<u64>> {
        self.nonzero(from, limit, true)
    }

    fn nonzero(&mut self, from: u64, limit: u64, want_last: bool) -> Result<Option<u64>> {
        let mut found = None;
        let mut off = from;
        while off < limit {
            let want = ((limit - off) as usize).min(WINDOW);
            let chunk = self.get(off, want)?;
            if chunk.is_empty() {
                break;
            }
            // Comparing whole blocks with a zero block is a memcmp: fast even unoptimised.
            for (i, block) in chunk.chunks(ZEROS.len()).enumerate() {
                if block == &ZEROS[..block.len()] {
                    continue;
                }
                let base = off + (i * ZEROS.len()) as u64;
                if want_last {
                    let pos = block.iter().rposition(|&b| b != 0).unwrap_or(0);
                    found = Some(base + pos as u64);
                } else {
                    let pos = block.iter().position(|&b| b != 0).unwrap_or(0);
                    return Ok(Some(base + pos as u64));
                }
            }
            off += chunk.len() as u64;
        }
        Ok(found)
    }
}

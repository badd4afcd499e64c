//! The io_uring backend: each group commit is one `io_uring_enter` carrying a write
//! linked to an fdatasync, instead of two syscalls.
//!
//! This is the only module allowed `unsafe`: pushing a submission-queue entry hands the
//! kernel raw pointers, and the compiler cannot check that they outlive the operation.
//! Every call below waits for all of its completions before returning, which is what
//! keeps the borrowed buffers and file descriptors valid for the kernel's use.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use io_uring::{opcode, squeue, types, IoUring, Probe};

const WRITE_TAG: u64 = 1;
const FSYNC_TAG: u64 = 2;

pub(crate) struct Ring {
    ring: IoUring,
}

impl Ring {
    /// Sets up a small ring and checks that the kernel supports the two opcodes used.
    /// Any failure here (ENOSYS, EPERM under seccomp, old kernel) makes the caller fall
    /// back to the std backend.
    pub(crate) fn new() -> io::Result<Ring> {
        let ring = IoUring::new(8)?;
        let mut probe = Probe::new();
        ring.submitter().register_probe(&mut probe)?;
        if !probe.is_supported(opcode::Write::CODE) || !probe.is_supported(opcode::Fsync::CODE) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "kernel io_uring lacks WRITE or FSYNC",
            ));
        }
        Ok(Ring { ring })
    }

    /// Submits `entries` and reaps exactly as many completions, returning their results
    /// indexed by user-data tag.
    fn run(&mut self, entries: &[squeue::Entry]) -> io::Result<[i32; 3]> {
        // SAFETY: the entries point at buffers and fds borrowed by our caller for the
        // duration of this call, and we do not return until every pushed entry has
        // completed (the loop below reaps exactly `entries.len()` completions), so the
        // kernel never touches them after they are released. The queue was drained by the
        // previous call, so it has room for the at most two entries pushed here.
        unsafe {
            self.ring
                .submission()
                .push_multiple(entries)
                .map_err(|_| io::Error::other("io_uring submission queue full"))?;
        }
        let mut results = [0i32; 3];
        let mut reaped = 0;
        while reaped < entries.len() {
            match self.ring.submit_and_wait(entries.len() - reaped) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            for cqe in self.ring.completion() {
                let tag = cqe.user_data() as usize;
                if tag < results.len() {
                    results[tag] = cqe.result();
                }
                reaped += 1;
            }
        }
        Ok(results)
    }

    pub(crate) fn write_all_at(
        &mut self,
        file: &File,
        mut buf: &[u8],
        mut off: u64,
        sync: bool,
    ) -> Result<(), (&'static str, io::Error)> {
        let fd = types::Fd(file.as_raw_fd());
        while !buf.is_empty() {
            let len = buf.len().min(1 << 30);
            let whole = len == buf.len();
            let link = sync && whole;
            let write = opcode::Write::new(fd, buf.as_ptr(), len as u32)
                .offset(off)
                .build()
                .user_data(WRITE_TAG)
                .flags(if link {
                    squeue::Flags::IO_LINK
                } else {
                    squeue::Flags::empty()
                });
            let fsync = opcode::Fsync::new(fd)
                .flags(types::FsyncFlags::DATASYNC)
                .build()
                .user_data(FSYNC_TAG);
            let res = if link {
                self.run(&[write, fsync])
            } else {
                self.run(&[write])
            }
            .map_err(|e| ("write", e))?;
            let w = res[WRITE_TAG as usize];
            if w < 0 {
                let e = io::Error::from_raw_os_error(-w);
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(("write", e));
            }
            if w == 0 {
                return Err(("write", io::Error::from(io::ErrorKind::WriteZero)));
            }
            let written = w as usize;
            if link && written == len {
                let f = res[FSYNC_TAG as usize];
                if f < 0 {
                    return Err(("fsync", io::Error::from_raw_os_error(-f)));
                }
                return Ok(());
            }
            // Short write: a linked fsync was cancelled; continue with the rest.
            buf = &buf[written..];
            off += written as u64;
        }
        if sync {
            self.datasync(file).map_err(|e| ("fsync", e))?;
        }
        Ok(())
    }

    pub(crate) fn datasync(&mut self, file: &File) -> io::Result<()> {
        let fsync = opcode::Fsync::new(types::Fd(file.as_raw_fd()))
            .flags(types::FsyncFlags::DATASYNC)
            .build()
            .user_data(FSYNC_TAG);
        let res = self.run(&[fsync])?;
        let f = res[FSYNC_TAG as usize];
        if f < 0 {
            return Err(io::Error::from_raw_os_error(-f));
        }
        Ok(())
    }
}

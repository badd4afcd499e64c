//! Helpers shared by the integration tests. Every scenario runs once per backend.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use warren_wal::{Backend, FsyncPolicy, Record, Wal, WalOptions};

/// The backends a scenario must pass on: std always, io_uring too with the feature.
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Std];
    if cfg!(feature = "io-uring") {
        v.push(Backend::IoUring);
    }
    v
}

pub fn opts(backend: Backend) -> WalOptions {
    WalOptions {
        backend,
        ..WalOptions::default()
    }
}

/// Small segments so rotation happens within a few hundred records.
pub fn small_opts(backend: Backend, segment_bytes: u64) -> WalOptions {
    WalOptions {
        segment_bytes,
        preallocate: true,
        fsync: FsyncPolicy::Always,
        backend,
        verify_from: 0,
    }
}

/// A payload that encodes its seq, with a size that varies (including empty).
pub fn payload(seq: u64) -> Vec<u8> {
    let len = (seq * 37 % 300) as usize;
    (0..len).map(|i| (seq as usize + i) as u8).collect()
}

pub fn append_all(wal: &Wal, seqs: impl IntoIterator<Item = u64>) {
    let tickets: Vec<_> = seqs
        .into_iter()
        .map(|s| wal.append(s, &payload(s)).expect("append"))
        .collect();
    for t in tickets {
        t.wait().expect("wait");
    }
}

pub fn read_all(wal: &Wal, from: u64) -> Vec<Record> {
    wal.read_from(from)
        .expect("read_from")
        .collect::<Result<Vec<_>, _>>()
        .expect("replay")
}

pub fn assert_records(records: &[Record], seqs: &[u64]) {
    let got: Vec<u64> = records.iter().map(|r| r.seq).collect();
    assert_eq!(got, seqs);
    for r in records {
        assert_eq!(r.payload, payload(r.seq), "payload of seq {}", r.seq);
    }
}

pub fn segment_paths(dir: &Path) -> Vec<PathBuf> {
    warren_wal::list_segments(dir)
        .expect("list")
        .into_iter()
        .map(|(_, p)| p)
        .collect()
}

/// (offset, seq, payload length) of every record of a segment file.
pub fn record_offsets(path: &Path) -> Vec<(u64, u64, usize)> {
    warren_wal::read_segment_file(path)
        .expect("open segment")
        .map(|r| {
            let (off, rec) = r.expect("record");
            (off, rec.seq, rec.payload.len())
        })
        .collect()
}

pub fn flip_byte(path: &Path, offset: u64) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open for flip");
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, offset).expect("read byte");
    b[0] ^= 0x5a;
    f.write_all_at(&b, offset).expect("write byte");
}

pub fn write_bytes(path: &Path, offset: u64, bytes: &[u8]) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open for write");
    f.write_all_at(bytes, offset).expect("write bytes");
}

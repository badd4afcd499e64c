//! The manifest tells a torn tail from damage. A torn tail (the last append, cut short by
//! a crash: never acknowledged) is dropped with a warning and the engine opens. A length
//! field damaged in the middle of the file, which claims more bytes than the file holds
//! while valid records follow, used to read as a torn tail and silently drop every later
//! edit; it must fail the open with a corruption error naming the manifest and the
//! record's offset, change nothing on disk, and show in `check_dir`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use warren_engine::{check, manifest, Engine, EngineOptions, ReadSeq, WriteBatch};

fn opts() -> EngineOptions {
    EngineOptions {
        // No compaction: every flush is one more manifest record, and nothing else is.
        l0_compaction_trigger: 100,
        l0_stall_files: 200,
        ..common::small_opts()
    }
}

const FLUSHES: u64 = 5;

/// A closed engine whose manifest holds the open's snapshot record and one record per
/// flush; returns the manifest's path.
fn build(dir: &Path) -> PathBuf {
    let e = Engine::open(dir, opts()).unwrap();
    for seq in 1..=FLUSHES {
        let mut b = WriteBatch::new();
        for i in 0..50 {
            b.put(format!("k{seq}-{i:03}"), format!("v{seq}"));
        }
        e.write(seq, b).unwrap();
        e.flush().unwrap();
    }
    e.close().unwrap();
    let name = manifest::read_current(dir).unwrap().unwrap();
    dir.join(name)
}

/// The offsets of the manifest's records.
fn record_offsets(b: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut off = 8;
    while off + 8 <= b.len() {
        out.push(off);
        let len = u32::from_le_bytes(b[off..off + 4].try_into().unwrap()) as usize;
        off += 8 + len;
    }
    assert_eq!(off, b.len(), "the manifest ends on a record boundary");
    out
}

fn set_len(b: &mut [u8], off: usize, len: u32) {
    b[off..off + 4].copy_from_slice(&len.to_le_bytes());
}

/// A copy of the engine dir `from` in a new temp dir.
fn copy_dir(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.path().join(e.file_name())).unwrap();
    }
    to
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Opens `dir` expecting a corruption error at `offset` of the manifest `name`, and
/// checks that the failed open changed nothing and that `check_dir` names the fault.
fn expect_refused(dir: &Path, name: &str, offset: usize, what: &str) {
    let before = snapshot(dir);
    let err = match Engine::open(dir, opts()) {
        Ok(_) => panic!("{what}: the engine opened"),
        Err(e) => e,
    };
    assert!(err.is_corruption(), "{what}: {err}");
    let msg = err.to_string();
    assert!(
        msg.contains(name),
        "{what}: the error does not name {name}: {msg}"
    );
    assert!(
        msg.contains(&format!("at offset {offset}:")),
        "{what}: the error does not name offset {offset}: {msg}"
    );
    assert_eq!(
        snapshot(dir),
        before,
        "{what}: the failed open changed files"
    );
    let report = check::check_dir(dir).unwrap();
    assert!(
        report
            .faults
            .iter()
            .any(|f| f.file.ends_with(name) && f.offset == offset as u64),
        "{what}: check_dir does not report offset {offset}: {:?}",
        report.faults
    );
}

fn all_keys_readable(e: &Engine, flushes: u64) {
    for seq in 1..=flushes {
        for i in [0, 49] {
            let k = format!("k{seq}-{i:03}");
            assert_eq!(
                e.get(k.as_bytes(), ReadSeq::Latest).unwrap(),
                Some(format!("v{seq}").into_bytes()),
                "{k}"
            );
        }
    }
}

#[test]
fn a_damaged_length_mid_file_fails_the_open_naming_the_file_and_offset() {
    let pristine = tempfile::tempdir().unwrap();
    let path = build(pristine.path());
    let name = path.file_name().unwrap().to_str().unwrap().to_owned();
    let good = fs::read(&path).unwrap();
    let offs = record_offsets(&good);
    assert_eq!(offs.len() as u64, 1 + FLUSHES, "records: {offs:?}");

    // Each record but the last, its length made to reach past the end of the file (the
    // old reader took every one of these for a torn tail and dropped the edits after).
    for (i, &off) in offs[..offs.len() - 1].iter().enumerate() {
        for len in [(good.len() - off) as u32, 0x00ff_ffff, u32::MAX] {
            let d = copy_dir(pristine.path());
            let mut b = good.clone();
            set_len(&mut b, off, len);
            fs::write(d.path().join(&name), &b).unwrap();
            expect_refused(d.path(), &name, off, &format!("record {i}, length {len}"));
        }
    }

    // A length made shorter, or longer but inside the file, and a flipped payload byte:
    // the checksum catches them, wherever they are.
    let mid = offs[2];
    let mid_len = offs[3] - mid - 8;
    for what in ["shorter length", "longer length", "flipped payload byte"] {
        let d = copy_dir(pristine.path());
        let mut b = good.clone();
        match what {
            "shorter length" => set_len(&mut b, mid, mid_len as u32 - 3),
            "longer length" => set_len(&mut b, mid, mid_len as u32 + 5),
            _ => b[mid + 9] ^= 0x40,
        }
        fs::write(d.path().join(&name), &b).unwrap();
        expect_refused(d.path(), &name, mid, what);
    }

    // The pristine copy still opens, with every flush.
    let e = Engine::open(pristine.path(), opts()).unwrap();
    assert_eq!(e.persisted_seq(), FLUSHES);
    all_keys_readable(&e, FLUSHES);
}

#[test]
fn a_torn_tail_still_opens() {
    let pristine = tempfile::tempdir().unwrap();
    let path = build(pristine.path());
    let name = path.file_name().unwrap().to_str().unwrap().to_owned();
    let good = fs::read(&path).unwrap();
    let offs = record_offsets(&good);
    let last = *offs.last().unwrap();

    // An append cut short after every acknowledged record: a header alone, a header and
    // part of the payload (a real record's bytes, as the writer would have written), or
    // less than a header.
    let record = good[last..].to_vec();
    for cut in [3, 8, 8 + 1, record.len() - 1] {
        let d = copy_dir(pristine.path());
        let mut b = good.clone();
        b.extend_from_slice(&record[..cut]);
        fs::write(d.path().join(&name), &b).unwrap();
        let e = Engine::open(d.path(), opts())
            .unwrap_or_else(|err| panic!("torn append of {cut} bytes: {err}"));
        assert_eq!(e.persisted_seq(), FLUSHES, "torn append of {cut} bytes");
        all_keys_readable(&e, FLUSHES);
    }

    // The last record itself cut short (the crash hit its append): it was never
    // acknowledged, so the engine opens with the edits before it.
    let all = manifest::replay(&path).unwrap();
    let expect = {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join(&name);
        fs::write(&p, &good[..last]).unwrap();
        manifest::replay(&p).unwrap()
    };
    assert_eq!(expect.persisted_seq, all.persisted_seq - 1);
    for keep in [0, 8, (good.len() - last) / 2] {
        let d = copy_dir(pristine.path());
        fs::write(d.path().join(&name), &good[..last + keep]).unwrap();
        let e = Engine::open(d.path(), opts())
            .unwrap_or_else(|err| panic!("last record cut to {keep} bytes: {err}"));
        assert_eq!(e.persisted_seq(), expect.persisted_seq, "cut to {keep}");
        all_keys_readable(&e, expect.persisted_seq);
    }
}

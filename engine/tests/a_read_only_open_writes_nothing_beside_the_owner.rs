//! A read-only open (what the offline tools use beside a running server) writes nothing
//! in the directory: no manifest, no deletions, no flush or compaction. It keeps reading
//! the tables it opened even after the owner compacts them away.

use std::collections::BTreeSet;
use std::path::Path;

use warren_engine::{Engine, EngineError, EngineOptions, ReadSeq, WriteBatch};

fn files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn write_keys(e: &Engine, seqs: std::ops::RangeInclusive<u64>) {
    for seq in seqs {
        let mut b = WriteBatch::new();
        b.put(
            format!("k{:04}", seq % 500).as_bytes(),
            format!("v{seq}").as_bytes(),
        );
        e.write(seq, b).unwrap();
    }
}

#[test]
fn a_read_only_engine_writes_nothing_and_outlives_the_owners_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let owner = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    for round in 0..4u64 {
        write_keys(&owner, round * 1000 + 1..=round * 1000 + 1000);
        owner.flush().unwrap();
    }
    let before = files(dir.path());

    let reader = Engine::open_read_only(dir.path(), EngineOptions::default()).unwrap();
    assert_eq!(
        files(dir.path()),
        before,
        "a read-only open changed the directory"
    );
    assert_eq!(reader.last_seq(), 4000);
    // The owner merges every table into one and deletes the old ones.
    owner.compact_all().unwrap();
    assert_ne!(
        files(dir.path()),
        before,
        "the owner's compaction changed nothing"
    );
    for k in 0..500u64 {
        let key = format!("k{k:04}");
        let want = format!("v{}", 3500 + k + if k == 0 { 500 } else { 0 });
        assert_eq!(
            reader.get(key.as_bytes(), ReadSeq::Latest).unwrap(),
            Some(want.into_bytes()),
            "{key}"
        );
    }

    // The caller's replay of a log tail lands in memory only.
    let after_compaction = files(dir.path());
    write_keys(&reader, 4001..=4100);
    assert_eq!(
        reader.get(b"k0100", ReadSeq::Latest).unwrap().as_deref(),
        Some(&b"v4100"[..])
    );
    assert!(matches!(reader.flush(), Err(EngineError::ReadOnly)));
    assert!(matches!(reader.compact_all(), Err(EngineError::ReadOnly)));
    reader.close().unwrap();
    assert_eq!(
        files(dir.path()),
        after_compaction,
        "the reader wrote in the directory"
    );
}

#[test]
fn a_read_only_open_of_a_missing_engine_is_an_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("engine");
    let e = Engine::open_read_only(&missing, EngineOptions::default());
    assert!(e.is_err(), "opened an engine that does not exist");
    assert!(!missing.exists(), "a read-only open created the directory");
}

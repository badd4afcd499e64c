//! Damaged files must fail loudly and say which file is damaged; nothing is skipped.

mod common;

use std::path::PathBuf;

use warren_engine::{Compression, Engine, EngineOptions, ReadSeq, WriteBatch};

fn opts() -> EngineOptions {
    EngineOptions {
        compression: Compression::None,
        ..common::small_opts()
    }
}

fn fill(dir: &std::path::Path) -> Vec<PathBuf> {
    let e = Engine::open(dir, opts()).unwrap();
    let mut b = WriteBatch::new();
    for i in 0..5_000u32 {
        b.put(format!("key{i:06}"), format!("value{i}"));
    }
    e.write(1, b).unwrap();
    e.flush().unwrap();
    e.close().unwrap();
    let mut ssts: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|d| d.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sst"))
        .collect();
    ssts.sort();
    assert_eq!(ssts.len(), 1);
    ssts
}

fn flip(path: &std::path::Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[at] ^= 0x10;
    std::fs::write(path, b).unwrap();
}

#[test]
fn flipped_byte_in_a_data_block_fails_reads_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let sst = fill(dir.path());
    flip(&sst[0], 200);
    let name = sst[0].file_name().unwrap().to_str().unwrap().to_string();
    let e = Engine::open(dir.path(), opts()).unwrap();
    let err = e
        .scan(.., ReadSeq::Latest)
        .unwrap()
        .find_map(|r| r.err())
        .expect("a scan over a damaged block must yield an error");
    assert!(err.is_corruption(), "{err}");
    assert!(
        err.to_string().contains(&name),
        "error does not name {name}: {err}"
    );
    // The first block holds the first keys: a point read of one of them fails the same way.
    let err = e.get(b"key000000", ReadSeq::Latest).unwrap_err();
    assert!(err.to_string().contains(&name), "{err}");
    assert!(err.to_string().contains("offset"), "{err}");
}

#[test]
fn flipped_byte_in_the_footer_fails_open_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let sst = fill(dir.path());
    let len = std::fs::metadata(&sst[0]).unwrap().len() as usize;
    flip(&sst[0], len - 30);
    let name = sst[0].file_name().unwrap().to_str().unwrap().to_string();
    let err = Engine::open(dir.path(), opts()).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    assert!(err.to_string().contains(&name), "{err}");
}

#[test]
fn flipped_byte_in_the_manifest_fails_open_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path());
    let current = std::fs::read_to_string(dir.path().join("CURRENT")).unwrap();
    let manifest = dir.path().join(current.trim());
    flip(&manifest, 20);
    let err = Engine::open(dir.path(), opts()).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    assert!(err.to_string().contains(current.trim()), "{err}");
}

#[test]
fn a_missing_table_fails_open_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let sst = fill(dir.path());
    std::fs::remove_file(&sst[0]).unwrap();
    let err = Engine::open(dir.path(), opts()).unwrap_err();
    let name = sst[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(err.to_string().contains(&name), "{err}");
}

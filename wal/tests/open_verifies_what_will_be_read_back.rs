//! Start-up time must not grow with the history a log retains: `Wal::open` verifies
//! record by record only what the caller will read back (`verify_from` on) and the last
//! segment; older segments get a header check. Damage there is still found by a full
//! open and by `verify_dir`.

mod common;

use std::os::unix::fs::FileExt;

use common::*;
use warren_wal::{list_segments, verify_dir, Wal, WalError, WalOptions};

#[test]
fn damage_below_verify_from_does_not_stop_an_open_that_will_not_read_it() {
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        {
            let wal = Wal::open(dir.path(), small_opts(backend, 8 << 10)).unwrap();
            append_all(&wal, 1..=400);
        }
        let segments = list_segments(dir.path()).unwrap();
        assert!(segments.len() >= 4, "{segments:?}");
        // Flip a byte in the middle of the first segment's records.
        let first = &segments[0].1;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(first)
            .unwrap();
        let mut b = [0u8; 1];
        f.read_exact_at(&mut b, 2000).unwrap();
        f.write_all_at(&[b[0] ^ 0xff], 2000).unwrap();
        drop(f);

        // Everything verified: the damage stops the open, naming the file.
        let full = Wal::open(dir.path(), small_opts(backend, 8 << 10));
        match full {
            Err(WalError::Corrupt { file, .. }) => assert_eq!(&file, first),
            Err(e) => panic!("expected Corrupt, got {e}"),
            Ok(_) => panic!("a full open accepted a damaged record"),
        }
        // Reading back from the third segment on: the first is not read, so it opens,
        // and what it reads back is intact.
        let from = segments[2].0;
        let opts = WalOptions {
            verify_from: from,
            ..small_opts(backend, 8 << 10)
        };
        let wal = Wal::open(dir.path(), opts).unwrap();
        let seqs: Vec<u64> = (from..=400).collect();
        assert_records(&read_all(&wal, from), &seqs);
        append_all(&wal, 401..=410);
        drop(wal);
        // The offline check still reports it.
        assert!(!verify_dir(dir.path()).unwrap().is_clean());
    }
}

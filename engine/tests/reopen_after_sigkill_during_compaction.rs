//! A child process writes with compactions going and is SIGKILLed while a compaction
//! runs; the engine must reopen cleanly (no half-written table may be live, obsolete files
//! are removed) with every write at or below `persisted_seq` intact.

mod common;

use warren_engine::{Compression, EngineOptions};

fn opts() -> EngineOptions {
    EngineOptions {
        memtable_bytes: 128 << 10,
        compression: Compression::Zstd { level: 3 },
        level1_bytes: 1 << 20,
        target_file_bytes: 256 << 10,
        ..common::small_opts()
    }
}

#[test]
fn reopen_after_sigkill_during_compaction() {
    common::crash_test(
        "reopen_after_sigkill_during_compaction",
        opts(),
        "compaction",
        |l| l.contains("compactions_running=1"),
    );
}

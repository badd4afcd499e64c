//! A child process writes with flushes going and is SIGKILLed while a flush runs; the
//! engine must reopen cleanly with every write at or below `persisted_seq` intact.

mod common;

use warren_engine::{Compression, EngineOptions};

fn opts() -> EngineOptions {
    EngineOptions {
        // Larger memtables and heavier compression make each flush take a while.
        memtable_bytes: 512 << 10,
        compression: Compression::Zstd { level: 9 },
        l0_compaction_trigger: 8,
        l0_stall_files: 24,
        ..common::small_opts()
    }
}

#[test]
fn reopen_after_sigkill_during_flush() {
    common::crash_test("reopen_after_sigkill_during_flush", opts(), "flush", |l| {
        l.contains("flushes_running=1")
    });
}

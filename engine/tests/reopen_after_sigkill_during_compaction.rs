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
    if let Some(dir) = std::env::var_os(common::CHILD_ENV) {
        common::crash_child(std::path::Path::new(&dir), opts());
        return;
    }
    let targeted = common::crash_parent("reopen_after_sigkill_during_compaction", opts(), 4, |l| {
        l.contains("compactions_running=1")
    });
    eprintln!("{targeted}/4 kills landed while a compaction was running");
    assert!(targeted >= 1, "never caught a compaction in progress");
}

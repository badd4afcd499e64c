//! Log retention: the txn log keeps only what the server may still need. Every
//! `warren.logPurgeIntervalMs` (10 s), segments are deleted whose records all lie below
//! both the engine's persisted zxid (recovery replays from there) and the retention window
//! (`warren.retentionTxns`, so `replay` and point-in-time reads can still reach back that
//! far). This runs whatever `autopurge.*` says: without it, disk use and the log grow
//! with every write ever made.

use std::sync::Arc;
use std::time::Duration;

use crate::state::Shared;

/// Runs forever.
pub async fn run(shared: Arc<Shared>) {
    let every = Duration::from_millis(shared.config.log_purge_interval_ms.max(100));
    loop {
        tokio::time::sleep(every).await;
        purge_once(&shared);
    }
}

fn purge_once(shared: &Shared) {
    let last = shared.last_zxid().max(0) as u64;
    let keep_from = (shared.engine.persisted_seq() + 1)
        .min(last.saturating_sub(shared.config.retention_txns) + 1);
    match shared.log.purge_below(keep_from) {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            segments = n,
            below = format!("{keep_from:#x}"),
            "purged txn log segments"
        ),
        Err(e) => tracing::warn!("purging the txn log: {e}"),
    }
}

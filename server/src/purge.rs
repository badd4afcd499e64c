//! ZooKeeper's autopurge, for the txn log: every `autopurge.purgeInterval` hours, delete
//! log segments that the engine has persisted and that lie wholly outside the retention
//! window (`warren.retentionTxns`), so `replay` can still reach back that far.

use std::sync::Arc;
use std::time::Duration;

use crate::state::Shared;

/// Runs forever.
pub async fn run(shared: Arc<Shared>) {
    let every = Duration::from_secs(u64::from(shared.config.autopurge_purge_interval_hours) * 3600);
    loop {
        tokio::time::sleep(every).await;
        let last = shared.last_zxid().max(0) as u64;
        let keep_from = (shared.engine.persisted_seq() + 1)
            .min(last.saturating_sub(shared.config.retention_txns) + 1);
        match shared.log.purge_below(keep_from) {
            Ok(n) => tracing::info!(
                segments = n,
                below = format!("{keep_from:#x}"),
                "purged txn log"
            ),
            Err(e) => tracing::warn!("purging the txn log: {e}"),
        }
    }
}

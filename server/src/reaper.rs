//! The container and TTL reaper. An empty container that once had children, and a TTL
//! node without children whose last change is older than its TTL, are deleted through
//! the pipeline as deleteContainer txns, so the deletion is logged like any write. The
//! candidates are their own key space, so the reaper never walks the tree.

use std::sync::Arc;
use std::time::Duration;

use warren_engine::ReadSeq;
use warren_proto::{PathRequest, Request};
use warren_tree::{owner_kind, OwnerKind, TreeError, View, REAP_CANDIDATES};

use crate::acl::Identities;
use crate::prep::WriteOp;
use crate::state::Shared;

/// Runs forever, every `znode.container.checkIntervalMs`, at most
/// `znode.container.maxPerMinute` deletes a minute.
pub async fn run(shared: Arc<Shared>) {
    let interval = Duration::from_millis(shared.config.container_check_interval_ms);
    let server = Arc::new(Identities::server());
    loop {
        tokio::time::sleep(interval).await;
        if !shared.leads() {
            continue;
        }
        let candidates = match tokio::task::block_in_place(|| due(&shared)) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("container reaper: {e}");
                continue;
            }
        };
        let max = shared.config.container_max_per_minute.max(1) as usize;
        let pause = Duration::from_millis(60_000 / max as u64);
        for path in candidates {
            let req = Request::DeleteContainer(PathRequest { path: path.clone() });
            match shared
                .pipeline()
                .submit(0, 0, WriteOp::System(req), server.clone())
                .await
            {
                Ok(_) => tracing::debug!(path, "reaped"),
                Err(e) => tracing::warn!(path, "container reaper: {e}"),
            }
            tokio::time::sleep(pause).await;
        }
    }
}

/// The candidates that are due now.
fn due(shared: &Shared) -> Result<Vec<String>, TreeError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let view = View::new(&shared.engine, None);
    let mut out = Vec::new();
    for kv in shared
        .engine
        .scan_prefix(&[REAP_CANDIDATES], ReadSeq::Latest)?
    {
        let (k, _) = kv?;
        let Ok(path) = String::from_utf8(k[1..].to_vec()) else {
            continue;
        };
        let Some(n) = view.node(&path)? else { continue };
        if n.num_children > 0 {
            continue;
        }
        let due = match owner_kind(n.stat.ephemeral_owner) {
            OwnerKind::Container => n.stat.cversion > 0,
            OwnerKind::Ttl(ttl) => now - n.stat.mtime > ttl,
            _ => false,
        };
        if due {
            out.push(path);
        }
    }
    Ok(out)
}

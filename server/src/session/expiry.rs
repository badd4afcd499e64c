//! Session expiry: a session whose client sent nothing for its timeout is closed by a
//! closeSession txn, logged like any write, so its ephemerals go and watchers hear of it.
//! In an ensemble only the leader expires sessions (see [`crate::ensemble::sessions`]).

use std::sync::Arc;
use std::time::Duration;

use crate::acl::Identities;
use crate::prep::WriteOp;
use crate::state::Shared;

/// Runs forever: every half tick (50 ms to 1 s), closes the sessions past their deadline.
pub async fn run(shared: Arc<Shared>) {
    let tick = Duration::from_millis(u64::from(shared.config.tick_time / 2).clamp(50, 1000));
    let server = Arc::new(Identities::server());
    let mut was_leading = false;
    loop {
        tokio::time::sleep(tick).await;
        if let Some(ensemble) = shared.ensemble.clone() {
            if !crate::ensemble::sessions::tick(&shared, &ensemble, &mut was_leading).await {
                continue;
            }
        }
        for (id, conn) in shared.sessions.take_expired() {
            tracing::info!("session {id:#x} expired");
            if let Some((_, out)) = conn {
                out.close();
            }
            let s = shared.clone();
            let who = server.clone();
            tokio::spawn(async move {
                if let Err(e) = s.pipeline().submit(id, 0, WriteOp::CloseSession, who).await {
                    tracing::warn!("closing expired session {id:#x}: {e}");
                    s.sessions.unmark_closing(id);
                }
            });
        }
    }
}

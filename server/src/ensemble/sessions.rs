//! Sessions in an ensemble: the leader alone expires them (its expiry task runs as in
//! standalone); each follower sends the leader, every half tick, the sessions whose
//! clients are connected to it, and a server that becomes leader gives every session a
//! full timeout from then on.

use std::sync::Arc;

use super::wire::PeerRequest;
use super::Ensemble;
use crate::state::Shared;

/// What the expiry task does on one tick in an ensemble: `true` when this server is the
/// leader and should expire sessions itself.
pub async fn tick(shared: &Arc<Shared>, ensemble: &Ensemble, was_leading: &mut bool) -> bool {
    let leading = ensemble.is_leader();
    if leading && !*was_leading {
        shared.sessions.renew_all();
    }
    *was_leading = leading;
    if leading {
        return true;
    }
    if let Some(leader) = ensemble.member.leader() {
        let ids = shared.sessions.kept_alive_here();
        if let Ok(body) = bincode::serialize(&PeerRequest::Touch(ids)) {
            if let Err(e) = ensemble.member.peers.call(leader, body).await {
                tracing::debug!("touching sessions on the leader: {e}");
            }
        }
    }
    false
}

/// Watches the leader. When it changes, the forwarded writes still waiting here are
/// dropped (their clients' connections close: the old leader may or may not have
/// committed them), and a server that was the leader closes every client connection,
/// since none of its own proposals can be answered with certainty any more. Clients
/// reconnect and keep their sessions, as with ZooKeeper.
pub async fn watch_leader(shared: Arc<Shared>, ensemble: Arc<Ensemble>) {
    let mut metrics = ensemble.member.raft.metrics();
    let mut leader = metrics.borrow().current_leader;
    while metrics.changed().await.is_ok() {
        let now = metrics.borrow().current_leader;
        if now == leader {
            continue;
        }
        tracing::info!(?leader, ?now, "the leader changed");
        if let Some(old) = leader {
            ensemble.drop_sent_to(old);
        }
        if leader == Some(ensemble.member.id) {
            shared.sessions.close_connections();
        }
        leader = now;
    }
}

//! Sessions in an ensemble: the leader alone expires them (its expiry task runs as in
//! standalone); each follower sends the leader, every half tick, the sessions whose
//! clients are connected to it, and a server that becomes leader gives every session a
//! full timeout from then on. A member cut off from its group closes its clients'
//! connections ([`watch_quorum`]).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    if let Some(leader) = ensemble
        .member
        .leader()
        .filter(|&l| l != ensemble.member.id)
    {
        let ids = shared.sessions.kept_alive_here();
        if let Ok(body) = bincode::serialize(&PeerRequest::Touch(ids)) {
            // Queued, not waited for: a leader that does not answer must not hold up
            // the next tick.
            if let Err(e) = ensemble.member.peers.send(leader, body).await {
                tracing::debug!("touching sessions on the leader: {e}");
            }
        }
    }
    false
}

/// How long a member may be out of touch with a working group (no leader heard, or a
/// leader no quorum confirms) before it closes its clients' connections.
const CUT_OFF_AFTER: Duration = Duration::from_secs(1);

/// Closes the client connections of a member cut off from its group, as a ZooKeeper
/// server does when it loses its quorum: its clients reconnect to a member that can
/// serve them, instead of reading a state that may be stale while the majority goes on
/// (and expires their sessions). A failover shorter than [`CUT_OFF_AFTER`] closes
/// nothing.
pub async fn watch_quorum(shared: Arc<Shared>, ensemble: Arc<Ensemble>) {
    let mut out_of_touch_since: Option<Instant> = None;
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if ensemble.member.in_touch() {
            if out_of_touch_since.take().is_some() {
                ensemble.cut_off.store(false, Ordering::SeqCst);
                tracing::info!("back in touch with the ensemble's leader: serving clients");
            }
            continue;
        }
        let since = *out_of_touch_since.get_or_insert_with(Instant::now);
        if since.elapsed() >= CUT_OFF_AFTER && !ensemble.cut_off.swap(true, Ordering::SeqCst) {
            tracing::warn!(
                "cut off from the ensemble's quorum for {:?}: closing client connections \
                 and refusing new ones until it is back",
                since.elapsed()
            );
            shared.sessions.close_connections();
        }
    }
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
        if now.is_some() {
            ensemble.leader_changes.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(old) = leader {
            ensemble.drop_sent_to(old);
        }
        if leader == Some(ensemble.member.id) {
            shared.sessions.close_connections();
        }
        *ensemble.leading_since.lock() =
            (now == Some(ensemble.member.id)).then(std::time::Instant::now);
        leader = now;
    }
}

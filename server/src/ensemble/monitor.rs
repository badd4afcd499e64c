//! The rows `mntr` (and the AdminServer's `monitor`) adds on an ensemble member, as
//! ZooKeeper 3.8 prints them on each role: `zk_peer_state` and `zk_quorum_size` on every
//! member; on the leader also its learners, synced followers, pending syncs, uptime as
//! leader and proposal sizes.

use std::sync::atomic::Ordering;

use super::Ensemble;
use crate::fourlw::json::Json;

/// A follower's sync being answered here, counted while it lives.
pub struct PendingSync<'a>(&'a Ensemble);

impl Drop for PendingSync<'_> {
    fn drop(&mut self) {
        self.0.pending_syncs.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Ensemble {
    /// Counts a follower's sync until the returned guard is dropped.
    pub fn count_sync(&self) -> PendingSync<'_> {
        self.pending_syncs.fetch_add(1, Ordering::Relaxed);
        PendingSync(self)
    }

    /// `zk_peer_state`, for the row after `zk_server_state`.
    pub fn peer_state(&self) -> &'static str {
        self.member.role().peer_state()
    }

    /// The role rows after the standalone ones (names without `zk_`).
    pub fn monitor_rows(&self) -> Vec<(String, Json)> {
        let role = self.member.role();
        let mut out = Vec::new();
        if role.state == openraft::ServerState::Leader {
            let (last, min, max) = self.member.proposals.get();
            let uptime = self
                .leading_since
                .lock()
                .map_or(0, |t| t.elapsed().as_millis() as i64);
            out.extend([
                ("min_proposal_size", min.into()),
                ("max_proposal_size", max.into()),
                ("last_proposal_size", last.into()),
                ("synced_followers", (role.synced_followers as i64).into()),
                ("synced_non_voting_followers", 0i64.into()),
                ("synced_observers", (role.synced_observers as i64).into()),
                (
                    "pending_syncs",
                    self.pending_syncs.load(Ordering::Relaxed).into(),
                ),
                ("leader_uptime", uptime.into()),
                ("learners", (role.learners as i64).into()),
            ]);
        }
        out.push(("quorum_size", (role.quorum_size as i64).into()));
        out.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }
}

//! Which member owns each session, as ZooKeeper's leader tracks it: the member where the
//! session was created, then the one its client last reconnected to (that member tells
//! the leader before it answers the reconnect). A write that reaches the leader through
//! any other member comes from a connection the client has left, and gets SESSIONMOVED
//! (-118), so a client never has two connections writing for one session.
//!
//! The table is the leader's alone and starts empty on a new leader, which learns each
//! owner from the next write or reconnect.

use super::wire::PeerRequest;
use super::Ensemble;
use crate::pipeline::PipelineError;

impl Ensemble {
    /// Records `owner` as the member of `session`'s client.
    pub fn set_owner(&self, session: i64, owner: u64) {
        self.owners.lock().insert(session, owner);
    }

    /// Checks that a write of `session` comes through its owner (learning the owner of
    /// a session this leader has not seen yet).
    ///
    /// # Errors
    /// [`PipelineError::SessionMoved`] when another member owns the session.
    pub fn check_owner(&self, session: i64, via: u64) -> Result<(), PipelineError> {
        let mut owners = self.owners.lock();
        match owners.get(&session) {
            Some(&owner) if owner != via => Err(PipelineError::SessionMoved),
            Some(_) => Ok(()),
            None => {
                owners.insert(session, via);
                Ok(())
            }
        }
    }

    /// Forgets a closed session.
    pub fn forget_owner(&self, session: i64) {
        self.owners.lock().remove(&session);
    }

    /// A client reconnected here with `session`: this member owns it now. The leader is
    /// told before the reconnect is answered, so the client's next writes find it so.
    pub async fn revalidate(&self, session: i64) {
        if self.is_leader() {
            self.set_owner(session, self.member.id);
            return;
        }
        let Some(leader) = self.member.leader().filter(|&l| l != self.member.id) else {
            return;
        };
        if let Ok(body) = bincode::serialize(&PeerRequest::Revalidate(session)) {
            let call = self.member.peers.call(leader, body);
            if tokio::time::timeout(super::forward::LEADER_WAIT, call)
                .await
                .is_err()
            {
                tracing::warn!("session {session:#x}: the leader did not confirm the move");
            }
        }
    }
}

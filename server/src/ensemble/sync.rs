//! `sync`: a follower asks the leader for its commit point (the leader first confirms
//! with a quorum that it still leads, so a deposed leader cannot answer) and replies only
//! once it has applied up to there itself. Reads after the sync's reply see every write
//! committed before the sync was sent, wherever it was made: ZooKeeper's meaning of
//! `sync`, which is not a log entry here either.

use std::time::{Duration, Instant};

use super::forward::LEADER_WAIT;
use super::service::read_index;
use super::wire::{PeerRequest, PeerResponse};
use super::Ensemble;
use crate::state::Shared;

/// Why a sync could not complete.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("no leader answered within {0:?}")]
    NoLeader(Duration),
    #[error("the leader could not confirm its commit point: {0}")]
    Leader(String),
    #[error("this server did not catch up to zxid {0:#x} in time")]
    Behind(i64),
}

impl Ensemble {
    /// Catches this server up to the leader's commit point.
    ///
    /// # Errors
    /// [`SyncError`] when no leader answers or this server does not catch up in time.
    pub async fn sync_with_leader(&self, shared: &Shared) -> Result<(), SyncError> {
        let deadline = Instant::now() + LEADER_WAIT;
        let zxid = loop {
            if self.is_leader() {
                break read_index(shared).await.map_err(SyncError::Leader)?;
            }
            if let Some(leader) = self.member.leader().filter(|&l| l != self.member.id) {
                if let Some(z) = self.ask_read_index(leader).await? {
                    break z;
                }
            }
            if Instant::now() > deadline {
                return Err(SyncError::NoLeader(LEADER_WAIT));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        while shared.last_zxid() < zxid {
            if Instant::now() > deadline {
                return Err(SyncError::Behind(zxid));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(())
    }

    /// The leader's read index; `None` when it cannot be asked now (try again).
    async fn ask_read_index(&self, leader: u64) -> Result<Option<i64>, SyncError> {
        let Ok(body) = bincode::serialize(&PeerRequest::ReadIndex) else {
            return Ok(None);
        };
        let Ok(bytes) = self.member.peers.call(leader, body).await else {
            return Ok(None);
        };
        match bincode::deserialize::<PeerResponse>(&bytes) {
            Ok(PeerResponse::ReadIndex(Ok(z))) => Ok(Some(z)),
            Ok(PeerResponse::ReadIndex(Err(e))) => Err(SyncError::Leader(e)),
            _ => Ok(None),
        }
    }
}

//! The leader's side of the application channel: forwarded writes enter its pipeline
//! like its own clients' writes, and session touches renew deadlines.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use warren_replication::network::AppService;

use super::wire::{ForwardError, PeerRequest, PeerResponse};
use crate::state::Shared;

/// The server's [`AppService`]; it answers `NotReady` until the server has started.
#[derive(Clone, Default)]
pub struct PeerService {
    pub shared: Arc<OnceLock<Arc<Shared>>>,
}

impl AppService for PeerService {
    fn call(&self, _from: u64, body: Vec<u8>) -> Pin<Box<dyn Future<Output = Vec<u8>> + Send>> {
        let shared = self.shared.get().cloned();
        Box::pin(async move {
            let answer = match shared {
                None => PeerResponse::NotReady,
                Some(s) => answer(&s, &body).await,
            };
            bincode::serialize(&answer).unwrap_or_default()
        })
    }
}

async fn answer(shared: &Arc<Shared>, body: &[u8]) -> PeerResponse {
    let req = match bincode::deserialize::<PeerRequest>(body) {
        Ok(r) => r,
        Err(e) => return PeerResponse::Malformed(e.to_string()),
    };
    match req {
        PeerRequest::Touch(ids) => {
            for id in ids {
                shared.sessions.touch(id);
            }
            PeerResponse::Touched
        }
        PeerRequest::ReadIndex => PeerResponse::ReadIndex(read_index(shared).await),
        PeerRequest::Write(w) => {
            if !shared.leads() {
                return PeerResponse::Write(Err(ForwardError::NotLeader));
            }
            let (session, cxid) = (w.session, w.cxid);
            let (op, who) = match w.into_op() {
                Ok(x) => x,
                Err(e) => return PeerResponse::Malformed(e),
            };
            let result = shared
                .pipeline()
                .submit(session, cxid, op, Arc::new(who))
                .await;
            PeerResponse::Write(result.map(|(zxid, _)| zxid).map_err(ForwardError::from))
        }
    }
}

/// On the leader: confirms with a quorum that it still leads, waits until it has applied
/// everything committed before, and returns the zxid applied then.
pub async fn read_index(shared: &Shared) -> Result<i64, String> {
    let ensemble = shared.ensemble.as_ref().ok_or("not an ensemble member")?;
    ensemble
        .member
        .raft
        .ensure_linearizable()
        .await
        .map_err(|e| e.to_string())?;
    Ok(shared.last_zxid())
}

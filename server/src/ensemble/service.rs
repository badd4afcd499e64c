//! The leader's side of the application channel: forwarded writes enter its pipeline
//! like its own clients' writes, in the order they arrived (so one session's writes
//! commit in the order it sent them), and session touches renew deadlines.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use warren_replication::network::AppService;

use super::wire::{ForwardError, ForwardedWrite, PeerRequest, PeerResponse};
use crate::pipeline::PipelineError;
use crate::state::Shared;

type Answer = Pin<Box<dyn Future<Output = Vec<u8>> + Send>>;

/// The server's [`AppService`]; it answers `NotReady` until the server has started.
#[derive(Clone, Default)]
pub struct PeerService {
    pub shared: Arc<OnceLock<Arc<Shared>>>,
}

fn encode(r: &PeerResponse) -> Vec<u8> {
    bincode::serialize(r).unwrap_or_default()
}

fn ready(r: PeerResponse) -> Answer {
    let bytes = encode(&r);
    Box::pin(async move { bytes })
}

impl AppService for PeerService {
    fn call(&self, from: u64, body: Vec<u8>) -> Answer {
        let Some(shared) = self.shared.get().cloned() else {
            return ready(PeerResponse::NotReady);
        };
        let req = match bincode::deserialize::<PeerRequest>(&body) {
            Ok(r) => r,
            Err(e) => return ready(PeerResponse::Malformed(e.to_string())),
        };
        match req {
            PeerRequest::Touch(ids) => {
                for id in ids {
                    shared.sessions.touch(id);
                }
                ready(PeerResponse::Touched)
            }
            PeerRequest::ReadIndex => Box::pin(async move {
                let pending = shared.ensemble.as_ref().map(|e| e.count_sync());
                let answer = read_index(&shared).await;
                drop(pending);
                encode(&PeerResponse::ReadIndex(answer))
            }),
            PeerRequest::Revalidate(session) => {
                if let Some(e) = &shared.ensemble {
                    e.set_owner(session, from);
                }
                ready(PeerResponse::Touched)
            }
            PeerRequest::Write(w) => submit(&shared, from, w),
        }
    }
}

/// Hands a forwarded write to the pipeline now; the answer waits for its commit.
fn submit(shared: &Arc<Shared>, from: u64, w: ForwardedWrite) -> Answer {
    let (session, cxid) = (w.session, w.cxid);
    let (op, who) = match w.into_op() {
        Ok(x) => x,
        Err(e) => return ready(PeerResponse::Malformed(e)),
    };
    let rx = shared
        .pipeline()
        .submit_from_peer(from, session, cxid, op, Arc::new(who));
    Box::pin(async move {
        let result = rx.await.unwrap_or(Err(PipelineError::Stopped));
        encode(&PeerResponse::Write(
            result.map(|(zxid, _)| zxid).map_err(ForwardError::from),
        ))
    })
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

//! A follower's writes go to the leader, which decides, proposes and commits them; the
//! follower answers its client when its applier applies the committed txn (found by
//! session and cxid), with the outcome computed here by the one apply function.
//!
//! While no leader is known (an election), a write waits for one, for up to
//! [`LEADER_WAIT`]; a leader that answers "not the leader" (it just lost its term) is
//! asked again the same way. When this server has become the leader meanwhile, it takes
//! the write itself, as it would from a follower.

use std::sync::Arc;
use std::time::{Duration, Instant};

use warren_replication::network::app::CallError;
use warren_replication::network::AppService;

use super::wire::{ForwardError, ForwardedWrite, PeerRequest, PeerResponse};
use super::{Ensemble, Forwarded};
use crate::pipeline::{PipelineError, WriteRequest};

/// How long a write waits for a leader.
pub const LEADER_WAIT: Duration = Duration::from_secs(3);

impl Ensemble {
    /// Sends `req` to the leader; its answer comes through the applier, or from here
    /// when the leader refuses it.
    pub fn forward(self: &Arc<Self>, req: WriteRequest) {
        let key = (req.session, req.cxid);
        let body = match bincode::serialize(&PeerRequest::Write(ForwardedWrite::of(&req))) {
            Ok(b) => b,
            Err(e) => {
                let _ = req.reply.send(Err(PipelineError::Rejected(e.to_string())));
                return;
            }
        };
        let waiting = Forwarded {
            waiter: req.reply,
            sent_to: None,
        };
        self.forwarded.lock().insert(key, waiting);
        let me = self.clone();
        self.runtime.spawn(async move {
            if let Err(e) = me.send_to_leader(key, body).await {
                if let Some(w) = me.take_forwarded(key.0, key.1) {
                    let _ = w.send(Err(e.into()));
                }
            }
        });
    }

    async fn send_to_leader(&self, key: (i64, i32), body: Vec<u8>) -> Result<i64, ForwardError> {
        let deadline = Instant::now() + LEADER_WAIT;
        loop {
            let attempt = match self.member.leader() {
                Some(l) if l == self.member.id && self.member.is_leader() => {
                    Ok(self.service.call(l, body.clone()).await)
                }
                Some(l) if l != self.member.id => {
                    if !self.mark_sent(key, Some(l)) {
                        // Dropped meanwhile: its client has been told.
                        return Ok(0);
                    }
                    self.member.peers.call(l, body.clone()).await
                }
                _ => Ok(
                    bincode::serialize(&PeerResponse::Write(Err(ForwardError::NotLeader)))
                        .unwrap_or_default(),
                ),
            };
            let answer = match attempt {
                Ok(bytes) => bincode::deserialize::<PeerResponse>(&bytes)
                    .map_err(|e| ForwardError::Unknown(format!("the leader's answer: {e}")))?,
                // Not sent (the leader is gone): as good as no leader yet.
                Err(CallError::NotSent(_)) => {
                    self.mark_sent(key, None);
                    PeerResponse::Write(Err(ForwardError::NotLeader))
                }
                // Sent, perhaps applied: nobody can say.
                Err(e @ CallError::Lost) => {
                    return Err(ForwardError::Unknown(format!("the leader: {e}")))
                }
            };
            match answer {
                PeerResponse::Write(Ok(zxid)) => return Ok(zxid),
                PeerResponse::Write(Err(ForwardError::NotLeader)) | PeerResponse::NotReady
                    if Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                PeerResponse::Write(Err(e)) => return Err(e),
                PeerResponse::NotReady => return Err(ForwardError::NotLeader),
                other => {
                    return Err(ForwardError::Unknown(format!(
                        "the leader answered {other:?}"
                    )))
                }
            }
        }
    }
}

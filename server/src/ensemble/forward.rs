//! A follower's writes go to the leader, which decides, proposes and commits them; the
//! follower answers its client when its applier applies the committed txn (found by
//! session and cxid), with the outcome computed here by the one apply function.
//!
//! One forwarder task sends them, in the order the writer took them, over the one
//! connection to the leader, and the leader starts them in arrival order: a session's
//! writes commit in the order it sent them. While no leader is known (an election), the
//! queue waits for one, for up to [`LEADER_WAIT`] per write. When this server has become
//! the leader meanwhile, it takes the writes itself, as it would from a follower.
//!
//! A write the leader refused because it no longer leads is answered with "outcome
//! unknown" (its connection closes): writes sent after it may already have gone on, so
//! sending it again could reorder the session's writes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use warren_replication::network::app::CallError;
use warren_replication::network::AppService;

use super::wire::{ForwardError, ForwardedWrite, PeerRequest, PeerResponse};
use super::{Ensemble, Forwarded};
use crate::pipeline::{PipelineError, WriteRequest};

/// How long a write waits for a leader.
pub const LEADER_WAIT: Duration = Duration::from_secs(3);

/// A write in the forwarder's queue: its (session, cxid) and its encoded request.
pub type Queued = ((i64, i32), Vec<u8>);

impl Ensemble {
    /// Queues `req` for the leader; its answer comes through the applier, or from the
    /// forwarder when the leader refuses it.
    pub fn forward(&self, req: WriteRequest) {
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
        if self.queue.send((key, body)).is_err() {
            self.fail(key, ForwardError::Unknown("the forwarder stopped".into()));
        }
    }

    /// Answers a forwarded write with `e`, if it is still waiting.
    fn fail(&self, key: (i64, i32), e: ForwardError) {
        if let Some(w) = self.take_forwarded(key.0, key.1) {
            let _ = w.send(Err(e.into()));
        }
    }

    /// The forwarder: sends the queued writes, in order, until the queue closes.
    pub async fn run_forwarder(self: Arc<Self>, mut queue: mpsc::UnboundedReceiver<Queued>) {
        while let Some((key, body)) = queue.recv().await {
            match self.send_one(key, body).await {
                Ok(answer) => {
                    let me = self.clone();
                    tokio::spawn(async move { me.settle(key, answer).await });
                }
                Err(e) => self.fail(key, e),
            }
        }
    }

    /// Puts one write on its way to the leader (or into this server's pipeline, once it
    /// leads) and returns the receiver of the leader's answer.
    async fn send_one(
        &self,
        key: (i64, i32),
        body: Vec<u8>,
    ) -> Result<oneshot::Receiver<Vec<u8>>, ForwardError> {
        let deadline = Instant::now() + LEADER_WAIT;
        loop {
            match self.member.leader() {
                Some(l) if l == self.member.id && self.is_leader() => {
                    let answer = self.service.call(l, body);
                    let (tx, rx) = oneshot::channel();
                    tokio::spawn(async move {
                        let _ = tx.send(answer.await);
                    });
                    return Ok(rx);
                }
                Some(l) if l != self.member.id => {
                    if !self.mark_sent(key, Some(l)) {
                        return Err(ForwardError::Unknown("dropped".into()));
                    }
                    match self.member.peers.send(l, body.clone()).await {
                        Ok(rx) => return Ok(rx),
                        // Not sent: the leader is gone, as good as no leader yet.
                        Err(CallError::NotSent(_)) => {
                            self.mark_sent(key, None);
                        }
                        Err(e @ CallError::Lost) => {
                            return Err(ForwardError::Unknown(format!("the leader: {e}")))
                        }
                    }
                }
                _ => {}
            }
            if Instant::now() > deadline {
                return Err(ForwardError::NotLeader);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the leader's answer to one write: a commit is answered by the applier;
    /// anything else here.
    async fn settle(&self, key: (i64, i32), answer: oneshot::Receiver<Vec<u8>>) {
        let e = match answer.await {
            Err(_) => ForwardError::Unknown("the connection to the leader closed".into()),
            Ok(bytes) => match bincode::deserialize::<PeerResponse>(&bytes) {
                Ok(PeerResponse::Write(Ok(_))) => return,
                Ok(PeerResponse::Write(Err(ForwardError::NotLeader)) | PeerResponse::NotReady) => {
                    ForwardError::Unknown("the leader stopped leading".into())
                }
                Ok(PeerResponse::Write(Err(e))) => e,
                Ok(other) => ForwardError::Unknown(format!("the leader answered {other:?}")),
                Err(e) => ForwardError::Unknown(format!("the leader's answer: {e}")),
            },
        };
        self.fail(key, e);
    }
}

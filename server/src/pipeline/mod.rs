//! The write pipeline: decide → propose → commit → apply → reply, in zxid order.
//!
//! Two threads share the work, so that many writes can wait on one fsync (or one quorum
//! round):
//!
//! - the **writer** ([`writer`]) takes write requests one at a time, decides each one's
//!   txn against the applied state plus every txn proposed before it (the overlay), and
//!   proposes it to the [`TxnLog`] without waiting;
//! - the **applier** ([`applier`]) takes committed txns from the log in zxid order,
//!   applies each through the tree's one apply function, fires the watches, and only
//!   then answers the client.
//!
//! So a reply means the txn is committed (durable), and readers never see a change that
//! could be lost in a crash. The log gives each txn its zxid, so a decision carries only
//! the zxid it was decided with as a hint: when the committed zxid equals it (always, in
//! a one-member group), the changes worked out while deciding are the changes the apply
//! function computes, and are applied as they are; otherwise the apply function runs.
//!
//! **Fail-stop.** When the log or the engine fails (a write, an fsync, a full disk), the
//! pipeline answers nothing more and the server stops with a non-zero exit, as ZooKeeper
//! does: a txn whose fsync failed may or may not be on disk, so no client may be told
//! either way, and a server that cannot log can no longer expire sessions. Clients see
//! their connection drop and fail over; a restart recovers every acknowledged write from
//! the log.

pub mod applier;
pub mod writer;

use std::sync::mpsc;
use std::sync::Arc;

use tokio::sync::oneshot;
use warren_proto::ErrorCode;

use crate::acl::Identities;
use crate::log::LogError;
use crate::prep::WriteOp;
use crate::state::Shared;
use warren_tree::Outcome;

/// Why a write got no outcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    /// The session is gone or closing.
    #[error("the session has expired or is closing")]
    SessionExpired,
    /// The session has moved to a connection on another server (ensembles).
    #[error("the session has moved to another server")]
    SessionMoved,
    /// This one txn could not be logged (too large); the server goes on.
    #[error("{0}")]
    Rejected(String),
    /// This server is not the leader of its group.
    #[error("this server is not the leader")]
    NotLeader,
    /// Storage failed: the server is stopping (fail-stop); the outcome is unknown.
    #[error("storage failure, the server is stopping: {0}")]
    Storage(String),
    /// The server is stopping.
    #[error("the server is stopping")]
    Stopped,
}

impl PipelineError {
    /// The error code a client is answered with. Storage failures and stops get no
    /// answer at all (the connection closes), so their code only matters internally.
    pub fn code(&self) -> ErrorCode {
        match self {
            PipelineError::SessionExpired => ErrorCode::SESSION_EXPIRED,
            PipelineError::SessionMoved => ErrorCode::SESSION_MOVED,
            PipelineError::NotLeader => ErrorCode::CONNECTION_LOSS,
            PipelineError::Rejected(_) | PipelineError::Storage(_) | PipelineError::Stopped => {
                ErrorCode::SYSTEM_ERROR
            }
        }
    }

    /// Whether the client must not be answered: the txn's fate is unknown.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, PipelineError::Storage(_) | PipelineError::Stopped)
    }
}

impl From<LogError> for PipelineError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::TooLarge { .. } => PipelineError::Rejected(e.to_string()),
            LogError::Storage(s) => PipelineError::Storage(s),
            LogError::NotLeader => PipelineError::NotLeader,
        }
    }
}

/// The answer to a write: the txn's zxid and outcome, or why there is none.
pub type WriteResult = Result<(i64, Outcome), PipelineError>;

/// A write on its way into the pipeline.
pub struct WriteRequest {
    pub session: i64,
    pub cxid: i32,
    pub op: WriteOp,
    pub who: Arc<Identities>,
    pub reply: oneshot::Sender<WriteResult>,
    /// Forwarded by member N: decided here or refused, never forwarded again. The
    /// session's client is connected to N (to this server when `None`).
    pub from_peer: Option<u64>,
}

/// The entry point of the pipeline.
#[derive(Clone)]
pub struct Pipeline {
    tx: mpsc::Sender<WriteRequest>,
}

impl Pipeline {
    /// Starts the writer and applier threads.
    ///
    /// # Errors
    /// When a thread cannot be started.
    pub fn start(shared: Arc<Shared>) -> std::io::Result<Pipeline> {
        let (tx, rx) = mpsc::channel::<WriteRequest>();
        let (wtx, wrx) = mpsc::channel::<writer::Waiting>();
        let s = shared.clone();
        std::thread::Builder::new()
            .name("warren-writer".into())
            .spawn(move || writer::run(&s, rx, wtx))?;
        std::thread::Builder::new()
            .name("warren-applier".into())
            .spawn(move || applier::run(&shared, wrx))?;
        Ok(Pipeline { tx })
    }

    /// Submits a write and waits for its outcome.
    pub async fn submit(
        &self,
        session: i64,
        cxid: i32,
        op: WriteOp,
        who: Arc<Identities>,
    ) -> WriteResult {
        self.submit_nowait(session, cxid, op, who)
            .await
            .unwrap_or(Err(PipelineError::Stopped))
    }

    /// Submits a write and returns the receiver of its outcome, so the caller can queue
    /// it behind earlier replies without waiting here.
    pub fn submit_nowait(
        &self,
        session: i64,
        cxid: i32,
        op: WriteOp,
        who: Arc<Identities>,
    ) -> oneshot::Receiver<WriteResult> {
        self.enqueue(session, cxid, op, who, None)
    }

    /// Submits a write another member forwarded (see [`crate::ensemble::service`]).
    pub fn submit_from_peer(
        &self,
        peer: u64,
        session: i64,
        cxid: i32,
        op: WriteOp,
        who: Arc<Identities>,
    ) -> oneshot::Receiver<WriteResult> {
        self.enqueue(session, cxid, op, who, Some(peer))
    }

    fn enqueue(
        &self,
        session: i64,
        cxid: i32,
        op: WriteOp,
        who: Arc<Identities>,
        from_peer: Option<u64>,
    ) -> oneshot::Receiver<WriteResult> {
        let (reply, rx) = oneshot::channel();
        let req = WriteRequest {
            session,
            cxid,
            op,
            who,
            reply,
            from_peer,
        };
        if let Err(mpsc::SendError(req)) = self.tx.send(req) {
            let _ = req.reply.send(Err(PipelineError::Stopped));
        }
        rx
    }
}

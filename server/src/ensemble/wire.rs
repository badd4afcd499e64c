//! What members ask each other on the application channel: a follower forwards a write
//! to the leader, and tells it which sessions its clients kept alive.

use serde::{Deserialize, Serialize};
use warren_proto::jute::Reader;
use warren_proto::records::Id;
use warren_proto::request::Request;

use crate::acl::Identities;
use crate::pipeline::{PipelineError, WriteRequest};
use crate::prep::WriteOp;

/// A request to another member.
#[derive(Debug, Serialize, Deserialize)]
pub enum PeerRequest {
    Write(ForwardedWrite),
    /// Sessions whose clients were heard from since the last touch.
    Touch(Vec<i64>),
    /// The leader's commit point, confirmed by a quorum, as the zxid applied there.
    ReadIndex,
    /// This session's client has just reconnected to the sending member, which owns it
    /// from now on.
    Revalidate(i64),
}

/// A member's answer.
#[derive(Debug, Serialize, Deserialize)]
pub enum PeerResponse {
    /// The write committed at this zxid, or why it did not.
    Write(Result<i64, ForwardError>),
    Touched,
    /// The zxid a follower must have applied to be as current as the leader was when
    /// it was asked, or why the leader could not tell.
    ReadIndex(Result<i64, String>),
    /// The member has not finished starting.
    NotReady,
    /// The request did not decode.
    Malformed(String),
}

/// Why a forwarded write has no zxid.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ForwardError {
    SessionExpired,
    SessionMoved,
    NotLeader,
    Rejected(String),
    /// The outcome is not known (the leader is stopping, or failed).
    Unknown(String),
}

impl From<PipelineError> for ForwardError {
    fn from(e: PipelineError) -> Self {
        match e {
            PipelineError::SessionExpired => ForwardError::SessionExpired,
            PipelineError::SessionMoved => ForwardError::SessionMoved,
            PipelineError::NotLeader => ForwardError::NotLeader,
            PipelineError::Rejected(s) => ForwardError::Rejected(s),
            e @ (PipelineError::Storage(_) | PipelineError::Stopped) => {
                ForwardError::Unknown(e.to_string())
            }
        }
    }
}

impl From<ForwardError> for PipelineError {
    fn from(e: ForwardError) -> Self {
        match e {
            ForwardError::SessionExpired => PipelineError::SessionExpired,
            ForwardError::SessionMoved => PipelineError::SessionMoved,
            ForwardError::NotLeader => PipelineError::NotLeader,
            ForwardError::Rejected(s) => PipelineError::Rejected(s),
            ForwardError::Unknown(_) => PipelineError::Stopped,
        }
    }
}

/// A write request as it travels to the leader.
#[derive(Debug, Serialize, Deserialize)]
pub struct ForwardedWrite {
    pub session: i64,
    pub cxid: i32,
    pub op: WireOp,
    pub ids: Vec<(String, String)>,
    pub is_super: bool,
}

/// [`WriteOp`] on the wire: requests as their opcode and jute body.
#[derive(Debug, Serialize, Deserialize)]
pub enum WireOp {
    Client { op: i32, body: Vec<u8> },
    CreateSession { timeout_ms: u32 },
    CloseSession,
    System { op: i32, body: Vec<u8> },
}

fn request_bytes(r: &Request) -> (i32, Vec<u8>) {
    let mut body = Vec::new();
    r.encode_body(&mut body);
    (r.op(), body)
}

fn decode_request(op: i32, body: &[u8]) -> Result<Request, String> {
    Request::decode(op, &mut Reader::new(body)).map_err(|e| e.to_string())
}

impl ForwardedWrite {
    /// The wire form of `req`.
    pub fn of(req: &WriteRequest) -> ForwardedWrite {
        let op = match &req.op {
            WriteOp::Client(r) => {
                let (op, body) = request_bytes(r);
                WireOp::Client { op, body }
            }
            WriteOp::System(r) => {
                let (op, body) = request_bytes(r);
                WireOp::System { op, body }
            }
            WriteOp::CreateSession { timeout_ms } => WireOp::CreateSession {
                timeout_ms: *timeout_ms,
            },
            WriteOp::CloseSession => WireOp::CloseSession,
        };
        ForwardedWrite {
            session: req.session,
            cxid: req.cxid,
            op,
            ids: req
                .who
                .ids
                .iter()
                .map(|i| (i.scheme.clone(), i.id.clone()))
                .collect(),
            is_super: req.who.is_super,
        }
    }

    /// The write op and the identities it runs with.
    ///
    /// # Errors
    /// A request body that does not decode.
    pub fn into_op(self) -> Result<(WriteOp, Identities), String> {
        let op = match self.op {
            WireOp::Client { op, body } => WriteOp::Client(decode_request(op, &body)?),
            WireOp::System { op, body } => WriteOp::System(decode_request(op, &body)?),
            WireOp::CreateSession { timeout_ms } => WriteOp::CreateSession { timeout_ms },
            WireOp::CloseSession => WriteOp::CloseSession,
        };
        let who = Identities {
            ids: self
                .ids
                .into_iter()
                .map(|(scheme, id)| Id { scheme, id })
                .collect(),
            is_super: self.is_super,
        };
        Ok((op, who))
    }
}

//! Requests decoded by opcode, and multi's framing of ops and results.

use crate::consts::op;
use crate::error::JuteError;
use crate::jute::{JVec, Jute, Reader, Writer};
use crate::records::*;

/// A client request body, decoded according to the header's opcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// create (1), create2 (15) and createContainer (19), told apart by `op`.
    Create {
        op: i32,
        req: CreateRequest,
    },
    CreateTtl(CreateTtlRequest),
    Delete(PathVersionRequest),
    Exists(PathWatchRequest),
    GetData(PathWatchRequest),
    SetData(SetDataRequest),
    GetAcl(PathRequest),
    SetAcl(SetAclRequest),
    GetChildren(PathWatchRequest),
    GetChildren2(PathWatchRequest),
    Sync(PathRequest),
    Ping,
    Check(PathVersionRequest),
    Multi(Vec<Request>),
    MultiRead(Vec<Request>),
    Reconfig(ReconfigRequest),
    CheckWatches(WatchesRequest),
    RemoveWatches(WatchesRequest),
    DeleteContainer(PathRequest),
    Auth(AuthPacket),
    SetWatches(SetWatches),
    SetWatches2(SetWatches2),
    Sasl(SaslRequest),
    GetEphemerals(PathRequest),
    GetAllChildrenNumber(PathRequest),
    AddWatch(AddWatchRequest),
    WhoAmI,
    CloseSession,
}

impl Request {
    /// Decodes the body that follows a `RequestHeader` with opcode `op`.
    ///
    /// # Errors
    /// [`JuteError::Unknown`] for an opcode clients may not send; other errors for a body
    /// that does not decode.
    pub fn decode(op: i32, r: &mut Reader<'_>) -> Result<Request, JuteError> {
        Ok(match op {
            op::CREATE | op::CREATE2 | op::CREATE_CONTAINER => Request::Create {
                op,
                req: CreateRequest::read(r)?,
            },
            op::CREATE_TTL => Request::CreateTtl(Jute::read(r)?),
            op::DELETE => Request::Delete(Jute::read(r)?),
            op::EXISTS => Request::Exists(Jute::read(r)?),
            op::GET_DATA => Request::GetData(Jute::read(r)?),
            op::SET_DATA => Request::SetData(Jute::read(r)?),
            op::GET_ACL => Request::GetAcl(Jute::read(r)?),
            op::SET_ACL => Request::SetAcl(Jute::read(r)?),
            op::GET_CHILDREN => Request::GetChildren(Jute::read(r)?),
            op::GET_CHILDREN2 => Request::GetChildren2(Jute::read(r)?),
            op::SYNC => Request::Sync(Jute::read(r)?),
            op::PING => Request::Ping,
            op::CHECK => Request::Check(Jute::read(r)?),
            op::MULTI => Request::Multi(decode_multi(r)?),
            op::MULTI_READ => Request::MultiRead(decode_multi(r)?),
            op::RECONFIG => Request::Reconfig(Jute::read(r)?),
            op::CHECK_WATCHES => Request::CheckWatches(Jute::read(r)?),
            op::REMOVE_WATCHES => Request::RemoveWatches(Jute::read(r)?),
            op::DELETE_CONTAINER => Request::DeleteContainer(Jute::read(r)?),
            op::AUTH => Request::Auth(Jute::read(r)?),
            op::SET_WATCHES => Request::SetWatches(Jute::read(r)?),
            op::SET_WATCHES2 => Request::SetWatches2(Jute::read(r)?),
            op::SASL => Request::Sasl(Jute::read(r)?),
            op::GET_EPHEMERALS => Request::GetEphemerals(Jute::read(r)?),
            op::GET_ALL_CHILDREN_NUMBER => Request::GetAllChildrenNumber(Jute::read(r)?),
            op::ADD_WATCH => Request::AddWatch(Jute::read(r)?),
            op::WHO_AM_I => Request::WhoAmI,
            op::CLOSE_SESSION => Request::CloseSession,
            other => {
                return Err(JuteError::Unknown {
                    what: "opcode",
                    value: i64::from(other),
                })
            }
        })
    }

    /// The opcode this request travels under.
    pub fn op(&self) -> i32 {
        match self {
            Request::Create { op, .. } => *op,
            Request::CreateTtl(_) => op::CREATE_TTL,
            Request::Delete(_) => op::DELETE,
            Request::Exists(_) => op::EXISTS,
            Request::GetData(_) => op::GET_DATA,
            Request::SetData(_) => op::SET_DATA,
            Request::GetAcl(_) => op::GET_ACL,
            Request::SetAcl(_) => op::SET_ACL,
            Request::GetChildren(_) => op::GET_CHILDREN,
            Request::GetChildren2(_) => op::GET_CHILDREN2,
            Request::Sync(_) => op::SYNC,
            Request::Ping => op::PING,
            Request::Check(_) => op::CHECK,
            Request::Multi(_) => op::MULTI,
            Request::MultiRead(_) => op::MULTI_READ,
            Request::Reconfig(_) => op::RECONFIG,
            Request::CheckWatches(_) => op::CHECK_WATCHES,
            Request::RemoveWatches(_) => op::REMOVE_WATCHES,
            Request::DeleteContainer(_) => op::DELETE_CONTAINER,
            Request::Auth(_) => op::AUTH,
            Request::SetWatches(_) => op::SET_WATCHES,
            Request::SetWatches2(_) => op::SET_WATCHES2,
            Request::Sasl(_) => op::SASL,
            Request::GetEphemerals(_) => op::GET_EPHEMERALS,
            Request::GetAllChildrenNumber(_) => op::GET_ALL_CHILDREN_NUMBER,
            Request::AddWatch(_) => op::ADD_WATCH,
            Request::WhoAmI => op::WHO_AM_I,
            Request::CloseSession => op::CLOSE_SESSION,
        }
    }

    /// Encodes the body (not the header), as a client would send it.
    pub fn encode_body(&self, w: &mut Vec<u8>) {
        match self {
            Request::Create { req, .. } => req.write(w),
            Request::CreateTtl(x) => x.write(w),
            Request::Delete(x) | Request::Check(x) => x.write(w),
            Request::Exists(x)
            | Request::GetData(x)
            | Request::GetChildren(x)
            | Request::GetChildren2(x) => x.write(w),
            Request::SetData(x) => x.write(w),
            Request::GetAcl(x)
            | Request::Sync(x)
            | Request::DeleteContainer(x)
            | Request::GetEphemerals(x)
            | Request::GetAllChildrenNumber(x) => x.write(w),
            Request::SetAcl(x) => x.write(w),
            Request::Multi(ops) | Request::MultiRead(ops) => {
                for o in ops {
                    MultiHeader {
                        op: o.op(),
                        done: false,
                        err: -1,
                    }
                    .write(w);
                    o.encode_body(w);
                }
                MultiHeader {
                    op: -1,
                    done: true,
                    err: -1,
                }
                .write(w);
            }
            Request::Reconfig(x) => x.write(w),
            Request::CheckWatches(x) | Request::RemoveWatches(x) => x.write(w),
            Request::Auth(x) => x.write(w),
            Request::SetWatches(x) => x.write(w),
            Request::SetWatches2(x) => x.write(w),
            Request::Sasl(x) => x.write(w),
            Request::AddWatch(x) => x.write(w),
            Request::Ping | Request::WhoAmI | Request::CloseSession => {}
        }
    }

    /// The path the request names, if it names one.
    pub fn path(&self) -> Option<&str> {
        Some(match self {
            Request::Create { req, .. } => &req.path,
            Request::CreateTtl(x) => &x.path,
            Request::Delete(x) | Request::Check(x) => &x.path,
            Request::Exists(x)
            | Request::GetData(x)
            | Request::GetChildren(x)
            | Request::GetChildren2(x) => &x.path,
            Request::SetData(x) => &x.path,
            Request::GetAcl(x)
            | Request::Sync(x)
            | Request::DeleteContainer(x)
            | Request::GetEphemerals(x)
            | Request::GetAllChildrenNumber(x) => &x.path,
            Request::SetAcl(x) => &x.path,
            Request::CheckWatches(x) | Request::RemoveWatches(x) => &x.path,
            Request::AddWatch(x) => &x.path,
            _ => return None,
        })
    }
}

/// The ops a multi may hold.
fn multi_op_allowed(op: i32) -> bool {
    matches!(
        op,
        op::CREATE
            | op::CREATE2
            | op::CREATE_CONTAINER
            | op::CREATE_TTL
            | op::DELETE
            | op::SET_DATA
            | op::CHECK
            | op::GET_CHILDREN
            | op::GET_DATA
    )
}

fn decode_multi(r: &mut Reader<'_>) -> Result<Vec<Request>, JuteError> {
    let mut ops = Vec::new();
    loop {
        let h = MultiHeader::read(r)?;
        if h.done {
            return Ok(ops);
        }
        if !multi_op_allowed(h.op) {
            return Err(JuteError::Unknown {
                what: "multi op",
                value: i64::from(h.op),
            });
        }
        ops.push(Request::decode(h.op, r)?);
    }
}

/// One result of a multi or multiRead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult {
    Create { path: String },
    Create2 { op: i32, path: String, stat: Stat },
    Delete,
    SetData { stat: Stat },
    Check,
    GetChildren { children: Vec<String> },
    GetData { data: Data, stat: Stat },
    Error { err: i32 },
}

/// Encodes a multi response: a header and record per result, then the end marker.
pub fn encode_multi_response(results: &[OpResult], w: &mut Vec<u8>) {
    for res in results {
        let (op_code, err) = match res {
            OpResult::Create { .. } => (op::CREATE, 0),
            OpResult::Create2 { op, .. } => (*op, 0),
            OpResult::Delete => (op::DELETE, 0),
            OpResult::SetData { .. } => (op::SET_DATA, 0),
            OpResult::Check => (op::CHECK, 0),
            OpResult::GetChildren { .. } => (op::GET_CHILDREN, 0),
            OpResult::GetData { .. } => (op::GET_DATA, 0),
            OpResult::Error { err } => (op::ERROR, *err),
        };
        MultiHeader {
            op: op_code,
            done: false,
            err,
        }
        .write(w);
        match res {
            OpResult::Create { path } => w.put_ustring(Some(path)),
            OpResult::Create2 { path, stat, .. } => {
                w.put_ustring(Some(path));
                stat.write(w);
            }
            OpResult::SetData { stat } => stat.write(w),
            OpResult::GetChildren { children } => JVec(children.clone()).write(w),
            OpResult::GetData { data, stat } => {
                data.write(w);
                stat.write(w);
            }
            OpResult::Error { err } => w.put_i32(*err),
            OpResult::Delete | OpResult::Check => {}
        }
    }
    MultiHeader {
        op: -1,
        done: true,
        err: -1,
    }
    .write(w);
}

/// Decodes a multi response, as a client (or a test) reads it.
///
/// # Errors
/// Any [`JuteError`] for bytes that are not a multi response.
pub fn decode_multi_response(r: &mut Reader<'_>) -> Result<Vec<OpResult>, JuteError> {
    let mut out = Vec::new();
    loop {
        let h = MultiHeader::read(r)?;
        if h.done {
            return Ok(out);
        }
        out.push(match h.op {
            op::CREATE => OpResult::Create {
                path: String::read(r)?,
            },
            op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL => OpResult::Create2 {
                op: h.op,
                path: String::read(r)?,
                stat: Stat::read(r)?,
            },
            op::DELETE => OpResult::Delete,
            op::SET_DATA => OpResult::SetData {
                stat: Stat::read(r)?,
            },
            op::CHECK => OpResult::Check,
            op::GET_CHILDREN => OpResult::GetChildren {
                children: JVec::<String>::read(r)?.0,
            },
            op::GET_DATA => OpResult::GetData {
                data: Data::read(r)?,
                stat: Stat::read(r)?,
            },
            op::ERROR => OpResult::Error { err: r.read_i32()? },
            other => {
                return Err(JuteError::Unknown {
                    what: "multi result",
                    value: i64::from(other),
                })
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_round_trips() {
        let m = Request::Multi(vec![
            Request::Create {
                op: op::CREATE,
                req: CreateRequest {
                    path: "/a".into(),
                    data: Some(b"x".to_vec()),
                    acl: Acl::open_unsafe().into(),
                    flags: 0,
                },
            },
            Request::Check(PathVersionRequest {
                path: "/a".into(),
                version: 0,
            }),
            Request::Delete(PathVersionRequest {
                path: "/a".into(),
                version: -1,
            }),
        ]);
        let mut b = Vec::new();
        m.encode_body(&mut b);
        let back = Request::decode(op::MULTI, &mut Reader::new(&b)).unwrap();
        assert_eq!(back, m);

        let res = vec![
            OpResult::Create { path: "/a".into() },
            OpResult::Check,
            OpResult::Error { err: -101 },
        ];
        let mut b = Vec::new();
        encode_multi_response(&res, &mut b);
        assert_eq!(decode_multi_response(&mut Reader::new(&b)).unwrap(), res);
    }

    #[test]
    fn unknown_opcode_is_an_error() {
        assert!(Request::decode(9999, &mut Reader::new(&[])).is_err());
    }
}

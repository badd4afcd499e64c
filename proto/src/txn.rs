//! Txns: what a write becomes once the server has decided its outcome. The same bytes go
//! to Warren's log and appear in Apache ZooKeeper's `log.*` files: a [`TxnHeader`], the
//! record for its type, and optionally a [`TxnDigest`].

use crate::consts::op;
use crate::error::JuteError;
use crate::jute::{JVec, Jute, Reader};
use crate::jute_record;
use crate::records::{Acl, Data};

jute_record! {
    /// Who made a txn, when, and of which type.
    pub struct TxnHeader { pub client_id: i64, pub cxid: i32, pub zxid: i64, pub time: i64, pub txn_type: i32 }
}
jute_record! {
    pub struct CreateTxn {
        pub path: String, pub data: Data, pub acl: JVec<Acl>, pub ephemeral: bool, pub parent_cversion: i32,
    }
}
jute_record! {
    pub struct CreateContainerTxn { pub path: String, pub data: Data, pub acl: JVec<Acl>, pub parent_cversion: i32 }
}
jute_record! {
    pub struct CreateTtlTxn {
        pub path: String, pub data: Data, pub acl: JVec<Acl>, pub parent_cversion: i32, pub ttl: i64,
    }
}
jute_record! {
    pub struct DeleteTxn { pub path: String }
}
jute_record! {
    pub struct SetDataTxn { pub path: String, pub data: Data, pub version: i32 }
}
jute_record! {
    pub struct CheckVersionTxn { pub path: String, pub version: i32 }
}
jute_record! {
    pub struct SetAclTxn { pub path: String, pub acl: JVec<Acl>, pub version: i32 }
}
jute_record! {
    pub struct CreateSessionTxn { pub time_out: i32 }
}
jute_record! {
    pub struct ErrorTxn { pub err: i32 }
}
jute_record! {
    /// One txn inside a multi: its type and its encoded record.
    pub struct SubTxn { pub txn_type: i32, pub data: Vec<u8> }
}
jute_record! {
    pub struct TxnDigest { pub version: i32, pub tree_digest: i64 }
}

/// A txn record, by type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Txn {
    CreateSession(CreateSessionTxn),
    /// The paths are the session's ephemerals to delete (empty in older logs).
    CloseSession(Vec<String>),
    Create(CreateTxn),
    /// A create2 request's txn: the same record, logged under type 15.
    Create2(CreateTxn),
    CreateContainer(CreateContainerTxn),
    CreateTtl(CreateTtlTxn),
    Delete(DeleteTxn),
    /// deleteContainer, the container reaper's delete.
    DeleteContainer(DeleteTxn),
    SetData(SetDataTxn),
    SetAcl(SetAclTxn),
    Check(CheckVersionTxn),
    Error(ErrorTxn),
    Multi(Vec<Txn>),
}

impl Txn {
    /// The type number written in the header or in a multi's sub-txn.
    pub fn txn_type(&self) -> i32 {
        match self {
            Txn::CreateSession(_) => op::CREATE_SESSION,
            Txn::CloseSession(_) => op::CLOSE_SESSION,
            Txn::Create(_) => op::CREATE,
            Txn::Create2(_) => op::CREATE2,
            Txn::CreateContainer(_) => op::CREATE_CONTAINER,
            Txn::CreateTtl(_) => op::CREATE_TTL,
            Txn::Delete(_) => op::DELETE,
            Txn::DeleteContainer(_) => op::DELETE_CONTAINER,
            Txn::SetData(_) => op::SET_DATA,
            Txn::SetAcl(_) => op::SET_ACL,
            Txn::Check(_) => op::CHECK,
            Txn::Error(_) => op::ERROR,
            Txn::Multi(_) => op::MULTI,
        }
    }

    /// Encodes the record (without header).
    pub fn write_record(&self, w: &mut Vec<u8>) {
        match self {
            Txn::CreateSession(x) => x.write(w),
            Txn::CloseSession(paths) => {
                // ZooKeeper 3.8 writes the paths vector; an empty one is still written.
                JVec(paths.clone()).write(w)
            }
            Txn::Create(x) | Txn::Create2(x) => x.write(w),
            Txn::CreateContainer(x) => x.write(w),
            Txn::CreateTtl(x) => x.write(w),
            Txn::Delete(x) | Txn::DeleteContainer(x) => x.write(w),
            Txn::SetData(x) => x.write(w),
            Txn::SetAcl(x) => x.write(w),
            Txn::Check(x) => x.write(w),
            Txn::Error(x) => x.write(w),
            Txn::Multi(txns) => {
                let subs: Vec<SubTxn> = txns
                    .iter()
                    .map(|t| {
                        let mut data = Vec::new();
                        t.write_record(&mut data);
                        SubTxn {
                            txn_type: t.txn_type(),
                            data,
                        }
                    })
                    .collect();
                JVec(subs).write(w)
            }
        }
    }

    /// Decodes the record of a txn of type `txn_type`.
    ///
    /// # Errors
    /// [`JuteError::Unknown`] for a type that has no txn record, or any decoding error.
    pub fn read_record(txn_type: i32, r: &mut Reader<'_>) -> Result<Txn, JuteError> {
        Ok(match txn_type {
            op::CREATE_SESSION => Txn::CreateSession(Jute::read(r)?),
            op::CLOSE_SESSION => Txn::CloseSession(if r.remaining() >= 4 {
                JVec::<String>::read(r)?.0
            } else {
                Vec::new()
            }),
            op::CREATE => Txn::Create(Jute::read(r)?),
            op::CREATE2 => Txn::Create2(Jute::read(r)?),
            op::CREATE_CONTAINER => Txn::CreateContainer(Jute::read(r)?),
            op::CREATE_TTL => Txn::CreateTtl(Jute::read(r)?),
            op::DELETE => Txn::Delete(Jute::read(r)?),
            op::DELETE_CONTAINER => Txn::DeleteContainer(Jute::read(r)?),
            op::SET_DATA => Txn::SetData(Jute::read(r)?),
            op::SET_ACL => Txn::SetAcl(Jute::read(r)?),
            op::CHECK => Txn::Check(Jute::read(r)?),
            op::ERROR => Txn::Error(Jute::read(r)?),
            op::MULTI => {
                let subs = JVec::<SubTxn>::read(r)?;
                let mut txns = Vec::with_capacity(subs.len());
                for s in subs.0 {
                    // ZooKeeper never nests a multi in a multi; a crafted file that does
                    // would make decoding (and applying) recurse without bound.
                    if s.txn_type == op::MULTI {
                        return Err(JuteError::Unknown {
                            what: "txn type inside a multi",
                            value: i64::from(s.txn_type),
                        });
                    }
                    txns.push(Txn::read_record(s.txn_type, &mut Reader::new(&s.data))?);
                }
                Txn::Multi(txns)
            }
            other => {
                return Err(JuteError::Unknown {
                    what: "txn type",
                    value: i64::from(other),
                })
            }
        })
    }
}

/// A whole logged txn: header, record and optional digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedTxn {
    pub header: TxnHeader,
    pub txn: Txn,
    pub digest: Option<TxnDigest>,
}

impl LoggedTxn {
    /// Encodes header, record and digest, as both Warren and ZooKeeper log them.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(64);
        self.header.write(&mut w);
        self.txn.write_record(&mut w);
        if let Some(d) = &self.digest {
            d.write(&mut w);
        }
        w
    }

    /// Decodes a logged txn.
    ///
    /// # Errors
    /// Any [`JuteError`] when the bytes are not a txn.
    pub fn decode(bytes: &[u8]) -> Result<LoggedTxn, JuteError> {
        let mut r = Reader::new(bytes);
        let header = TxnHeader::read(&mut r)?;
        let txn = Txn::read_record(header.txn_type, &mut r)?;
        let digest = if r.remaining() >= 12 {
            Some(TxnDigest::read(&mut r)?)
        } else {
            None
        };
        Ok(LoggedTxn {
            header,
            txn,
            digest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_txn_round_trips() {
        let t = LoggedTxn {
            header: TxnHeader {
                client_id: 7,
                cxid: 3,
                zxid: 0x100,
                time: 1,
                txn_type: op::MULTI,
            },
            txn: Txn::Multi(vec![
                Txn::Create(CreateTxn {
                    path: "/a".into(),
                    data: None,
                    acl: Acl::open_unsafe().into(),
                    ephemeral: false,
                    parent_cversion: 1,
                }),
                Txn::Delete(DeleteTxn { path: "/b".into() }),
            ]),
            digest: Some(TxnDigest {
                version: 2,
                tree_digest: 99,
            }),
        };
        assert_eq!(LoggedTxn::decode(&t.encode()).unwrap(), t);
    }

    #[test]
    fn a_multi_nested_in_a_multi_is_refused_not_recursed_into() {
        // Each level wraps the one below as a multi's only sub-txn.
        let mut record = Vec::new();
        Txn::Check(CheckVersionTxn {
            path: "/x".into(),
            version: 1,
        })
        .write_record(&mut record);
        let mut txn_type = op::CHECK;
        for _ in 0..1_000 {
            let mut outer = Vec::new();
            JVec(vec![SubTxn {
                txn_type,
                data: record,
            }])
            .write(&mut outer);
            record = outer;
            txn_type = op::MULTI;
        }
        let e = Txn::read_record(op::MULTI, &mut Reader::new(&record)).unwrap_err();
        assert!(e.to_string().contains("inside a multi"), "{e}");
    }
}

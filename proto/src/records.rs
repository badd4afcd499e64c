//! Every record of `zookeeper.jute` that Warren sends, receives or logs, in field order.

use crate::error::JuteError;
use crate::jute::{JVec, Jute, Reader, Writer};
use crate::jute_record;

/// Znode data: a buffer that may be null.
pub type Data = Option<Vec<u8>>;

jute_record! {
    /// An identity: `scheme:id`, e.g. `world:anyone`.
    pub struct Id { pub scheme: String, pub id: String }
}

jute_record! {
    /// One access-control entry.
    pub struct Acl { pub perms: i32, pub id: Id }
}

jute_record! {
    /// A znode's metadata as clients see it.
    pub struct Stat {
        pub czxid: i64, pub mzxid: i64, pub ctime: i64, pub mtime: i64,
        pub version: i32, pub cversion: i32, pub aversion: i32,
        pub ephemeral_owner: i64, pub data_length: i32, pub num_children: i32,
        pub pzxid: i64,
    }
}

jute_record! {
    /// A znode's metadata as snapshots store it.
    pub struct StatPersisted {
        pub czxid: i64, pub mzxid: i64, pub ctime: i64, pub mtime: i64,
        pub version: i32, pub cversion: i32, pub aversion: i32,
        pub ephemeral_owner: i64, pub pzxid: i64,
    }
}

jute_record! {
    /// One identity of a session, as whoAmI reports it.
    pub struct ClientInfo { pub auth_scheme: String, pub user: String }
}

/// The first message of a connection. `read_only` is present only if the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectRequest {
    pub protocol_version: i32,
    pub last_zxid_seen: i64,
    pub time_out: i32,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub read_only: Option<bool>,
}

impl Jute for ConnectRequest {
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        Ok(ConnectRequest {
            protocol_version: r.read_i32()?,
            last_zxid_seen: r.read_i64()?,
            time_out: r.read_i32()?,
            session_id: r.read_i64()?,
            passwd: Vec::<u8>::read(r)?,
            read_only: if r.remaining() > 0 {
                Some(r.read_bool()?)
            } else {
                None
            },
        })
    }
    fn write(&self, w: &mut Vec<u8>) {
        w.put_i32(self.protocol_version);
        w.put_i64(self.last_zxid_seen);
        w.put_i32(self.time_out);
        w.put_i64(self.session_id);
        w.put_buffer(Some(&self.passwd));
        if let Some(ro) = self.read_only {
            w.put_bool(ro);
        }
    }
}

/// The server's answer to [`ConnectRequest`]; `read_only` is sent only if the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectResponse {
    pub protocol_version: i32,
    pub time_out: i32,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub read_only: Option<bool>,
}

impl Jute for ConnectResponse {
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        Ok(ConnectResponse {
            protocol_version: r.read_i32()?,
            time_out: r.read_i32()?,
            session_id: r.read_i64()?,
            passwd: Vec::<u8>::read(r)?,
            read_only: if r.remaining() > 0 {
                Some(r.read_bool()?)
            } else {
                None
            },
        })
    }
    fn write(&self, w: &mut Vec<u8>) {
        w.put_i32(self.protocol_version);
        w.put_i32(self.time_out);
        w.put_i64(self.session_id);
        w.put_buffer(Some(&self.passwd));
        if let Some(ro) = self.read_only {
            w.put_bool(ro);
        }
    }
}

jute_record! {
    pub struct RequestHeader { pub xid: i32, pub op: i32 }
}
jute_record! {
    pub struct ReplyHeader { pub xid: i32, pub zxid: i64, pub err: i32 }
}
jute_record! {
    pub struct MultiHeader { pub op: i32, pub done: bool, pub err: i32 }
}
jute_record! {
    pub struct AuthPacket { pub auth_type: i32, pub scheme: String, pub auth: Vec<u8> }
}
jute_record! {
    pub struct SetWatches {
        pub relative_zxid: i64,
        pub data_watches: JVec<String>,
        pub exist_watches: JVec<String>,
        pub child_watches: JVec<String>,
    }
}
jute_record! {
    pub struct SetWatches2 {
        pub relative_zxid: i64,
        pub data_watches: JVec<String>,
        pub exist_watches: JVec<String>,
        pub child_watches: JVec<String>,
        pub persistent_watches: JVec<String>,
        pub persistent_recursive_watches: JVec<String>,
    }
}
jute_record! {
    /// Used by getData, exists and getChildren(2): a path and whether to leave a watch.
    pub struct PathWatchRequest { pub path: String, pub watch: bool }
}
jute_record! {
    /// Used by getACL, sync, getAllChildrenNumber and getEphemerals: just a path.
    pub struct PathRequest { pub path: String }
}
jute_record! {
    pub struct SetDataRequest { pub path: String, pub data: Data, pub version: i32 }
}
jute_record! {
    pub struct CreateRequest { pub path: String, pub data: Data, pub acl: JVec<Acl>, pub flags: i32 }
}
jute_record! {
    pub struct CreateTtlRequest {
        pub path: String, pub data: Data, pub acl: JVec<Acl>, pub flags: i32, pub ttl: i64,
    }
}
jute_record! {
    /// delete, and check inside a multi: a path and an expected version (−1 for any).
    pub struct PathVersionRequest { pub path: String, pub version: i32 }
}
jute_record! {
    pub struct SetAclRequest { pub path: String, pub acl: JVec<Acl>, pub version: i32 }
}
jute_record! {
    pub struct AddWatchRequest { pub path: String, pub mode: i32 }
}
jute_record! {
    /// checkWatches and removeWatches.
    pub struct WatchesRequest { pub path: String, pub watcher_type: i32 }
}
jute_record! {
    pub struct ReconfigRequest {
        pub joining_servers: String, pub leaving_servers: String,
        pub new_members: String, pub cur_config_id: i64,
    }
}
jute_record! {
    pub struct SaslRequest { pub token: Vec<u8> }
}
jute_record! {
    pub struct WatcherEvent { pub event_type: i32, pub state: i32, pub path: String }
}
jute_record! {
    pub struct ErrorResponse { pub err: i32 }
}
jute_record! {
    pub struct CreateResponse { pub path: String }
}
jute_record! {
    pub struct Create2Response { pub path: String, pub stat: Stat }
}
jute_record! {
    /// exists, setData and setACL answer with a Stat alone.
    pub struct StatResponse { pub stat: Stat }
}
jute_record! {
    pub struct GetDataResponse { pub data: Data, pub stat: Stat }
}
jute_record! {
    /// getChildren, and getEphemerals (whose field is named `ephemerals`).
    pub struct ChildrenResponse { pub children: JVec<String> }
}
jute_record! {
    pub struct Children2Response { pub children: JVec<String>, pub stat: Stat }
}
jute_record! {
    pub struct GetAclResponse { pub acl: JVec<Acl>, pub stat: Stat }
}
jute_record! {
    pub struct SyncResponse { pub path: String }
}
jute_record! {
    pub struct AllChildrenNumberResponse { pub total_number: i32 }
}
jute_record! {
    pub struct WhoAmIResponse { pub client_info: JVec<ClientInfo> }
}

jute_record! {
    /// The header of a snapshot or txn log file.
    pub struct FileHeader { pub magic: i32, pub version: i32, pub dbid: i64 }
}

impl Stat {
    /// The Stat a client sees for a persisted one with `data_length` bytes and `num_children`.
    pub fn from_persisted(p: &StatPersisted, data_length: i32, num_children: i32) -> Stat {
        Stat {
            czxid: p.czxid,
            mzxid: p.mzxid,
            ctime: p.ctime,
            mtime: p.mtime,
            version: p.version,
            cversion: p.cversion,
            aversion: p.aversion,
            ephemeral_owner: p.ephemeral_owner,
            data_length,
            num_children,
            pzxid: p.pzxid,
        }
    }
}

impl Acl {
    /// `perms` granted to `scheme:id`.
    pub fn new(perms: i32, scheme: &str, id: &str) -> Acl {
        Acl {
            perms,
            id: Id {
                scheme: scheme.to_owned(),
                id: id.to_owned(),
            },
        }
    }

    /// `world:anyone` with every permission (`ZooDefs.Ids.OPEN_ACL_UNSAFE`).
    pub fn open_unsafe() -> Vec<Acl> {
        vec![Acl::new(crate::consts::perms::ALL, "world", "anyone")]
    }
}

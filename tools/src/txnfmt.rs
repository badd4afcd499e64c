//! How a logged txn is shown: the one-line text of ZooKeeper 3.8's txn log toolkit (with the
//! quirks of that version: some txns through jute's `toString()`, multi sub-txns as their raw
//! bytes read as UTF-8), a JSON object for `--json`, and the paths a txn touches, for the
//! `--path-prefix` filter.

use base64::Engine as _;
use serde_json::{json, Map, Value};
use warren_proto::consts::op;
use warren_proto::txn::{
    CheckVersionTxn, CreateContainerTxn, CreateSessionTxn, CreateTtlTxn, CreateTxn, DeleteTxn,
    ErrorTxn, SetAclTxn, SetDataTxn, SubTxn, TxnDigest,
};
use warren_proto::{Acl, ErrorCode, JVec, Jute, JuteError, Reader, Txn, TxnHeader};

use crate::java::{lossy_utf8, short_long_date};
use crate::jute_text::{acl_list, RecordText};

/// `reconfig` txns carry a SetDataTxn (the new config on `/zookeeper/config`).
const RECONFIG: i32 = op::RECONFIG;

fn data_text(d: &Option<Vec<u8>>) -> String {
    d.as_deref().map(lossy_utf8).unwrap_or_default()
}

/// A CreateTxn, falling back to the version-0 layout (no parentCVersion) as ZooKeeper does.
fn read_create(r: &mut Reader<'_>) -> Result<CreateTxn, JuteError> {
    let start = r.clone();
    match CreateTxn::read(r) {
        Ok(c) => Ok(c),
        Err(e) => {
            *r = start;
            let v0 = (|| -> Result<CreateTxn, JuteError> {
                Ok(CreateTxn {
                    path: Jute::read(r)?,
                    data: Jute::read(r)?,
                    acl: Jute::read(r)?,
                    ephemeral: Jute::read(r)?,
                    parent_cversion: -1,
                })
            })();
            v0.map_err(|_| e)
        }
    }
}

/// The `<fields>` text the 3.8 toolkit prints after the op name, for a txn of `txn_type`
/// whose record (and maybe digest) is `rest`. Types printed through `toString()` end with a
/// newline, as in the reference output.
///
/// # Errors
/// A [`JuteError`] when the record does not decode (the reference tool would stop there).
pub fn toolkit_fields(txn_type: i32, rest: &[u8]) -> Result<String, JuteError> {
    match txn_type {
        op::CREATE_SESSION => create_session_fields(rest),
        op::CLOSE_SESSION => close_session_fields(rest),
        op::CREATE | op::CREATE2 => create_fields(rest),
        op::CREATE_CONTAINER => create_container_fields(rest),
        op::CREATE_TTL => create_ttl_fields(rest),
        op::DELETE | op::DELETE_CONTAINER => delete_fields(rest),
        op::SET_DATA | RECONFIG => set_data_fields(rest),
        op::SET_ACL => set_acl_fields(rest),
        op::CHECK => check_fields(rest),
        op::ERROR => error_fields(rest),
        op::MULTI => multi_fields(rest),
        other => Err(JuteError::Unknown {
            what: "txn type",
            value: i64::from(other),
        }),
    }
}

/// Through `toString()`: the timeout.
fn create_session_fields(rest: &[u8]) -> Result<String, JuteError> {
    let t = CreateSessionTxn::from_bytes(rest)?;
    let mut r = RecordText::new();
    r.long(i64::from(t.time_out));
    Ok(r.finish())
}

/// Through `toString()`: the session's ephemeral paths.
fn close_session_fields(rest: &[u8]) -> Result<String, JuteError> {
    // Logs written before CloseSessionTxn existed have no record at all.
    if rest.len() < 4 {
        return Ok(String::new());
    }
    let paths = JVec::<String>::from_bytes(rest)?;
    let mut r = RecordText::new();
    r.open_vector();
    for p in paths.iter() {
        r.string(p);
    }
    r.close_vector();
    Ok(r.finish())
}

/// `path,data,acl,ephemeral,parentCVersion`, for either CreateTxn layout.
fn create_fields(rest: &[u8]) -> Result<String, JuteError> {
    let t = read_create(&mut Reader::new(rest))?;
    Ok(format!(
        "{},{},{},{},{}",
        t.path,
        data_text(&t.data),
        acl_list(&t.acl),
        t.ephemeral,
        t.parent_cversion
    ))
}

/// `path,data,acl,parentCVersion`.
fn create_container_fields(rest: &[u8]) -> Result<String, JuteError> {
    let t = CreateContainerTxn::from_bytes(rest)?;
    Ok(format!(
        "{},{},{},{}",
        t.path,
        data_text(&t.data),
        acl_list(&t.acl),
        t.parent_cversion
    ))
}

/// `path,data,acl,parentCVersion,ttl`.
fn create_ttl_fields(rest: &[u8]) -> Result<String, JuteError> {
    let t = CreateTtlTxn::from_bytes(rest)?;
    Ok(format!(
        "{},{},{},{},{}",
        t.path,
        data_text(&t.data),
        acl_list(&t.acl),
        t.parent_cversion,
        t.ttl
    ))
}

/// Through `toString()`: the path.
fn delete_fields(rest: &[u8]) -> Result<String, JuteError> {
    let t = DeleteTxn::from_bytes(rest)?;
    let mut r = RecordText::new();
    r.string(&t.path);
    Ok(r.finish())
}

/// `path,data,version` (a reconfig's new config too).
fn set_data_fields(rest: &[u8]) -> Result<String, JuteError> {
    let t = SetDataTxn::from_bytes(rest)?;
    Ok(format!("{},{},{}", t.path, data_text(&t.data), t.version))
}

/// Through `toString()`: path, ACL list, version.
fn set_acl_fields(rest: &[u8]) -> Result<String, JuteError> {
    let t = SetAclTxn::from_bytes(rest)?;
    let mut r = RecordText::new();
    r.string(&t.path)
        .acl_vector(&t.acl)
        .long(i64::from(t.version));
    Ok(r.finish())
}

/// Through `toString()`: path, version.
fn check_fields(rest: &[u8]) -> Result<String, JuteError> {
    let t = CheckVersionTxn::from_bytes(rest)?;
    let mut r = RecordText::new();
    r.string(&t.path).long(i64::from(t.version));
    Ok(r.finish())
}

/// Through `toString()`: the error code.
fn error_fields(rest: &[u8]) -> Result<String, JuteError> {
    let t = ErrorTxn::from_bytes(rest)?;
    let mut r = RecordText::new();
    r.long(i64::from(t.err));
    Ok(r.finish())
}

/// `type:record;…`: 3.8 prints each sub-txn's raw record bytes decoded as UTF-8.
fn multi_fields(rest: &[u8]) -> Result<String, JuteError> {
    let subs = JVec::<SubTxn>::from_bytes(rest)?;
    Ok(subs
        .iter()
        .map(|s| format!("{}:{}", op::name(s.txn_type), lossy_utf8(&s.data)))
        .collect::<Vec<_>>()
        .join(";"))
}

/// The whole text the toolkit prints for one txn, ending in exactly one newline (the
/// `CRC ERROR - ` style prefix is the caller's).
pub fn toolkit_line(h: &TxnHeader, rest: &[u8]) -> String {
    let fields = match toolkit_fields(h.txn_type, rest) {
        Ok(f) => f,
        Err(e) => format!("<undecodable {}: {e}>", op::name(h.txn_type)),
    };
    let mut line = format!(
        "{} session 0x{:x} cxid 0x{:x} zxid 0x{:x} {} {}",
        short_long_date(h.time),
        h.client_id,
        i64::from(h.cxid),
        h.zxid,
        op::name(h.txn_type),
        fields
    );
    if !line.ends_with('\n') {
        line.push('\n');
    }
    line
}

/// Decodes the record of a txn, treating `reconfig` as the SetDataTxn it carries.
///
/// # Errors
/// A [`JuteError`] when the record does not decode.
pub fn decode_txn(txn_type: i32, rest: &[u8]) -> Result<(Txn, Option<TxnDigest>), JuteError> {
    let ty = if txn_type == RECONFIG {
        op::SET_DATA
    } else {
        txn_type
    };
    let mut r = Reader::new(rest);
    let txn = match ty {
        op::CREATE => Txn::Create(read_create(&mut r)?),
        _ => Txn::read_record(ty, &mut r)?,
    };
    let digest = if r.remaining() >= 12 {
        Some(TxnDigest::read(&mut r)?)
    } else {
        None
    };
    Ok((txn, digest))
}

/// Every path a txn names (a multi's sub-txns, a closeSession's ephemerals).
pub fn txn_paths(txn: &Txn) -> Vec<&str> {
    match txn {
        Txn::Create(t) | Txn::Create2(t) => vec![t.path.as_str()],
        Txn::CreateContainer(t) => vec![t.path.as_str()],
        Txn::CreateTtl(t) => vec![t.path.as_str()],
        Txn::Delete(t) | Txn::DeleteContainer(t) => vec![t.path.as_str()],
        Txn::SetData(t) => vec![t.path.as_str()],
        Txn::SetAcl(t) => vec![t.path.as_str()],
        Txn::Check(t) => vec![t.path.as_str()],
        Txn::CloseSession(paths) => paths.iter().map(String::as_str).collect(),
        Txn::Multi(subs) => subs.iter().flat_map(txn_paths).collect(),
        Txn::CreateSession(_) | Txn::Error(_) => Vec::new(),
    }
}

fn acl_json(acls: &[Acl]) -> Value {
    Value::Array(
        acls.iter()
            .map(|a| json!({"perms": a.perms, "scheme": a.id.scheme, "id": a.id.id}))
            .collect(),
    )
}

fn data_json(m: &mut Map<String, Value>, d: &Option<Vec<u8>>) {
    match d {
        None => {
            m.insert("data".into(), Value::Null);
        }
        Some(b) => {
            m.insert(
                "data".into(),
                std::str::from_utf8(b).map_or(Value::Null, |s| Value::String(s.to_owned())),
            );
            m.insert(
                "data_base64".into(),
                Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
            );
        }
    }
}

/// The fields of a txn record as a JSON object (the type name is added by the caller).
pub fn txn_json(txn: &Txn) -> Map<String, Value> {
    let mut m = Map::new();
    match txn {
        Txn::CreateSession(t) => {
            m.insert("timeout".into(), json!(t.time_out));
        }
        Txn::CloseSession(paths) => {
            m.insert("paths".into(), json!(paths));
        }
        Txn::Create(t) | Txn::Create2(t) => {
            m.insert("path".into(), json!(t.path));
            data_json(&mut m, &t.data);
            m.insert("acl".into(), acl_json(&t.acl));
            m.insert("ephemeral".into(), json!(t.ephemeral));
            m.insert("parent_cversion".into(), json!(t.parent_cversion));
        }
        Txn::CreateContainer(t) => {
            m.insert("path".into(), json!(t.path));
            data_json(&mut m, &t.data);
            m.insert("acl".into(), acl_json(&t.acl));
            m.insert("parent_cversion".into(), json!(t.parent_cversion));
        }
        Txn::CreateTtl(t) => {
            m.insert("path".into(), json!(t.path));
            data_json(&mut m, &t.data);
            m.insert("acl".into(), acl_json(&t.acl));
            m.insert("parent_cversion".into(), json!(t.parent_cversion));
            m.insert("ttl".into(), json!(t.ttl));
        }
        Txn::Delete(t) | Txn::DeleteContainer(t) => {
            m.insert("path".into(), json!(t.path));
        }
        Txn::SetData(t) => {
            m.insert("path".into(), json!(t.path));
            data_json(&mut m, &t.data);
            m.insert("version".into(), json!(t.version));
        }
        Txn::SetAcl(t) => {
            m.insert("path".into(), json!(t.path));
            m.insert("acl".into(), acl_json(&t.acl));
            m.insert("version".into(), json!(t.version));
        }
        Txn::Check(t) => {
            m.insert("path".into(), json!(t.path));
            m.insert("version".into(), json!(t.version));
        }
        Txn::Error(t) => {
            m.insert("err".into(), json!(t.err));
            m.insert("err_name".into(), json!(ErrorCode(t.err).name()));
        }
        Txn::Multi(subs) => {
            let v: Vec<Value> = subs
                .iter()
                .map(|s| {
                    let mut o = Map::new();
                    o.insert("type".into(), json!(op::name(s.txn_type())));
                    o.extend(txn_json(s));
                    Value::Object(o)
                })
                .collect();
            m.insert("txns".into(), Value::Array(v));
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use warren_proto::Writer;

    #[test]
    fn close_session_without_record_prints_nothing() {
        assert_eq!(toolkit_fields(op::CLOSE_SESSION, &[]).unwrap(), "");
        let mut v = Vec::new();
        JVec(vec!["/a".to_owned(), "/b,c".to_owned()]).write(&mut v);
        assert_eq!(
            toolkit_fields(op::CLOSE_SESSION, &v).unwrap(),
            "v{'/a,'/b%2Cc}\n"
        );
    }

    #[test]
    fn create_v0_falls_back() {
        let mut v = Vec::new();
        v.put_ustring(Some("/x"));
        v.put_buffer(Some(b"d"));
        JVec(Acl::open_unsafe()).write(&mut v);
        v.put_bool(true);
        assert_eq!(
            toolkit_fields(op::CREATE, &v).unwrap(),
            "/x,d,[31,s{'world,'anyone}\n],true,-1"
        );
    }

    #[test]
    fn negative_cxid_prints_as_a_long() {
        let h = TxnHeader {
            client_id: 1,
            cxid: -2,
            zxid: 3,
            time: 0,
            txn_type: op::ERROR,
        };
        let line = toolkit_line(&h, &(-101i32).to_be_bytes());
        assert_eq!(
            line,
            "1/1/70, 12:00:00 AM UTC session 0x1 cxid 0xfffffffffffffffe zxid 0x3 error -101\n"
        );
    }
}
